"""The base of each app's list filters (portal/<app>/filtersets.py): one FilterSet serves a page and its API."""

from __future__ import annotations

import django_filters
from django import forms

from portal.refusals import Refused


class FilterRefused(Refused):
    """A filter's value refused on a page: a 400 naming the parameter, with the sentence the API gives."""

    status_code = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.field, sentences = next(iter(errors.items()))
        super().__init__(" ".join(sentences))


class FilterForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)


class FilterSet(django_filters.FilterSet):
    """The API filters through DjangoFilterBackend: a value a filter refuses is a 400 naming the parameter.
    A page filters through ``matching()``: a refused value matches nothing, and its select keeps the options
    ``page_choices()`` reads (from the database, so only for the page, never on an API request)."""

    class Meta:
        form = FilterForm

    def page_choices(self) -> dict[str, list[tuple[str, str]]]:
        """Options of the filters the page shows as a select although they take any value."""
        return {}

    def matching(self):
        """The rows the filters select: all of them without filters, none for a value a filter refuses."""
        return self.qs if not self.is_bound or self.is_valid() else self.queryset.none()

    def selected(self):
        """The rows the filters select; FilterRefused for a value a filter refuses (where an empty list would
        mislead, as in a log's tail)."""
        if self.is_bound and not self.is_valid():
            raise FilterRefused(self.errors)
        return self.qs

    def page_form(self) -> forms.Form:
        """The bound form of the page's filter bar."""
        form = self.form
        for name, choices in self.page_choices().items():
            form.fields[name].widget = forms.Select(choices=choices)
        return form

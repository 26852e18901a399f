"""The base of each app's list filters (portal/<app>/filtersets.py): one FilterSet serves a page and its API."""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from portal.refusals import Refused

# The words a yes/no query parameter takes: those of an API client, and "on" as a page's checkbox sends it.
TRUE_WORDS = frozenset({"true", "1", "on"})
FALSE_WORDS = frozenset({"false", "0", "off"})


class FilterRefused(Refused):
    """A filter's value refused on a page: a 400 naming the parameter, with the sentence the API gives."""

    status_code = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.field, sentences = next(iter(errors.items()))
        super().__init__(" ".join(sentences))


def parse_boolean(value) -> bool | None:
    """``value`` as a yes/no parameter (TRUE_WORDS, FALSE_WORDS, any case), or None when it is neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


class BooleanCheckbox(forms.CheckboxInput):
    """A checkbox on the page (ticked for a true value; the browser sends "on"), read as the text sent, so that
    the field refuses what is not a yes or a no (a plain CheckboxInput reads "0" or "banana" as ticked)."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, check_test=lambda value: parse_boolean(value) is True)

    def value_from_datadict(self, data, files, name):
        return data.get(name)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data


class StrictBooleanField(forms.Field):
    """A yes/no parameter: true/false, 1/0, on/off; absent or empty is no; anything else refused with a sentence."""

    widget = BooleanCheckbox

    def to_python(self, value) -> bool:
        if value in (None, ""):
            return False
        parsed = parse_boolean(value)
        if parsed is None:
            raise ValidationError(
                f"{str(value)[:64]!r} is not a yes or a no: give true or false (also 1 or 0, on or off)."
            )
        return parsed


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A yes/no filter read by StrictBooleanField (a boolean in the OpenAPI schema, like BooleanFilter)."""

    field_class = StrictBooleanField


def boolean_parameter(params, name: str) -> bool:
    """The yes/no query parameter ``name`` of a page or API that is not a list filter, read by the filters' rule
    (StrictBooleanField); FilterRefused (a 400 naming it) for a value that is neither."""
    try:
        return StrictBooleanField(required=False).clean(params.get(name))
    except ValidationError as error:
        # The page shows the sentence alone: it names the parameter (the API's answer is keyed by it too).
        raise FilterRefused({name: [f"{name}: {message}" for message in error.messages]}) from error


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

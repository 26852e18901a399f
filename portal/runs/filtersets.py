"""The filter of a run's log: the run page's tail (/runs/<pk>/events/) and GET /api/v1/runs/{id}/events/."""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field

from portal.filtersets import FilterSet
from portal.runs.models import RunEvent

AFTER_REFUSED = "Give the sequence number of the last event you have."
AFTER_HELP = "Only events after this sequence number (tailing)."


class RunEventFilterSet(FilterSet):
    # Digits only, as typed: " 3", "-1", "1.5" or "²" are refused rather than read as a number (int() takes the
    # last two). A number beyond any event is an empty page.
    after = django_filters.CharFilter(
        method="filter_after",
        strip=False,
        validators=[RegexValidator(r"\A[0-9]+\Z", AFTER_REFUSED)],
        label="After",
        help_text=AFTER_HELP,
    )

    class Meta(FilterSet.Meta):
        model = RunEvent
        fields = ["after"]

    # The schema's type of the value (a string of digits is a number); an override replaces the help text too.
    @extend_schema_field({"type": "integer", "description": AFTER_HELP})
    def filter_after(self, queryset, name, value):
        return queryset.filter(seq__gt=int(value))

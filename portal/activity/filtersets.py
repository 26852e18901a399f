"""The filters of the activity log: the page (/activity/) and GET /api/v1/activity/ (and its alias /api/v1/audit-events/)."""

from __future__ import annotations

import django_filters

from portal.activity.models import ActivityEntry
from portal.filtersets import FilterSet


class ActivityEntryFilterSet(FilterSet):
    # Any value: one the log does not hold matches nothing.
    action = django_filters.CharFilter(label="Action")
    actor = django_filters.CharFilter(
        field_name="actor_name", label="Actor", help_text="Username, or launchpad for the system"
    )
    object_type = django_filters.CharFilter(label="Object")
    search = django_filters.CharFilter(
        field_name="object_repr", lookup_expr="icontains", label="Search", help_text="Part of the object's name"
    )

    class Meta(FilterSet.Meta):
        model = ActivityEntry
        fields = ["action", "actor", "object_type", "search"]

    def page_choices(self) -> dict[str, list[tuple[str, str]]]:
        events = ActivityEntry.objects.order_by()
        actions = events.values_list("action", flat=True).distinct().order_by("action")
        types = events.values_list("object_type", flat=True).distinct().order_by("object_type")
        return {
            "action": [("", "Any action")] + [(action, action) for action in actions],
            "object_type": [("", "Any object")] + [(kind, kind) for kind in types],
        }

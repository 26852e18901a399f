"""The filters of the environment list: the page (/) and GET /api/v1/environments/."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model

from portal.environments.choices import REGIONS, EnvironmentStatus, Tier
from portal.environments.models import Blueprint, Environment
from portal.filtersets import FilterSet, StrictBooleanFilter


class EnvironmentFilterSet(FilterSet):
    search = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label="Search", help_text="Part of the name"
    )
    status = django_filters.ChoiceFilter(choices=EnvironmentStatus.choices, empty_label="Any status", label="Status")
    tier = django_filters.ChoiceFilter(choices=Tier.choices, empty_label="Any tier", label="Tier")
    region = django_filters.ChoiceFilter(
        choices=[(region, region) for region in REGIONS], empty_label="Any region", label="Region"
    )
    # Any name: one that no blueprint or owner has matches nothing.
    blueprint = django_filters.CharFilter(field_name="blueprint__name", label="Blueprint")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner")
    # Destroyed environments are left out unless asked for: with this, or with status=destroyed (see qs).
    include_destroyed = StrictBooleanFilter(
        method="keep_destroyed",
        label="Destroyed too",
        help_text="Also list destroyed environments (status=destroyed lists only them).",
    )

    class Meta(FilterSet.Meta):
        model = Environment
        fields = ["search", "status", "tier", "region", "blueprint", "owner", "include_destroyed"]

    @property
    def qs(self):
        selected = super().qs
        return selected if self._asks_for_destroyed() else selected.not_destroyed()

    def _asks_for_destroyed(self) -> bool:
        if not self.is_bound or not self.is_valid():
            return False
        chosen = self.form.cleaned_data
        return bool(chosen.get("include_destroyed")) or chosen.get("status") == EnvironmentStatus.DESTROYED

    def keep_destroyed(self, queryset, name, value):
        return queryset  # qs leaves destroyed environments out unless this is true

    def page_choices(self) -> dict[str, list[tuple[str, str]]]:
        owners = get_user_model().objects.filter(environments__isnull=False).distinct().order_by("username")
        return {
            "blueprint": [("", "Any blueprint")]
            + [(name, name) for name in Blueprint.objects.values_list("name", flat=True)],
            "owner": [("", "Anyone")] + [(user.username, user.username) for user in owners],
        }

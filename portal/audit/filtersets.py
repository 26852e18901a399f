"""The filters of the findings: the page (/audit/) and its exports, GET /api/v1/audit/findings/ and its export."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.audit.choices import FindingStatus, ResourceKind, Severity
from portal.audit.forms import ACCOUNT_WIDE
from portal.audit.models import Finding
from portal.environments.models import Environment
from portal.filtersets import FilterSet
from provisioning.audit.rules import RULES

ANY_STATUS = "all"
WHEN = "Give a date and time such as 2026-11-24T09:00:00Z."


class FindingFilterSet(FilterSet):
    """Without a status, the findings still to deal with: open and suppressed (``all``: resolved ones too)."""

    # Any name: one no environment has matches nothing.
    environment = django_filters.CharFilter(
        method="filter_environment",
        label="Environment",
        help_text=f"An environment's name, or {ACCOUNT_WIDE!r} for account-wide.",
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity", label="Severity")
    rule = django_filters.ChoiceFilter(
        field_name="rule_id",
        choices=[(rule_id, rule_id) for rule_id in RULES],
        empty_label="Any rule",
        label="Rule",
        help_text="A rule id, such as iam.wildcard-action.",
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=[*FindingStatus.choices, (ANY_STATUS, "Any status")],
        empty_label="Open or suppressed",
        label="Status",
        help_text="Default: open and suppressed.",
    )
    # The page's name of the filter is "kind", the API's "resource_kind" (each accepts both).
    resource_kind = django_filters.ChoiceFilter(
        choices=ResourceKind.choices, empty_label="Any resource", label="Resource"
    )
    kind = django_filters.ChoiceFilter(
        field_name="resource_kind", choices=ResourceKind.choices, empty_label="Any resource", label="Resource"
    )
    search = django_filters.CharFilter(
        method="filter_search", label="Search", help_text="Part of the resource's name or ARN."
    )
    first_seen_after = django_filters.IsoDateTimeFilter(
        field_name="first_seen_at",
        lookup_expr="gt",
        error_messages={"invalid": WHEN},
        help_text="Only findings first seen after this time (ISO 8601).",
    )
    resolved_after = django_filters.IsoDateTimeFilter(
        field_name="resolved_at",
        lookup_expr="gt",
        error_messages={"invalid": WHEN},
        help_text="Only findings resolved after this time (ISO 8601).",
    )

    class Meta(FilterSet.Meta):
        model = Finding
        fields = [
            "environment",
            "severity",
            "rule",
            "status",
            "resource_kind",
            "kind",
            "search",
            "first_seen_after",
            "resolved_after",
        ]

    def filter_environment(self, queryset, name, value):
        if value == ACCOUNT_WIDE:
            return queryset.filter(environment__isnull=True)
        return queryset.filter(environment__name=value)

    def filter_status(self, queryset, name, value):
        return queryset if value == ANY_STATUS else queryset.filter(status=value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(resource_id__icontains=value) | Q(resource_arn__icontains=value))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=FindingStatus.RESOLVED)
        return queryset

    def page_choices(self) -> dict[str, list[tuple[str, str]]]:
        # Destroyed environments only when asked for (the one chosen stays on the menu).
        chosen = self.data.get("environment") if self.is_bound else None
        names = sorted(
            {
                *Environment.objects.not_destroyed().values_list("name", flat=True),
                *([chosen] if chosen and chosen != ACCOUNT_WIDE else []),
            }
        )
        return {
            "environment": [
                ("", "Any environment"),
                (ACCOUNT_WIDE, "Account-wide"),
                *[(name, name) for name in names],
            ]
        }

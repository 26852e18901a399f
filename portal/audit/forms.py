from __future__ import annotations

from django import forms
from django.db.models import Q

from portal.audit.choices import FindingStatus, ResourceKind, Severity
from portal.audit.models import MAX_SUPPRESSION_DAYS
from portal.environments.models import Environment
from provisioning.audit.rules import RULES

ACCOUNT_WIDE = "account"


class FindingFilterForm(forms.Form):
    """The findings page's filters (GET): environment, severity, rule, status, kind of resource, text."""

    environment = forms.ChoiceField(required=False)
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    rule = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Open or suppressed"), *FindingStatus.choices, ("all", "Any status")],
    )
    kind = forms.ChoiceField(required=False, label="Resource", choices=[("", "Any resource"), *ResourceKind.choices])
    search = forms.CharField(required=False, help_text="Part of the resource's name or ARN")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        names = Environment.objects.order_by("name").values_list("name", flat=True)
        self.fields["environment"].choices = [
            ("", "Any environment"),
            (ACCOUNT_WIDE, "Account-wide"),
            *[(name, name) for name in names],
        ]
        self.fields["rule"].choices = [("", "Any rule"), *[(rule_id, rule_id) for rule_id in RULES]]

    def filter(self, queryset):
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        return filter_findings(
            queryset,
            environment=data["environment"],
            severity=data["severity"],
            rule=data["rule"],
            status=data["status"],
            kind=data["kind"],
            search=data["search"],
        )


def filter_findings(queryset, environment="", severity="", rule="", status="", kind="", search=""):
    """The findings matching the filters shared by the page and the API (empty: no filter)."""
    if environment == ACCOUNT_WIDE:
        queryset = queryset.filter(environment__isnull=True)
    elif environment:
        queryset = queryset.filter(environment__name=environment)
    if severity:
        queryset = queryset.filter(severity=severity)
    if rule:
        queryset = queryset.filter(rule_id=rule)
    if status == "all":
        pass
    elif status:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.exclude(status=FindingStatus.RESOLVED)
    if kind:
        queryset = queryset.filter(resource_kind=kind)
    if search:
        search = search.strip()
        queryset = queryset.filter(Q(resource_id__icontains=search) | Q(resource_arn__icontains=search))
    return queryset


class RoleFilterForm(forms.Form):
    """The IAM browser's filters (GET): the roles' Environment tag, and part of the role's name."""

    environment = forms.ChoiceField(required=False)
    search = forms.CharField(required=False, label="Name", help_text="Part of the role's name")

    def __init__(self, *args, environments: list[str] = (), **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["environment"].choices = [
            ("", "Any environment"),
            (ACCOUNT_WIDE, "No environment (account-wide)"),
            *[(name, name) for name in environments],
        ]

    def filter(self, roles: list) -> list:
        """The roles (collect_live's resources) matching the filters; invalid filters match none."""
        if not self.is_bound:
            return roles
        if not self.is_valid():
            return []
        environment, search = self.cleaned_data["environment"], self.cleaned_data["search"].strip().lower()
        if environment == ACCOUNT_WIDE:
            roles = [role for role in roles if not role.environment]
        elif environment:
            roles = [role for role in roles if role.environment == environment]
        if search:
            roles = [role for role in roles if search in role.id.lower()]
        return roles


class SuppressionForm(forms.Form):
    """Suppress a finding: why it is acceptable, and until when (at most a year; then it is reviewed again)."""

    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why this finding is acceptable for now. Kept in the activity log.",
    )
    expires_at = forms.DateTimeField(
        label="Until (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=f"When the suppression ends and the finding is open again (at most {MAX_SUPPRESSION_DAYS} days).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)


class AuditRequestForm(forms.Form):
    """What "Run audit now" audits: the whole account or one environment."""

    environment = forms.ChoiceField(required=False, label="Scope")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        names = Environment.objects.live().order_by("name").values_list("name", flat=True)
        self.fields["environment"].choices = [("", "The whole account"), *[(name, name) for name in names]]

from __future__ import annotations

from django import forms

from portal.audit.models import MAX_SUPPRESSION_DAYS
from portal.environments.models import Environment

ACCOUNT_WIDE = "account"


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

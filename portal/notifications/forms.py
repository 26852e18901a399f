"""Forms of the notifications page: a new webhook, e-mail choices per event, and per-environment overrides."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from portal.accounts.roles import is_admin
from portal.environments.choices import EnvironmentStatus
from portal.environments.models import Environment
from portal.notifications.choices import Event
from portal.notifications.models import NotificationPreference, Webhook, choose_email, validate_webhook


class WebhookForm(forms.Form):
    """A new webhook; checked by validate_webhook, the same rules as the API (the URL guard included)."""

    name = forms.CharField(max_length=100, help_text="Such as #audio-team alerts.")
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="Launchpad POSTs signed JSON here; public addresses only.",
    )
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(),
        required=False,
        empty_label="All my environments",
        help_text="Only this environment's events, or those of every environment you own.",
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, initial=[Event.RUN_FAILED, Event.DRIFT_FOUND]
    )
    secret = forms.CharField(
        required=False,
        min_length=16,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="The key of the X-Launchpad-Signature HMAC. Empty: Launchpad makes one and shows it once.",
    )

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        environments = Environment.objects.exclude(status=EnvironmentStatus.DESTROYED)
        if not is_admin(user):
            environments = environments.filter(owner=user)
        self.fields["environment"].queryset = environments

    def clean(self):
        cleaned = super().clean()
        if {"url", "events"} <= cleaned.keys():
            try:
                validate_webhook(
                    url=cleaned["url"], events=cleaned["events"], environment=cleaned.get("environment"), user=self.user
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    for message in messages:
                        self.add_error(field if field in self.fields else None, message)
        return cleaned

    def save(self) -> tuple[Webhook, str | None]:
        """Create the webhook; return it and the generated secret (None when the user gave one)."""
        data = self.cleaned_data
        webhook = Webhook(
            owner=self.user, name=data["name"], url=data["url"], environment=data["environment"], events=data["events"]
        )
        secret = webhook.set_secret(data["secret"] or None)
        webhook.save()
        return webhook, (None if data["secret"] else secret)


class EmailPreferencesForm(forms.Form):
    """One box per event: e-mail me about it (for all environments; overrides below win)."""

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        chosen = dict(
            NotificationPreference.objects.filter(user=user, environment__isnull=True).values_list("event", "email")
        )
        for event, label in Event.choices:
            self.fields[event] = forms.BooleanField(required=False, label=label, initial=chosen.get(event, True))

    def save(self) -> None:
        for event in Event.values:
            choose_email(self.user, event, self.cleaned_data[event])


class EnvironmentOverrideForm(forms.Form):
    """E-mail on or off for one event of one environment, whatever the choice for all environments."""

    environment = forms.ModelChoiceField(queryset=Environment.objects.exclude(status=EnvironmentStatus.DESTROYED))
    event = forms.ChoiceField(choices=Event.choices)
    email = forms.TypedChoiceField(
        choices=[("on", "E-mail me"), ("off", "No e-mail")], coerce=lambda value: value == "on", label="E-mail"
    )

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def save(self) -> NotificationPreference:
        data = self.cleaned_data
        return choose_email(self.user, data["event"], data["email"], data["environment"])

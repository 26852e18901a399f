"""Who is told what: webhooks (channels), their deliveries, and each user's e-mail choices.

``notify()`` (portal.notifications.services) works out the audience of an event, sends e-mail through Django's
mail backend to those who want it, and queues one signed delivery per matching webhook, all after commit.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from portal import crypto
from portal.accounts.roles import can_change_environment, is_admin
from portal.environments.models import Environment
from portal.notifications import outbound
from portal.notifications.choices import DeliveryStatus, Event


class Webhook(models.Model):
    """A channel: Launchpad POSTs signed JSON here for the events it subscribes to.

    Without an environment it hears about every environment its owner owns (and, for an approver or an
    admin, about what they review); with one, about that environment only.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    encrypted_secret = models.TextField(editable=False)
    events = models.JSONField(default=list, help_text="The events this webhook hears about (Event values).")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        return crypto.decrypt_bytes(self.encrypted_secret.encode()).decode()

    def set_secret(self, value: str | None = None) -> str:
        """Store ``value`` (or a new random secret) encrypted; return it."""
        value = value or secrets.token_urlsafe(32)
        self.encrypted_secret = crypto.encrypt_bytes(value.encode()).decode()
        return value

    @property
    def scope(self) -> str:
        return self.environment.name if self.environment_id else "all your environments"

    def hears(self, event: str) -> bool:
        return self.active and event in self.events


def validate_webhook(*, url: str, events: list, environment: Environment | None, user) -> None:
    """Check a webhook definition; raise ValidationError({field: [messages]}) naming every problem."""

    errors: dict[str, list[str]] = {}
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as error:
        errors["url"] = [str(error)]
    unknown = [event for event in events if event not in Event.values]
    if not events:
        errors["events"] = ["Choose at least one event."]
    elif unknown:
        errors["events"] = [f"Unknown events: {', '.join(map(str, unknown))}. Choose from: {', '.join(Event.values)}."]
    if environment is not None and not can_change_environment(user, environment):
        errors["environment"] = [f"Only {environment.name}'s owner or an admin can add webhooks for it."]
    if errors:
        raise ValidationError(errors)


def webhooks_visible_to(user):
    """Webhooks ``user`` may see and change: their own, those of environments they own; admins see all."""
    queryset = Webhook.objects.select_related("owner", "environment")
    if is_admin(user):
        return queryset
    return queryset.filter(Q(owner=user) | Q(environment__owner=user))


class Delivery(models.Model):
    """One event for one webhook: the payload, each attempt, and how it ended."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True, help_text="[{attempt, at, url, response_code, error, ms}]")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook.name} (#{self.pk})"


class NotificationPreference(models.Model):
    """Whether ``user`` gets e-mail for ``event``: for all environments, or for one (an override)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["environment__name", "event"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event"], condition=Q(environment__isnull=True), name="preference_per_event"
            ),
            models.UniqueConstraint(fields=["user", "event", "environment"], name="preference_per_environment"),
        ]

    def __str__(self) -> str:
        where = self.environment.name if self.environment_id else "all environments"
        return f"{self.user} {self.event} ({where}): {'e-mail' if self.email else 'no e-mail'}"


def wants_email(user, event: str, environment: Environment | None) -> bool:
    """The user's choice: an override for the environment, else their choice for the event, else yes."""
    choices = {
        preference.environment_id: preference.email
        for preference in NotificationPreference.objects.filter(user=user, event=event).filter(
            Q(environment__isnull=True) | Q(environment=environment)
        )
    }
    if environment is not None and environment.pk in choices:
        return choices[environment.pk]
    return choices.get(None, True)


def preferences_of(user) -> dict:
    """The user's e-mail choices: every event (unset: on) and the per-environment overrides."""
    rows = list(NotificationPreference.objects.filter(user=user).select_related("environment"))
    chosen = {row.event: row.email for row in rows if row.environment_id is None}
    return {
        "events": [{"event": event, "email": chosen.get(event, True)} for event in Event.values],
        "environments": [
            {"environment": row.environment, "event": row.event, "email": row.email}
            for row in rows
            if row.environment_id is not None
        ],
    }


def choose_email(user, event: str, email: bool, environment: Environment | None = None) -> NotificationPreference:
    """Record whether ``user`` gets e-mail for ``event``: for all environments, or for ``environment`` alone."""
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, event=event, environment=environment, defaults={"email": email}
    )
    return preference


def replace_preferences(user, preferences: dict) -> None:
    """The user's e-mail choices as a whole, in the shape preferences_of() gives: the choice per event, and the
    per-environment overrides (those not given are removed)."""
    with transaction.atomic():
        for choice in preferences["events"]:
            choose_email(user, choice["event"], choice["email"])
        NotificationPreference.objects.filter(user=user, environment__isnull=False).delete()
        for choice in preferences["environments"]:
            choose_email(user, choice["event"], choice["email"], choice["environment"])

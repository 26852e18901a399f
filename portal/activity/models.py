"""The activity log: who did what to which object, when, and from which address."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.client_address import client_address


class ActivityEntry(models.Model):
    """One line of the activity log (not to be confused with the security audit, portal.audit)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity_entries"
    )
    actor_name = models.CharField(
        max_length=150, help_text="Kept when the user is deleted; 'launchpad' for the system."
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activity entries"

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_repr}"


def record(action: str, obj, actor=None, request=None, **data) -> ActivityEntry:
    """Append an entry: ``actor`` (or the request's user) did ``action`` to ``obj``."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return ActivityEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "launchpad",
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        data=data,
        ip_address=client_address(request),
    )

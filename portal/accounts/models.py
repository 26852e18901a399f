"""API tokens, stored hashed: the secret is shown once at creation and never kept in clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "lp"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A user's API token. The key is ``lp_<lookup>_<secret>``; only the SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    lookup = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """Create a token for ``user``; return it and the key (shown once, never stored)."""
        lookup = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, lookup=lookup, digest=_digest(secret))
        return token, f"{TOKEN_PREFIX}_{lookup}_{secret}"

    @classmethod
    def authenticate(cls, key: str) -> ApiToken | None:
        """The active token whose key is ``key``, or None."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        token = cls.objects.active().select_related("user").filter(lookup=parts[1]).first()
        if token is None or not hmac.compare_digest(token.digest, _digest(parts[2])):
            return None
        return token

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    @property
    def preview(self) -> str:
        return f"{TOKEN_PREFIX}_{self.lookup}_…"

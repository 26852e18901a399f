"""API tokens, stored hashed: the secret is shown once at creation and never kept in clear. A token may expire,
may be read-only, and remembers the token it was made with: revoking a token revokes every token made with it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

TOKEN_PREFIX = "lp"
MAX_LIFETIME_DAYS = 365  # the longest expiry a token can be given; no expiry at all is allowed too


class TokenScope(models.TextChoices):
    READ = "read", "read-only"
    FULL = "full", "full"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments given (None: never)."""
    return min((moment for moment in moments if moment is not None), default=None)


class RevokedTokenError(Exception):
    """A token was to be made with a token that is revoked."""


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
    scope = models.CharField(max_length=4, choices=TokenScope.choices, default=TokenScope.FULL)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The token whose request made this one (an admin's), if any: revoking it revokes this one.
    created_by_token = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="created_tokens"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @classmethod
    def issue(
        cls,
        user,
        name: str,
        *,
        scope: str = TokenScope.FULL,
        expires_in_days: int | None = None,
        created_by_token: ApiToken | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token for ``user``; return it and the key (shown once, never stored).

        ``expires_in_days`` (1 to MAX_LIFETIME_DAYS, None: never) is checked by the form, serializer or command
        first. A token made with another token expires no later than it, and is refused once that one is revoked.
        """
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise ValueError(f"expires_in_days must be from 1 to {MAX_LIFETIME_DAYS}, not {expires_in_days}.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        lookup = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with transaction.atomic():
            if created_by_token is not None:
                # Locked, so a revocation of the maker either sees this token or is seen here (no orphan escapes).
                created_by_token = cls.objects.select_for_update().get(pk=created_by_token.pk)
                if created_by_token.revoked_at is not None:
                    raise RevokedTokenError("The token this request was made with is revoked.")
                expires_at = _earliest(expires_at, created_by_token.expires_at)
            token = cls.objects.create(
                user=user,
                name=name,
                lookup=lookup,
                digest=_digest(secret),
                scope=scope,
                expires_at=expires_at,
                created_by_token=created_by_token,
            )
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

    def revoke(self) -> list[ApiToken]:
        """Revoke this token and every token made with it, and with those, and so on. Returns the tokens this
        revoked (this one first, unless it was revoked already)."""
        with transaction.atomic():
            # Locked first, so a token being made with this one now is either found below or refused (issue).
            ApiToken.objects.select_for_update().filter(pk=self.pk).first()
            ids, makers = [self.pk], [self.pk]
            while makers:
                makers = list(ApiToken.objects.filter(created_by_token__in=makers).values_list("pk", flat=True))
                ids += makers
            revoked = list(ApiToken.objects.active().filter(pk__in=ids).order_by("created_at"))
            now = timezone.now()
            ApiToken.objects.filter(pk__in=[token.pk for token in revoked]).update(revoked_at=now)
        for token in revoked:
            token.revoked_at = now
            if token.pk == self.pk:
                self.revoked_at = now
        return revoked

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """revoked, expired or active."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired else "active"

    @property
    def preview(self) -> str:
        return f"{TOKEN_PREFIX}_{self.lookup}_…"

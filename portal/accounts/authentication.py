"""DRF authentication with `Authorization: Token <key>` against hashed API tokens: an expired token is refused,
a read-only token may only read."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from portal.accounts.models import ApiToken, TokenScope


class HashedTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        credentials = super().authenticate(request)
        # Checked here rather than by a permission class: views that name their own permissions keep the rule.
        read_only = credentials is not None and credentials[1].scope == TokenScope.READ
        if read_only and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(
                "This token is read-only: it may only read (GET, HEAD, OPTIONS). "
                "Use a full-access token to change anything."
            )
        return credentials

    def authenticate_credentials(self, key: str):
        token = ApiToken.authenticate(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.expired:
            raise exceptions.AuthenticationFailed("Token expired.")
        now = timezone.now()
        # Record use at most once a minute: a busy script should not write on every request.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

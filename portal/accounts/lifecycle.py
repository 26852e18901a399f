"""Token changes shared by the tokens page and the API, each written to the activity log."""

from __future__ import annotations

from django.db import transaction

from portal.accounts.models import ApiToken
from portal.activity.models import record


def revoke(token: ApiToken, request) -> list[ApiToken]:
    """Revoke ``token`` and every token made with it (ApiToken.revoke), one activity event each; the tokens
    revoked by this call, ``token`` first unless it was revoked already."""
    with transaction.atomic():  # the API's revocation runs outside the request's transaction
        revoked = token.revoke()
        for each in revoked:
            record(
                "token.revoked", each, request=request, **({"revoked_with": token.pk} if each.pk != token.pk else {})
            )
    return revoked

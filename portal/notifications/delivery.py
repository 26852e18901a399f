"""Webhook delivery: the signed request, one attempt at a time, and the backoff between attempts.

Each request carries the JSON body, ``X-Launchpad-Signature: sha256=<hex HMAC-SHA256 of the body with the
webhook's secret>``, ``X-Launchpad-Timestamp`` (seconds since the epoch, per attempt), ``X-Launchpad-Event``
and ``X-Launchpad-Delivery``. The body is the same bytes on every attempt; receivers deduplicate on its
``id`` and may refuse an old ``occurred_at``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.notifications import outbound
from portal.notifications.choices import DeliveryStatus
from portal.notifications.models import Delivery

SIGNATURE_HEADER = "X-Launchpad-Signature"
TIMESTAMP_HEADER = "X-Launchpad-Timestamp"
USER_AGENT = "Launchpad-Webhooks/1"


def body_of(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature or "")


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: the base, doubled after each failure."""
    return settings.LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)


def backoff_schedule() -> list[float]:
    """The waits between the attempts of a delivery that always fails (one fewer than the attempts)."""
    return [retry_delay(n) for n in range(1, settings.LAUNCHPAD_WEBHOOK_MAX_ATTEMPTS)]


def _lease() -> timedelta:
    # Long enough for one attempt with every redirect hop timing out.
    return timedelta(seconds=settings.LAUNCHPAD_WEBHOOK_TIMEOUT_SECONDS * (outbound.MAX_REDIRECTS + 1) + 30)


def claim(delivery_id: int) -> Delivery | None:
    """Take a pending delivery whose attempt is due; None when it is not (done, not due, or another has it)."""
    now = timezone.now()
    taken = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
        next_attempt_at=now + _lease()
    )
    return Delivery.objects.select_related("webhook").get(pk=delivery_id) if taken else None


def attempt(delivery: Delivery) -> float | None:
    """Make one attempt and record it; return the seconds until the next attempt, or None when it is over."""
    webhook = delivery.webhook
    body = body_of(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Launchpad-Event": delivery.event,
        "X-Launchpad-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: str(int(time.time())),
        SIGNATURE_HEADER: sign(webhook.secret, body),
    }
    started = time.monotonic()
    number = delivery.attempts + 1
    code, error, final = None, "", False
    if not webhook.active:
        error, final = "The webhook was switched off; the delivery is abandoned.", True
    else:
        try:
            reply = outbound.post(webhook.url, body, headers, timeout=settings.LAUNCHPAD_WEBHOOK_TIMEOUT_SECONDS)
            code = reply.status
            if not 200 <= code < 300:
                error = f"The receiver answered {code}."
        except outbound.OutboundError as refused:
            # A refused address or a redirect loop will not change by waiting: the delivery ends here.
            error, final = str(refused), True
        except (OSError, http.client.HTTPException) as failure:
            error = f"{failure.__class__.__name__}: {failure}" if str(failure) else failure.__class__.__name__
    entry = {
        "attempt": number,
        "at": timezone.now().isoformat(),
        "url": webhook.url,
        "response_code": code,
        "error": error,
        "ms": round((time.monotonic() - started) * 1000),
    }
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts, delivery.response_code, delivery.last_error = number, code, error
        delivery.log = [*delivery.log, entry]
        wait = None
        if not error:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
        elif final or number >= settings.LAUNCHPAD_WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            wait = retry_delay(number)
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=wait)
        if delivery.status != DeliveryStatus.PENDING:
            delivery.finished_at = timezone.now()
        delivery.save()
    return wait

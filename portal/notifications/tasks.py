"""Celery tasks of the notifications: one webhook delivery attempt at a time, retried with backoff."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from portal.notifications import delivery as webhook_delivery
from portal.notifications.choices import DeliveryStatus
from portal.notifications.models import Delivery

# A retry already queued with its countdown gets this long before the sweep sends another.
SWEEP_GRACE = timedelta(seconds=30)


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    """Attempt a due delivery once; queue the next attempt after the backoff when it failed."""
    delivery = webhook_delivery.claim(delivery_id)
    if delivery is None:
        return
    wait = webhook_delivery.attempt(delivery)
    if wait is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=wait)


@shared_task(ignore_result=True)
def deliver_due_webhooks() -> int:
    """Queue every pending delivery whose attempt is overdue (its queued retry was lost with a worker)."""
    overdue = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now() - SWEEP_GRACE
    ).values_list("pk", flat=True)
    for delivery_id in overdue:
        deliver_webhook.delay(delivery_id)
    return len(overdue)

"""Webhook deliveries: signed JSON to the receiver, retried with exponential backoff, failed after the last attempt,
every attempt in the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.notifications import delivery as webhook_delivery
from portal.notifications import tasks
from portal.notifications.models import Delivery, Webhook
from portal.notifications.services import notify
from provisioning.emulator.server import free_port
from tests.factories import make_environment

pytestmark = pytest.mark.django_db
SECRET = "receiver-shared-secret-0123456789"


def webhook_to(url: str, environment, events=("drift.found",), secret: str = SECRET) -> Webhook:
    webhook = Webhook(owner=environment.owner, environment=environment, name="test", url=url, events=list(events))
    webhook.set_secret(secret)
    webhook.save()
    return webhook


@pytest.fixture
def retries(monkeypatch) -> list[tuple[int, float]]:
    """(delivery id, countdown) of every retry ``deliver_webhook`` queues (no broker)."""
    queued: list[tuple[int, float]] = []
    monkeypatch.setattr(
        "portal.notifications.tasks.deliver_webhook.apply_async",
        lambda args, countdown: queued.append((args[0], countdown)),
    )
    return queued


def make_due(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_receiver_on_localhost_gets_a_correctly_signed_payload(
    receiver, django_capture_on_commit_callbacks, monkeypatch
):
    environment = make_environment(name="signed")
    webhook_to(receiver.url("/hook"), environment)
    monkeypatch.setattr("portal.notifications.tasks.deliver_webhook.delay", tasks.deliver_webhook)

    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = notify("drift.found", environment, check_id=7, resources=[{"address": "a.b", "attributes": ["x"]}])

    [request] = receiver.received
    assert request.headers["X-Launchpad-Signature"] == (
        "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    )
    assert webhook_delivery.verify(SECRET, request.body, request.headers["X-Launchpad-Signature"])
    assert not webhook_delivery.verify("another-secret", request.body, request.headers["X-Launchpad-Signature"])
    assert abs(int(request.headers["X-Launchpad-Timestamp"]) - time.time()) < 5
    assert request.headers["X-Launchpad-Event"] == "drift.found"
    assert request.headers["X-Launchpad-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json"
    payload = json.loads(request.body)
    assert payload["event"] == "drift.found" and payload["data"]["check_id"] == 7
    assert payload["environment"]["name"] == "signed"
    assert payload["summary"] == "signed drifted: 1 resource changed outside Terraform"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.response_code == 200
    assert delivery.log[0]["response_code"] == 200


def test_the_backoff_doubles_from_the_configured_base(settings):
    settings.LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS = 30
    settings.LAUNCHPAD_WEBHOOK_MAX_ATTEMPTS = 5

    assert webhook_delivery.backoff_schedule() == [30, 60, 120, 240]


def test_a_receiver_that_fails_gets_retries_with_backoff_then_the_delivery_is_failed(receiver, retries, settings):
    settings.LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS = 10
    receiver.answers["/down"] = (500, {})
    environment = make_environment(name="flaky")
    webhook = webhook_to(receiver.url("/down"), environment)
    delivery = Delivery.objects.create(
        webhook=webhook, event="drift.found", payload={"id": "x"}, next_attempt_at=timezone.now()
    )

    for _ in range(5):
        tasks.deliver_webhook(delivery.pk)
        make_due(delivery)

    delivery.refresh_from_db()
    assert [countdown for _, countdown in retries] == [10, 20, 40, 80]
    assert len(receiver.at("/down")) == 5
    assert delivery.status == "failed" and delivery.attempts == 5 and delivery.finished_at is not None
    assert delivery.response_code == 500 and delivery.last_error == "The receiver answered 500."
    assert [entry["attempt"] for entry in delivery.log] == [1, 2, 3, 4, 5]
    assert {request.body for request in receiver.at("/down")} == {b'{"id":"x"}'}, "the same signed body every time"


def test_a_delivery_is_not_attempted_before_its_retry_is_due_nor_twice_at_once(receiver, retries):
    receiver.answers["/down"] = (503, {})
    environment = make_environment(name="not-yet")
    delivery = Delivery.objects.create(
        webhook=webhook_to(receiver.url("/down"), environment),
        event="drift.found",
        payload={},
        next_attempt_at=timezone.now(),
    )

    tasks.deliver_webhook(delivery.pk)
    tasks.deliver_webhook(delivery.pk)  # the retry is not due yet

    assert len(receiver.received) == 1
    assert webhook_delivery.claim(delivery.pk) is None


def test_an_unreachable_receiver_is_retried(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["127.0.0.1"]
    environment = make_environment(name="unreachable")
    webhook = webhook_to(f"http://127.0.0.1:{free_port()}/hook", environment)  # nobody listens there
    delivery = Delivery.objects.create(webhook=webhook, event="drift.found", payload={}, next_attempt_at=timezone.now())

    wait = webhook_delivery.attempt(delivery)

    delivery.refresh_from_db()
    assert wait is not None and delivery.status == "pending"
    assert "ConnectionRefusedError" in delivery.last_error or "refused" in delivery.last_error.lower()


def test_a_receiver_that_now_resolves_to_an_internal_address_is_refused_at_delivery_and_not_retried(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = []
    environment = make_environment(name="rebound")
    webhook = webhook_to("http://127.0.0.1:8080/hook", environment)  # allow-listed once, since removed
    delivery = Delivery.objects.create(webhook=webhook, event="drift.found", payload={}, next_attempt_at=timezone.now())

    wait = webhook_delivery.attempt(delivery)

    delivery.refresh_from_db()
    assert wait is None and delivery.status == "failed" and delivery.attempts == 1
    assert "loopback address" in delivery.last_error


def test_the_sweep_queues_deliveries_whose_retry_was_lost(queued_deliveries):
    environment = make_environment(name="swept")
    webhook = webhook_to("https://93.184.216.34/hook", environment)
    overdue = Delivery.objects.create(
        webhook=webhook, event="drift.found", payload={}, next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    Delivery.objects.create(webhook=webhook, event="drift.found", payload={}, next_attempt_at=timezone.now())
    Delivery.objects.create(webhook=webhook, event="drift.found", payload={}, status="delivered")

    assert tasks.deliver_due_webhooks() == 1
    assert queued_deliveries == [overdue.pk]

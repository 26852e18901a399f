"""The Notifications page: webhooks (the generated secret shown once), e-mail choices, and the delivery log."""

from __future__ import annotations

import pytest

from portal.notifications.models import Delivery, NotificationPreference, Webhook
from tests.factories import make_environment, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = make_user()
    client.force_login(user)
    return user


def test_the_page_is_linked_from_the_navigation(client, signed_in):
    page = client.get("/notifications/")

    assert page.status_code == 200
    assert 'href="/notifications/"' in page.content.decode()
    assert 'id="webhook-form"' in page.content.decode() and 'id="preferences-form"' in page.content.decode()


def test_a_webhook_made_in_the_page_shows_its_generated_secret_once(client, signed_in):
    response = client.post(
        "/notifications/",
        {"name": "team channel", "url": "https://93.184.216.34/hook", "events": ["run.failed", "drift.found"]},
    )

    webhook = Webhook.objects.get()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert webhook.secret in response.content.decode()
    assert webhook.events == ["run.failed", "drift.found"] and webhook.owner == signed_in
    assert webhook.secret not in client.get("/notifications/").content.decode()


def test_a_webhook_to_an_internal_address_is_refused_next_to_the_url_field(client, signed_in):
    response = client.post(
        "/notifications/", {"name": "metadata", "url": "http://169.254.169.254/", "events": ["run.failed"]}
    )

    assert response.status_code == 400
    assert "169.254.169.254 is a link-local address" in response.content.decode()
    assert not Webhook.objects.exists()


def test_email_choices_and_an_override_for_one_environment_are_saved(client, signed_in):
    environment = make_environment(name="overridden")
    every_event_but_drift = {
        "run.needs_approval": "on",
        "run.failed": "on",
        "environment.expiring": "on",
        "environment.destroyed": "on",
        "audit.finding": "on",
    }

    client.post("/notifications/preferences/", every_event_but_drift)
    client.post("/notifications/overrides/", {"environment": environment.pk, "event": "drift.found", "email": "on"})

    choices = {(p.event, p.environment_id): p.email for p in NotificationPreference.objects.filter(user=signed_in)}
    assert choices[("drift.found", None)] is False and choices[("run.failed", None)] is True
    assert choices[("drift.found", environment.pk)] is True
    assert "overridden" in client.get("/notifications/").content.decode()


def test_the_delivery_log_shows_the_deliveries_of_the_users_webhooks(client, signed_in):
    webhook = Webhook(owner=signed_in, name="mine", url="https://93.184.216.34/", events=["run.failed"])
    webhook.set_secret()
    webhook.save()
    Delivery.objects.create(
        webhook=webhook,
        event="run.failed",
        payload={"summary": "Apply run #4 of x failed"},
        status="failed",
        attempts=5,
        response_code=500,
        last_error="The receiver answered 500.",
    )

    page = client.get("/notifications/").content.decode()

    assert "Apply run #4 of x failed" in page and "The receiver answered 500." in page


def test_a_webhook_is_switched_off_and_deleted_only_by_those_who_may_see_it(client, signed_in):
    webhook = Webhook(owner=make_user(), name="someone else's", url="https://93.184.216.34/", events=["run.failed"])
    webhook.set_secret()
    webhook.save()

    assert client.post(f"/notifications/webhooks/{webhook.pk}/toggle/").status_code == 404
    assert client.post(f"/notifications/webhooks/{webhook.pk}/delete/").status_code == 404
    Webhook.objects.filter(pk=webhook.pk).update(owner=signed_in)
    client.post(f"/notifications/webhooks/{webhook.pk}/toggle/")
    assert Webhook.objects.get(pk=webhook.pk).active is False
    client.post(f"/notifications/webhooks/{webhook.pk}/delete/")
    assert not Webhook.objects.exists()

"""Expiry: an owner gives a non-prod environment a lifetime at creation (a sandbox: 72 h unless they choose), is
warned once before it ends, may extend it, and Launchpad destroys it on time through a normal destroy run that
needs no approver because the owner agreed to the lifetime. Production environments never expire."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.activity.models import ActivityEntry
from portal.environments.models import Environment
from portal.environments.tasks import expire_environments
from portal.notifications.models import Delivery
from portal.runs.approval import approval_reasons
from portal.runs.models import Run
from tests.factories import api_client, make_environment, make_run, make_user, record_enqueued_runs
from tests.notifications.receiver import Receiver
from tests.support.stack import wait_for

ENVIRONMENTS = "/api/v1/environments/"
STATEFUL_DESTROY = {
    "add": 0,
    "change": 0,
    "destroy": 1,
    "replace": 0,
    "resources": [],
    "stateful_losses": [{"address": "module.audio_storage.aws_s3_bucket.this", "type": "aws_s3_bucket"}],
}


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch):
    """Runs are recorded instead of reaching a broker, except where a real worker (the `stack`) carries them."""
    if "stack" in request.fixturenames:
        return None
    return record_enqueued_runs(monkeypatch)


def definition(**changes) -> dict:
    body = {"name": "short-lived", "blueprint": "sandbox", "tier": "dev", "variables": {"vpc_cidr": "172.30.0.0/16"}}
    return {**body, **changes}


def hours_from_now(moment) -> float:
    return (moment - timezone.now()).total_seconds() / 3600


def expiring(hours: float, **kwargs) -> Environment:
    environment = make_environment(**kwargs)
    Environment.objects.filter(pk=environment.pk).update(
        status="ready", expires_at=timezone.now() + timedelta(hours=hours)
    )
    environment.refresh_from_db()
    return environment


# --- the lifetime at creation --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sandbox_lives_72_hours_unless_its_owner_chooses_another_lifetime_or_none():
    client = api_client(make_user())

    default = client.post(ENVIRONMENTS, definition(name="default-life"), format="json")
    chosen = client.post(
        ENVIRONMENTS,
        definition(name="chosen-life", lifetime_hours=5, variables={"vpc_cidr": "172.31.0.0/16"}),
        format="json",
    )
    kept = client.post(
        ENVIRONMENTS,
        definition(name="kept", lifetime_hours=None, variables={"vpc_cidr": "172.29.0.0/16"}),
        format="json",
    )

    assert default.status_code == chosen.status_code == kept.status_code == 201
    assert 71.9 < hours_from_now(Environment.objects.get(name="default-life").expires_at) <= 72
    assert 4.9 < hours_from_now(Environment.objects.get(name="chosen-life").expires_at) <= 5
    assert Environment.objects.get(name="kept").expires_at is None
    assert default.json()["expires_at"] is not None and kept.json()["expires_at"] is None


@pytest.mark.django_db
def test_other_blueprints_have_no_lifetime_unless_one_is_chosen():
    environment = make_environment(blueprint_name="full", name="full-env")

    assert environment.expires_at is None


@pytest.mark.django_db
def test_a_lifetime_for_a_prod_environment_is_refused_with_a_400():
    response = api_client(make_user()).post(
        ENVIRONMENTS, definition(name="prod-life", tier="prod", lifetime_hours=24), format="json"
    )

    assert response.status_code == 400
    assert "Production environments never expire" in response.json()["lifetime_hours"][0]
    assert not Environment.objects.filter(name="prod-life").exists()


@pytest.mark.django_db
def test_a_prod_sandbox_gets_no_default_lifetime():
    response = api_client(make_user()).post(ENVIRONMENTS, definition(name="prod-sandbox", tier="prod"), format="json")

    assert response.status_code == 201, response.content
    assert Environment.objects.get(name="prod-sandbox").expires_at is None


@pytest.mark.django_db
def test_the_new_environment_form_offers_the_sandbox_lifetime_and_refuses_one_for_prod(client):
    client.force_login(make_user())

    form = client.get("/environments/new/?blueprint=sandbox").content.decode()
    refused = client.post(
        "/environments/new/?blueprint=sandbox",
        {
            "name": "form-prod",
            "tier": "prod",
            "region": "eu-west-1",
            "lifetime_hours": "24",
            "var_vpc_cidr": "172.28.0.0/16",
        },
    )
    created = client.post(
        "/environments/new/?blueprint=sandbox",
        {
            "name": "form-life",
            "tier": "dev",
            "region": "eu-west-1",
            "lifetime_hours": "6",
            "var_vpc_cidr": "172.27.0.0/16",
        },
    )

    assert 'name="lifetime_hours"' in form and 'value="72"' in form
    assert refused.status_code == 400 and "Production environments never expire" in refused.content.decode()
    assert created.status_code == 302
    assert 5.9 < hours_from_now(Environment.objects.get(name="form-life").expires_at) <= 6


# --- extending -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_extends_the_lifetime_through_the_api_is_warned_again_and_it_is_audited():
    environment = expiring(2, name="extend-me")
    Environment.objects.filter(pk=environment.pk).update(expiry_warned_at=timezone.now())

    response = api_client(environment.owner).post(f"{ENVIRONMENTS}extend-me/extend/", {"hours": 24}, format="json")

    assert response.status_code == 200, response.content
    environment.refresh_from_db()
    assert 25.9 < hours_from_now(environment.expires_at) <= 26
    assert environment.expiry_warned_at is None
    event = ActivityEntry.objects.get(action="environment.extended")
    assert event.actor == environment.owner and event.data["hours"] == 24


@pytest.mark.django_db
def test_only_the_owner_or_an_admin_extends_an_environment():
    environment = expiring(2, name="not-yours")

    assert (
        api_client(make_user()).post(f"{ENVIRONMENTS}not-yours/extend/", {"hours": 1}, format="json").status_code == 403
    )
    assert (
        api_client(make_user("admin")).post(f"{ENVIRONMENTS}not-yours/extend/", {"hours": 1}, format="json").status_code
        == 200
    )
    environment.refresh_from_db()
    assert 2.9 < hours_from_now(environment.expires_at) <= 3


@pytest.mark.django_db
def test_an_environment_without_a_lifetime_has_nothing_to_extend():
    make_environment(name="forever", blueprint_name="full")
    owner = Environment.objects.get(name="forever").owner

    response = api_client(owner).post(f"{ENVIRONMENTS}forever/extend/", {"hours": 5}, format="json")

    assert response.status_code == 400
    assert "does not expire" in response.json()["detail"]


@pytest.mark.django_db
def test_the_environment_page_shows_the_expiry_and_extends_it(client):
    environment = expiring(3, name="page-extend")
    client.force_login(environment.owner)

    page = client.get("/environments/page-extend/").content.decode()
    response = client.post("/environments/page-extend/extend/", {"hours": "48"})

    assert 'id="expiry"' in page and 'id="extend-form"' in page
    assert response.status_code == 302 and response["Location"].endswith("#expiry")
    environment.refresh_from_db()
    assert 50.9 < hours_from_now(environment.expires_at) <= 51


# --- warning and destroying ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_is_warned_once_before_the_lifetime_ends(django_capture_on_commit_callbacks):
    owner = make_user(username="warned-owner")
    owner.email = "warned-owner@spotmusic.invalid"
    owner.save()
    soon = expiring(3, owner=owner, name="ending-soon")
    later = expiring(48, name="ending-later")

    with django_capture_on_commit_callbacks(execute=True):
        first = expire_environments()
    with django_capture_on_commit_callbacks(execute=True):
        second = expire_environments()

    assert first == {"warned": 1, "destroying": 0} and second == {"warned": 0, "destroying": 0}
    assert [message.to for message in mail.outbox] == [["warned-owner@spotmusic.invalid"]]
    assert mail.outbox[0].subject.startswith("[Launchpad] ending-soon expires at")
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.expiry_warned_at is not None and later.expiry_warned_at is None
    assert ActivityEntry.objects.filter(action="environment.expiry_warned", object_id=str(soon.pk)).count() == 1


@pytest.mark.django_db
def test_an_expired_environment_gets_one_destroy_run_requested_by_launchpad():
    environment = expiring(-0.1, name="expired")

    expire_environments()
    expire_environments()

    [run] = Run.objects.filter(environment=environment)
    assert run.kind == "destroy" and run.requested_by is None
    environment.refresh_from_db()
    assert environment.expiry_destroy_run == run
    assert "expired at" in run.events.last().message
    assert ActivityEntry.objects.filter(action="environment.expired", object_id=str(environment.pk)).exists()
    assert ActivityEntry.objects.filter(action="run.destroy.requested", actor_name="launchpad").exists()


@pytest.mark.django_db
def test_prod_environments_are_never_destroyed_by_expiry():
    environment = expiring(-1, name="prod-kept", tier="prod")

    assert expire_environments() == {"warned": 0, "destroying": 0}
    assert not Run.objects.filter(environment=environment).exists()


@pytest.mark.django_db
def test_launchpads_destroy_of_an_expired_sandbox_needs_no_approver_and_the_logs_say_why():
    environment = expiring(-0.1, name="pre-approved")
    expire_environments()
    run = Run.objects.select_related("environment").get(environment=environment)

    reasons = approval_reasons(run, STATEFUL_DESTROY)

    assert reasons == []
    assert "Pre-approved by Launchpad" in run.events.last().message
    assert ActivityEntry.objects.filter(action="run.preapproved", object_id=str(run.pk)).exists()


@pytest.mark.django_db
def test_a_destroy_someone_asks_for_still_waits_for_an_approver_even_once_expired():
    environment = expiring(-0.1, name="asked-by-hand")
    run = make_run(environment, kind="destroy", requested_by=make_user("admin"))

    assert approval_reasons(run, STATEFUL_DESTROY) != []


@pytest.mark.django_db
def test_cancelling_launchpads_destroy_keeps_the_environment_until_its_owner_extends_it():
    environment = expiring(-0.1, name="rescued")
    expire_environments()
    run = Run.objects.get(environment=environment)
    owner = api_client(environment.owner)

    refused = owner.post(f"{ENVIRONMENTS}rescued/extend/", {"hours": 24}, format="json")
    run.cancel()
    expire_environments()
    extended = owner.post(f"{ENVIRONMENTS}rescued/extend/", {"hours": 24}, format="json")

    assert refused.status_code == 400 and "cancel that run first" in refused.json()["detail"]
    assert Run.objects.filter(environment=environment).count() == 1, "a cancelled expiry destroy is not asked again"
    assert extended.status_code == 200
    environment.refresh_from_db()
    assert environment.expiry_destroy_run is None and 23.9 < hours_from_now(environment.expires_at) <= 24


# --- against the emulator, through a real worker and beat ----------------------------------------


@pytest.fixture
def quick_lifecycle(monkeypatch, settings):
    """A webhook receiver on 127.0.0.1, allow-listed explicitly here and for the worker and beat of the `stack`
    (which start after this fixture, with its environment), and short intervals for them."""
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["127.0.0.1"]
    monkeypatch.setenv("LAUNCHPAD_OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setenv("LAUNCHPAD_EXPIRY_CHECK_SECONDS", "1")
    monkeypatch.setenv("LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS", "0.3")
    running = Receiver()
    yield running
    running.close()


pytest_plugins = ["tests.support.stack"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_expired_sandbox_is_destroyed_on_time_and_its_channels_are_told(quick_lifecycle, stack, emulator):
    """Through the API and the real worker and beat: a sandbox with a lifetime is applied; near its end the owner's
    webhook gets a signed warning; once expired, beat asks for a destroy run that proceeds without an approver and
    removes everything; the webhook hears of it, and a receiver that answers 500 is retried, then given up."""
    from tests.support.inventory import leftovers

    receiver = quick_lifecycle
    receiver.answers["/broken"] = (500, {})
    owner = make_user(username="expiry-owner")
    client = api_client(owner)
    secret = "expiry-test-secret-0123456789"
    created = client.post(
        ENVIRONMENTS,
        {"name": "e2e-expiry", "blueprint": "sandbox", "lifetime_hours": 24, "variables": {"vpc_cidr": "10.79.0.0/16"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    for path, events in (
        ("/hook", ["environment.expiring", "environment.destroyed"]),
        ("/broken", ["environment.destroyed"]),
    ):
        hook = client.post(
            "/api/v1/webhooks/",
            {"name": path, "url": receiver.url(path), "events": events, "environment": "e2e-expiry", "secret": secret},
            format="json",
        )
        assert hook.status_code == 201, hook.content
    wait_for(lambda: Environment.objects.get(name="e2e-expiry").status in ("ready", "failed"), 600, "the sandbox")
    assert Environment.objects.get(name="e2e-expiry").status == "ready", Run.objects.get(
        environment__name="e2e-expiry"
    ).error

    # Half an hour before the end: the warning, once, signed.
    Environment.objects.filter(name="e2e-expiry").update(expires_at=timezone.now() + timedelta(minutes=30))
    [warning] = receiver.wait_for("/hook", 1, timeout=30)
    assert json.loads(warning.body)["event"] == "environment.expiring"
    expected = "sha256=" + hmac.new(secret.encode(), warning.body, hashlib.sha256).hexdigest()
    assert warning.headers["X-Launchpad-Signature"] == expected
    assert abs(int(warning.headers["X-Launchpad-Timestamp"]) - time.time()) < 60

    # The end: a destroy run asked by Launchpad, pre-approved, carried out by the worker.
    started = time.monotonic()
    Environment.objects.filter(name="e2e-expiry").update(expires_at=timezone.now() - timedelta(seconds=1))
    destroy = wait_for(lambda: Environment.objects.get(name="e2e-expiry").expiry_destroy_run, 30, "the destroy run")
    wait_for(lambda: Run.objects.get(pk=destroy.pk).is_finished, 300, "the destroy")
    destroy.refresh_from_db()
    assert destroy.status == "succeeded", destroy.error
    assert destroy.kind == "destroy" and destroy.requested_by is None and destroy.approved_by is None
    assert destroy.plan_summary["stateful_losses"], "the sandbox's data went too, without an approver"
    assert destroy.events.filter(message__startswith="Pre-approved by Launchpad").exists()
    assert Environment.objects.get(name="e2e-expiry").status == "destroyed"
    assert leftovers("spotmusic-e2e-expiry") == []
    print(f"\nexpired sandbox destroyed {time.monotonic() - started:.1f} s after its expiry")

    [_, destroyed] = receiver.wait_for("/hook", 2, timeout=30)
    payload = json.loads(destroyed.body)
    assert payload["event"] == "environment.destroyed" and payload["data"]["expired"] is True
    assert destroyed.headers["X-Launchpad-Signature"] == (
        "sha256=" + hmac.new(secret.encode(), destroyed.body, hashlib.sha256).hexdigest()
    )

    failing = Delivery.objects.get(webhook__name="/broken")
    wait_for(lambda: Delivery.objects.get(pk=failing.pk).status == "failed", 60, "the failing delivery to give up")
    failing.refresh_from_db()
    assert len(receiver.at("/broken")) == failing.attempts == 5
    assert [entry["response_code"] for entry in failing.log] == [500] * 5
    assert failing.last_error == "The receiver answered 500."
    moments = [datetime.fromisoformat(entry["at"]) for entry in failing.log]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:], strict=False)]
    assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, [0.3, 0.6, 1.2, 2.4], strict=True)), gaps

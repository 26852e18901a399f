"""The notifications API: webhooks (own, or for environments you own; the secret write-only), their delivery log,
and each user's e-mail choices."""

from __future__ import annotations

import pytest

from portal.activity.models import ActivityEntry
from portal.notifications.models import Delivery, NotificationPreference, Webhook
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
PUBLIC = "https://93.184.216.34/hooks/launchpad"


def hook(**changes) -> dict:
    return {"name": "audio alerts", "url": PUBLIC, "events": ["run.failed", "drift.found"], **changes}


def test_a_webhook_is_created_with_a_generated_secret_shown_once():
    user = make_user()
    client = api_client(user)

    created = client.post(WEBHOOKS, hook(), format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    webhook = Webhook.objects.get()
    assert body["new_secret"] == webhook.secret and len(body["new_secret"]) > 30
    assert webhook.encrypted_secret and body["new_secret"] not in webhook.encrypted_secret
    again = client.get(f"{WEBHOOKS}{webhook.pk}/").json()
    assert again["new_secret"] is None and "secret" not in again
    assert body["owner"] == user.username and body["environment"] is None
    assert ActivityEntry.objects.filter(action="webhook.created").exists()


def test_a_given_secret_is_kept_and_never_returned():
    created = api_client(make_user()).post(WEBHOOKS, hook(secret="my-own-secret-0123456789"), format="json")

    assert created.status_code == 201
    assert created.json()["new_secret"] is None and "secret" not in created.json()
    assert Webhook.objects.get().secret == "my-own-secret-0123456789"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://localhost/hook", "resolves to 127.0.0.1"),
        ("http://10.0.0.5/hook", "private address"),
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_with_a_clear_400(url, message):
    response = api_client(make_user()).post(WEBHOOKS, hook(url=url), format="json")

    assert response.status_code == 400
    assert message in response.json()["url"][0] and "LAUNCHPAD_OUTBOUND_ALLOWLIST" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def test_an_allow_listed_receiver_is_accepted(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["127.0.0.1"]

    client = api_client(make_user())

    response = client.post(WEBHOOKS, hook(url="http://127.0.0.1:8000/hook"), format="json")

    assert response.status_code == 201, response.content
    webhook = Webhook.objects.get()
    assert (webhook.url, webhook.events, webhook.active) == (
        "http://127.0.0.1:8000/hook",
        ["run.failed", "drift.found"],
        True,
    )
    assert client.get(f"{WEBHOOKS}{webhook.pk}/").json()["url"] == "http://127.0.0.1:8000/hook"


def test_webhooks_for_an_environment_are_for_its_owner_or_an_admin():
    owner = make_user()
    make_environment(owner=owner, name="hooked")

    mine = api_client(owner).post(WEBHOOKS, hook(environment="hooked"), format="json")
    theirs = api_client(make_user()).post(WEBHOOKS, hook(environment="hooked"), format="json")
    admins = api_client(make_user("admin")).post(WEBHOOKS, hook(environment="hooked"), format="json")

    assert mine.status_code == 201 and admins.status_code == 201
    assert theirs.status_code == 400 and "Only hooked's owner or an admin" in theirs.json()["environment"][0]


def test_unknown_or_no_events_are_refused():
    client = api_client(make_user())

    none = client.post(WEBHOOKS, hook(events=[]), format="json")
    unknown = client.post(WEBHOOKS, hook(events=["run.failed", "environment.renamed"]), format="json")

    assert (none.status_code, none.json()) == (400, {"events": ["This list may not be empty."]})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"events": {"1": ['"environment.renamed" is not a valid choice.']}},
    )
    assert not Webhook.objects.exists()


def test_each_user_sees_their_webhooks_and_those_of_environments_they_own():
    owner, admin, stranger = make_user(), make_user("admin"), make_user()
    make_environment(owner=owner, name="seen")
    api_client(owner).post(WEBHOOKS, hook(name="own"), format="json")
    api_client(admin).post(WEBHOOKS, hook(name="on-my-env", environment="seen"), format="json")
    api_client(admin).post(WEBHOOKS, hook(name="admins-own"), format="json")

    def names(user) -> list[str]:
        return sorted(item["name"] for item in api_client(user).get(WEBHOOKS).json()["results"])

    assert names(owner) == ["on-my-env", "own"]
    assert names(stranger) == []
    assert names(admin) == ["admins-own", "on-my-env", "own"]
    other = Webhook.objects.get(name="own")
    assert api_client(stranger).delete(f"{WEBHOOKS}{other.pk}/").status_code == 404


def test_a_webhook_is_changed_and_deleted_by_its_owner():
    user = make_user()
    client = api_client(user)
    pk = client.post(WEBHOOKS, hook(), format="json").json()["id"]

    changed = client.patch(f"{WEBHOOKS}{pk}/", {"active": False, "events": ["drift.found"]}, format="json")
    refused = client.patch(f"{WEBHOOKS}{pk}/", {"url": "http://192.168.1.1/"}, format="json")
    deleted = client.delete(f"{WEBHOOKS}{pk}/")

    assert changed.status_code == 200 and changed.json()["active"] is False
    assert refused.status_code == 400 and "private address" in refused.json()["url"][0]
    assert deleted.status_code == 204 and not Webhook.objects.exists()


def test_the_delivery_log_of_a_webhook_lists_every_attempt():
    user = make_user()
    client = api_client(user)
    webhook = Webhook.objects.get(pk=client.post(WEBHOOKS, hook(), format="json").json()["id"])
    Delivery.objects.create(
        webhook=webhook,
        event="run.failed",
        payload={"event": "run.failed"},
        status="failed",
        attempts=2,
        response_code=500,
        last_error="The receiver answered 500.",
        log=[{"attempt": 1, "response_code": 500}, {"attempt": 2, "response_code": 500}],
    )

    [delivery] = client.get(f"{WEBHOOKS}{webhook.pk}/deliveries/").json()["results"]

    assert delivery["status"] == "failed" and delivery["attempts"] == 2
    assert [entry["attempt"] for entry in delivery["log"]] == [1, 2]


def test_email_choices_are_read_and_replaced():
    user = make_user()
    environment = make_environment(name="prefs")
    client = api_client(user)

    initial = client.get("/api/v1/notification-preferences/").json()
    saved = client.put(
        "/api/v1/notification-preferences/",
        {
            "events": [{"event": "drift.found", "email": False}],
            "environments": [{"environment": "prefs", "event": "drift.found", "email": True}],
        },
        format="json",
    )

    assert all(choice["email"] for choice in initial["events"]) and initial["environments"] == []
    assert saved.status_code == 200, saved.content
    events = {choice["event"]: choice["email"] for choice in saved.json()["events"]}
    assert events["drift.found"] is False and events["run.failed"] is True
    assert saved.json()["environments"] == [{"environment": "prefs", "event": "drift.found", "email": True}]
    assert NotificationPreference.objects.get(user=user, environment=environment).email is True

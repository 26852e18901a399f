"""API tokens: obtained with a password (rate-limited), kept only as a hash, listed and revoked by their owner;
made by a token only when it is an admin's, and revoked with it; read-only or full; expiring; last use recorded."""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts import throttling
from portal.accounts.models import ApiToken, RevokedTokenError
from portal.activity.models import ActivityEntry
from tests.factories import api_client, make_user, token_for

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"
TOKENS = "/api/v1/tokens/"
PROTECTED = "/api/v1/environments/"
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user


@pytest.fixture(autouse=True)
def fresh_throttle_counts(monkeypatch):
    """The login throttle counts attempts in the cache: each test starts with none, in one window of its clock."""
    monkeypatch.setattr(throttling, "now", lambda: 1_800_000_005.0)
    caches[throttling.CACHE].clear()
    yield
    caches[throttling.CACHE].clear()


def with_token(key: str, **defaults):
    client = api_client(**defaults)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def signed_in(user) -> APIClient:
    """A REST client signed in with the session cookie (as the browser is), not with a token."""
    client = APIClient()
    client.force_login(user)
    return client


def login(client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, format="json", **extra)


def test_a_username_and_password_buy_a_token_that_authenticates_api_requests():
    user = make_user(username="alice")

    response = login(api_client(REMOTE_ADDR="192.0.2.10"), "alice", PASSWORD)

    assert response.status_code == 201
    key = response.json()["token"]
    assert key.startswith("lp_")
    assert response.json()["name"] == "api"
    assert api_client().get(PROTECTED).status_code == 401
    assert with_token(key).get(PROTECTED).status_code == 200
    event = ActivityEntry.objects.get(action="token.created")
    assert (event.actor, event.ip_address) == (user, "192.0.2.10")


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "not-her-password"), ("nobody", PASSWORD)],
    ids=["wrong password", "unknown user"],
)
def test_wrong_credentials_are_a_401_with_a_plain_message_and_no_token(username, password):
    make_user(username="alice")

    response = login(api_client(), username, password)

    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password."}
    assert not ApiToken.objects.exists()


def test_a_login_without_a_password_is_a_400_naming_the_field():
    make_user(username="alice")

    response = api_client().post(LOGIN, {"username": "alice"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()


def test_an_inactive_user_gets_no_token_and_their_existing_tokens_stop_working():
    user = make_user(username="leaver")
    key = token_for(user)
    user.is_active = False
    user.save()

    assert login(api_client(), "leaver", PASSWORD).status_code == 401
    assert with_token(key).get(PROTECTED).status_code == 401


def test_the_key_is_not_stored_in_clear_only_the_sha256_of_its_secret():
    make_user(username="alice")
    key = login(api_client(), "alice", PASSWORD).json()["token"]
    _, lookup, secret = key.split("_", 2)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    stored = " ".join(str(value) for row in rows for value in row)

    assert len(rows) == 1
    assert secret not in stored
    assert key not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert ApiToken.objects.get().lookup == lookup


def test_a_key_with_the_right_lookup_but_another_secret_is_refused():
    key = token_for(make_user())
    prefix, lookup, _ = key.split("_", 2)
    forged = f"{prefix}_{lookup}_{secrets.token_urlsafe(32)}"

    response = with_token(forged).get(PROTECTED)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_a_revoked_token_stops_working_at_once():
    user = make_user()
    key = token_for(user)
    client = with_token(key)
    token = ApiToken.objects.get(user=user)
    assert client.get(PROTECTED).status_code == 200

    assert client.delete(f"{TOKENS}{token.pk}/").status_code == 204

    response = client.get(PROTECTED)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ActivityEntry.objects.filter(action="token.revoked", object_id=str(token.pk), actor=user).exists()


def test_the_tokens_api_lists_only_the_users_own_tokens_and_never_their_keys():
    alice, bob = make_user(username="alice"), make_user(username="bob")
    client = api_client(alice)
    ApiToken.issue(alice, "laptop")
    ApiToken.issue(bob, "bobs-ci")

    response = client.get(TOKENS)

    assert response.status_code == 200
    names = sorted(token["name"] for token in response.json()["results"])
    assert names == ["laptop", "tests"]
    for token in response.json()["results"]:
        assert set(token) == {
            "id",
            "name",
            "preview",
            "scope",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_by_token",
        }
        assert token["preview"].endswith("_…")


def test_the_tokens_api_creates_a_token_whose_key_is_shown_once():
    user = make_user()
    client = signed_in(user)

    response = client.post(TOKENS, {"name": "ci", "password": PASSWORD}, format="json")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    key = response.json()["token"]
    assert with_token(key).get(PROTECTED).status_code == 200
    listed = client.get(TOKENS).json()["results"]
    assert "ci" in {token["name"] for token in listed}
    assert key not in str(listed)
    assert "password" not in response.json()


def test_a_token_needs_a_name():
    response = signed_in(make_user()).post(TOKENS, {"password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()


def test_nobody_can_revoke_someone_elses_token():
    alice, bob = make_user(), make_user()
    bobs_key = token_for(bob)
    bobs_token = ApiToken.objects.get(user=bob)

    assert api_client(alice).delete(f"{TOKENS}{bobs_token.pk}/").status_code == 404
    assert api_client(make_user("admin")).delete(f"{TOKENS}{bobs_token.pk}/").status_code == 404

    assert with_token(bobs_key).get(PROTECTED).status_code == 200


def test_create_token_command_prints_a_key_that_works():
    user = make_user(username="deployer")
    out = io.StringIO()

    call_command("create_token", "deployer", "--name", "pipeline", stdout=out)

    key = out.getvalue().strip()
    assert with_token(key).get(PROTECTED).status_code == 200
    token = ApiToken.objects.get(user=user)
    assert token.name == "pipeline"
    assert ActivityEntry.objects.get(action="token.created").data == {"via": "manage.py create_token"}


def test_create_token_command_fails_clearly_for_an_unknown_user():
    with pytest.raises(CommandError, match="There is no user called 'ghost'"):
        call_command("create_token", "ghost", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_login_allows_ten_attempts_a_minute_from_one_address():
    make_user(username="alice")
    client = api_client(REMOTE_ADDR="198.51.100.7")

    for _ in range(10):
        assert login(client, "alice", "guess").status_code == 401

    refused = login(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert "too many failed sign-in attempts" in refused.json()["detail"].lower()
    assert not ApiToken.objects.exists()
    # Another address is not limited, but alice's own allowance is used up too (tests/security/test_throttling.py).
    make_user(username="bob")
    assert login(api_client(REMOTE_ADDR="198.51.100.8"), "bob", PASSWORD).status_code == 201


def test_the_login_limit_cannot_be_dodged_with_a_forged_forwarded_for_header():
    make_user(username="alice")
    client = api_client(REMOTE_ADDR="198.51.100.7")

    statuses = [
        login(client, "alice", "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}").status_code
        for attempt in range(11)
    ]

    assert statuses == [401] * 10 + [429]


def test_the_login_limit_follows_the_configured_rate(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "2/min"}}
    make_user(username="alice")
    client = api_client()

    statuses = [login(client, "alice", "guess").status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def test_ensure_admin_creates_the_superuser_from_the_environment_once(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")
    out = io.StringIO()

    call_command("ensure_admin", stdout=out)

    admin = get_user_model().objects.get(username="root")
    assert admin.is_superuser and admin.is_staff
    assert authenticate(username="root", password="a-long-admin-password") == admin
    assert "a-long-admin-password" not in out.getvalue()
    assert "root" in out.getvalue()

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another-password-entirely")
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)

    assert again.getvalue() == ""
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert authenticate(username="root", password="a-long-admin-password") == admin


def test_ensure_admin_without_a_password_generates_one_and_shows_it_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    out = io.StringIO()

    call_command("ensure_admin", stdout=out)

    password = out.getvalue().split("password ", 1)[1].split(" ", 1)[0]
    assert out.getvalue() == f"Created the admin account: username admin, password {password} (shown once).\n"
    assert authenticate(username="admin", password=password).is_superuser

    again = io.StringIO()
    call_command("ensure_admin", stdout=again)

    assert again.getvalue() == "", "the second run shows no password (nor makes a new one)"
    assert authenticate(username="admin", password=password).is_superuser
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


# --- who may make tokens -----------------------------------------------------------------------------


def test_a_token_cannot_create_tokens():
    user = make_user()
    client = api_client(user)

    response = client.post(TOKENS, {"name": "escape", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("A token cannot create tokens: use POST /api/v1/auth/token/")
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["tests"]
    assert not ActivityEntry.objects.filter(action="token.created").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "Enter your password to create a token."), ({"password": "not-it"}, "Wrong password.")],
    ids=["no password", "wrong password"],
)
def test_the_session_needs_the_password_to_create_a_token(body, message):
    user = make_user()

    response = signed_in(user).post(TOKENS, {"name": "ci", **body}, format="json")

    assert response.status_code == 400
    assert response.json() == {"password": [message]}
    assert not ApiToken.objects.exists()


def test_wrong_passwords_to_create_tokens_count_as_failed_sign_ins():
    """A stolen session cookie guesses the password no faster than the login form allows."""
    user = make_user(username="alice")
    client = signed_in(user)
    for attempt in range(10):
        assert client.post(TOKENS, {"name": "ci", "password": f"guess-{attempt}"}, format="json").status_code == 400

    refused = client.post(TOKENS, {"name": "ci", "password": PASSWORD}, format="json")

    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert login(api_client(REMOTE_ADDR="192.0.2.99"), "alice", PASSWORD).status_code == 429, "alice's allowance"
    assert not ApiToken.objects.exists()


def test_an_admins_token_creates_tokens_for_others_and_they_remember_it():
    admin, bob = make_user("admin"), make_user(username="bob")
    admin_key = token_for(admin)
    admin_token = ApiToken.objects.get(user=admin)

    response = with_token(admin_key).post(TOKENS, {"name": "bobs-ci", "user": "bob"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["user"], body["created_by_token"], body["scope"]) == ("bob", admin_token.pk, "full")
    made = ApiToken.objects.get(pk=body["id"])
    assert (made.user, made.created_by_token) == (bob, admin_token)
    assert with_token(body["token"]).get(PROTECTED).status_code == 200
    event = ActivityEntry.objects.get(action="token.created")
    assert (event.actor, event.data) == (admin, {"user": "bob"})


def test_only_admins_create_tokens_for_someone_else():
    make_user(username="bob")

    response = signed_in(make_user()).post(TOKENS, {"name": "x", "user": "bob", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Only admins create tokens for other users."}
    assert not ApiToken.objects.exists()


def test_creating_a_token_for_an_unknown_user_is_a_400_naming_the_field():
    response = with_token(token_for(make_user("admin"))).post(TOKENS, {"name": "x", "user": "ghost"}, format="json")

    assert response.status_code == 400
    assert "user" in response.json()
    assert ApiToken.objects.count() == 1


# --- lineage -----------------------------------------------------------------------------------------


def test_revoking_a_token_revokes_every_token_made_with_it_and_with_those():
    admin, other_admin, carol = make_user("admin"), make_user("admin"), make_user(username="carol")
    first_key = token_for(admin)
    first = ApiToken.objects.get(user=admin)
    second = with_token(first_key).post(TOKENS, {"name": "second", "user": other_admin.username}, format="json").json()
    third = with_token(second["token"]).post(TOKENS, {"name": "third", "user": "carol"}, format="json").json()
    unrelated = token_for(carol)

    assert with_token(first_key).delete(f"{TOKENS}{first.pk}/").status_code == 204

    for key in (first_key, second["token"], third["token"]):
        assert with_token(key).get(PROTECTED).status_code == 401
    assert with_token(unrelated).get(PROTECTED).status_code == 200
    revoked = ActivityEntry.objects.filter(action="token.revoked")
    assert sorted((event.object_id, event.data.get("revoked_with")) for event in revoked) == sorted(
        [(str(first.pk), None), (str(second["id"]), first.pk), (str(third["id"]), first.pk)]
    )


def test_revoking_a_revoked_token_again_changes_nothing():
    user = make_user()
    token, _ = ApiToken.issue(user, "old")
    token.revoke()
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at

    assert signed_in(user).delete(f"{TOKENS}{token.pk}/").status_code == 204

    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at
    assert not ActivityEntry.objects.filter(action="token.revoked").exists()


def test_no_token_is_made_with_a_token_revoked_meanwhile():
    """The request authenticated before the revocation committed: the maker is read again, locked, and refused."""
    maker, _ = ApiToken.issue(make_user("admin"), "maker")
    ApiToken.objects.filter(pk=maker.pk).update(revoked_at=timezone.now())

    with pytest.raises(RevokedTokenError):
        ApiToken.issue(maker.user, "late", created_by_token=maker)
    assert ApiToken.objects.count() == 1


# --- scope -------------------------------------------------------------------------------------------


def test_a_read_only_token_reads_but_changes_nothing():
    user = make_user(username="alice")
    created = api_client().post(
        LOGIN, {"username": "alice", "password": PASSWORD, "name": "dashboards", "scope": "read"}, format="json"
    )
    assert (created.status_code, created.json()["scope"]) == (201, "read")
    client = with_token(created.json()["token"])

    assert client.get(PROTECTED).status_code == 200
    assert client.get(TOKENS).status_code == 200
    refused = client.post(PROTECTED, {"name": "nope", "blueprint": "sandbox"}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This token is read-only: it may only read (GET, HEAD, OPTIONS). Use a full-access token to change "
        "anything."
    }
    assert client.delete(f"{TOKENS}{created.json()['id']}/").status_code == 403
    assert ApiToken.objects.get(user=user).revoked_at is None


def test_an_unknown_scope_is_a_400():
    response = signed_in(make_user()).post(TOKENS, {"name": "x", "scope": "admin", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert "scope" in response.json()
    assert not ApiToken.objects.exists()


# --- expiry ------------------------------------------------------------------------------------------


def test_a_token_expires_after_the_days_asked_for_and_is_then_refused():
    make_user(username="alice")
    before = timezone.now()
    created = api_client().post(
        LOGIN, {"username": "alice", "password": PASSWORD, "expires_in_days": 30}, format="json"
    )
    assert created.status_code == 201
    expires_at = datetime.fromisoformat(created.json()["expires_at"])
    assert before + timedelta(days=30) <= expires_at <= timezone.now() + timedelta(days=30)
    client = with_token(created.json()["token"])
    assert client.get(PROTECTED).status_code == 200

    ApiToken.objects.filter(pk=created.json()["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    refused = client.get(PROTECTED)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Token expired."}
    assert signed_in(ApiToken.objects.get().user).get(TOKENS).json()["results"][0]["state"] == "expired"


@pytest.mark.parametrize("days", [0, -3, 366, "soon"])
def test_an_expiry_outside_one_to_365_days_is_a_400(days):
    response = signed_in(make_user()).post(
        TOKENS, {"name": "x", "expires_in_days": days, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert "expires_in_days" in response.json()
    assert not ApiToken.objects.exists()


def test_a_token_made_with_an_expiring_token_expires_no_later_than_it():
    admin = make_user("admin")
    maker, maker_key = ApiToken.issue(admin, "maker", expires_in_days=7)

    forever = with_token(maker_key).post(TOKENS, {"name": "forever"}, format="json").json()
    sooner = with_token(maker_key).post(TOKENS, {"name": "sooner", "expires_in_days": 2}, format="json").json()

    assert datetime.fromisoformat(forever["expires_at"]) == maker.expires_at
    assert datetime.fromisoformat(sooner["expires_at"]) < maker.expires_at


# --- last use ----------------------------------------------------------------------------------------


def test_last_use_is_recorded_at_most_once_a_minute_and_listed():
    user = make_user()
    token, key = ApiToken.issue(user, "ci")
    assert signed_in(user).get(TOKENS).json()["results"][0]["last_used_at"] is None

    with_token(key).get(PROTECTED)
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    with_token(key).get(PROTECTED)

    assert first_use is not None
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use, "no write for a second use within the minute"
    a_while_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=a_while_ago)
    with_token(key).get(PROTECTED)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > a_while_ago
    listed = signed_in(user).get(TOKENS).json()["results"][0]["last_used_at"]
    assert datetime.fromisoformat(listed) == ApiToken.objects.get(pk=token.pk).last_used_at


# --- manage.py create_token --------------------------------------------------------------------------


def test_create_token_command_makes_read_only_and_expiring_tokens():
    user = make_user(username="deployer")

    call_command("create_token", "deployer", "--scope", "read", "--expires-in-days", "10", stdout=io.StringIO())

    token = ApiToken.objects.get(user=user)
    assert token.scope == "read"
    assert timedelta(days=9) < token.expires_at - timezone.now() <= timedelta(days=10)


def test_create_token_command_refuses_an_expiry_out_of_range():
    make_user(username="deployer")

    with pytest.raises(CommandError, match="--expires-in-days must be from 1 to 365"):
        call_command("create_token", "deployer", "--expires-in-days", "400", stdout=io.StringIO())
    assert not ApiToken.objects.exists()

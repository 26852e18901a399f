"""API tokens: obtained with a password (rate-limited), kept only as a hash, listed and revoked by their owner."""

from __future__ import annotations

import hashlib
import io
import secrets

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from portal.activity.models import AuditEvent
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
    event = AuditEvent.objects.get(action="token.created")
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
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk), actor=user).exists()


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
        assert set(token) == {"id", "name", "preview", "created_at", "last_used_at", "revoked_at"}
        assert token["preview"].endswith("_…")


def test_the_tokens_api_creates_a_token_whose_key_is_shown_once():
    user = make_user()
    client = api_client(user)

    response = client.post(TOKENS, {"name": "ci"}, format="json")

    assert response.status_code == 201
    key = response.json()["token"]
    assert with_token(key).get(PROTECTED).status_code == 200
    listed = client.get(TOKENS).json()["results"]
    assert "ci" in {token["name"] for token in listed}
    assert key not in str(listed)


def test_a_token_needs_a_name():
    response = api_client(make_user()).post(TOKENS, {}, format="json")

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
    assert AuditEvent.objects.get(action="token.created").data == {"via": "manage.py create_token"}


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
    assert authenticate(username="admin", password=password).is_superuser

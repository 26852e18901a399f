"""The sign-in limit of `POST /api/v1/auth/token/` and of the login form: failed attempts are counted per client
address and per username in the Django cache (10 a minute by default, the DRF "login" rate); past the limit
the answer is a 429 with Retry-After and no password is checked; the count starts again with the next window.
The clock is moved, never slept on."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from tests.factories import api_client, make_user

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user
WINDOW_START = 1_800_000_000.0  # a multiple of 60: a minute's window starts here
ATTACKER = "198.51.100.7"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The limiter's clock, 5 s into a window; tests move it with clock.move_to(seconds after the start)."""

    class Clock:
        now = WINDOW_START + 5

        def move_to(self, seconds: float) -> None:
            self.now = WINDOW_START + seconds

    fake = Clock()
    monkeypatch.setattr(throttling, "now", lambda: fake.now)
    cache.clear()
    yield fake
    cache.clear()


@pytest.fixture
def password_checks():
    """Every failed password check Django makes (its user_login_failed signal)."""
    checks: list[str] = []

    def receiver(sender, credentials, **kwargs):
        checks.append(credentials.get("username"))

    user_login_failed.connect(receiver)
    yield checks
    user_login_failed.disconnect(receiver)


def api_login(username: str, password: str, address: str = ATTACKER, **extra):
    client = api_client(REMOTE_ADDR=address)
    return client.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def web_login(username: str, password: str, address: str = ATTACKER):
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


def login_rate(rate: str):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": rate}})


# --- the API's token endpoint ---------------------------------------------------------------------


def test_the_token_endpoint_refuses_an_address_after_ten_failures_with_429_and_retry_after(password_checks):
    make_user(username="alice")
    for attempt in range(10):
        assert api_login(f"guess-{attempt}", "wrong").status_code == 401

    refused = api_login("alice", PASSWORD)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"
    assert refused.json()["detail"] == (
        "Too many failed sign-in attempts from this address or for this username. Try again in 55 seconds."
    )
    assert len(password_checks) == 10, "the refused attempt checked no password"
    assert not ApiToken.objects.exists()
    assert api_login("alice", PASSWORD, address="198.51.100.8").status_code == 201


def test_the_token_endpoint_limits_a_username_attacked_from_many_addresses(password_checks):
    make_user(username="alice")
    make_user(username="bob")
    for attempt in range(10):
        assert api_login("alice", f"guess-{attempt}", address=f"203.0.113.{attempt}").status_code == 401

    # Another address, even with the right password: the account's allowance is used up for this minute.
    assert api_login("alice", PASSWORD, address="203.0.113.200").status_code == 429
    assert api_login("ALICE ", "guess", address="203.0.113.201").status_code == 429
    assert len(password_checks) == 10
    # That address itself is not limited.
    assert api_login("bob", PASSWORD, address="203.0.113.200").status_code == 201


def test_the_count_starts_again_with_the_next_window(clock):
    make_user(username="alice")
    for attempt in range(10):
        api_login("alice", f"guess-{attempt}")
    clock.move_to(59)
    refused = api_login("alice", PASSWORD)
    assert refused.status_code == 429 and refused["Retry-After"] == "1"

    clock.move_to(60)

    assert api_login("alice", PASSWORD).status_code == 201


def test_successful_logins_do_not_count_and_others_failures_block_only_at_the_limit():
    make_user(username="alice")
    for _ in range(15):
        assert api_login("alice", PASSWORD).status_code == 201
    for attempt in range(9):
        assert api_login(f"someone-{attempt}", "wrong").status_code == 401

    assert api_login("alice", PASSWORD).status_code == 201  # nine failures of others: alice still gets in

    assert api_login("mallory", "wrong").status_code == 401  # the tenth failure of the address
    assert api_login("alice", PASSWORD).status_code == 429


def test_behind_a_proxy_each_client_is_counted_by_the_address_the_proxy_saw():
    make_user(username="alice")
    proxy = "10.0.0.2"
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        for attempt in range(10):
            # The client forges a first entry; the proxy appends the address it really saw.
            response = api_login(
                f"guess-{attempt}", "wrong", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}, {ATTACKER}"
            )
            assert response.status_code == 401
        assert api_login("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
        assert api_login("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 201


def test_the_limit_follows_the_configured_login_rate():
    with login_rate("3/hour"):
        statuses = [api_login("alice", "wrong").status_code for _ in range(4)]
        retry_after = api_login("alice", "wrong")["Retry-After"]

    assert statuses == [401, 401, 401, 429]
    assert int(retry_after) == 3600 - (WINDOW_START + 5) % 3600


def test_a_malformed_login_rate_is_a_clear_configuration_error():
    with login_rate("ten a minute"), pytest.raises(ImproperlyConfigured, match="must look like 10/min"):
        throttling.login_rate()


def test_parallel_guesses_cannot_slip_past_the_count():
    """Each attempt takes its slot before the password is checked: fifteen at once, ten go through."""
    attempts = [throttling.SignInAttempt(ATTACKER, f"user-{n}") for n in range(15)]

    assert [attempt.allowed for attempt in attempts] == [True] * 10 + [False] * 5
    attempts[0].succeeded()  # one of them had the right password: its slot comes back
    assert throttling.SignInAttempt(ATTACKER, "user-15").allowed
    assert not throttling.SignInAttempt(ATTACKER, "user-16").allowed


# --- the login form --------------------------------------------------------------------------------


def test_the_login_form_refuses_an_address_after_ten_failures_with_a_message_and_429(password_checks):
    make_user(username="alice")
    for attempt in range(10):
        assert web_login(f"guess-{attempt}", "wrong").status_code == 200  # the form again, with its error

    client = Client(REMOTE_ADDR=ATTACKER)
    refused = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"
    assert "Too many failed sign-in attempts. Try again in 55 seconds." in refused.content.decode()
    assert 'value="alice"' in refused.content.decode(), "the form keeps the username"
    assert len(password_checks) == 10
    assert client.get("/").status_code == 302, "not signed in"
    assert web_login("alice", PASSWORD, address="198.51.100.8").status_code == 302


def test_the_login_form_limits_a_username_attacked_from_many_addresses(password_checks):
    make_user(username="alice")
    make_user(username="bob")
    for attempt in range(10):
        assert web_login("alice", f"guess-{attempt}", address=f"203.0.113.{attempt}").status_code == 200

    assert web_login("alice", PASSWORD, address="203.0.113.200").status_code == 429
    assert len(password_checks) == 10
    assert web_login("bob", PASSWORD, address="203.0.113.200").status_code == 302


def test_the_login_form_lets_the_user_in_again_after_the_window(clock):
    make_user(username="alice")
    for attempt in range(10):
        web_login("alice", f"guess-{attempt}")
    assert web_login("alice", PASSWORD).status_code == 429

    clock.move_to(60)

    assert web_login("alice", PASSWORD).status_code == 302


def test_the_form_and_the_api_share_one_allowance():
    make_user(username="alice")
    for attempt in range(5):
        assert api_login("alice", f"api-guess-{attempt}").status_code == 401
        assert web_login("alice", f"form-guess-{attempt}").status_code == 200

    assert web_login("alice", PASSWORD).status_code == 429
    assert api_login("alice", PASSWORD).status_code == 429


def test_successful_form_logins_do_not_count():
    make_user(username="alice")
    for _ in range(15):
        assert web_login("alice", PASSWORD).status_code == 302


def test_an_incomplete_form_checks_no_password_and_does_not_count(password_checks):
    make_user(username="alice")
    for _ in range(15):
        assert web_login("alice", "").status_code == 200

    assert password_checks == []
    assert web_login("alice", PASSWORD).status_code == 302

"""The sign-in limit of `POST /api/v1/auth/token/` and of the login form: failed attempts are counted per client
address and per username in the "signin" cache (10 a minute by default, the DRF "login" rate), which every web
process shares; past the limit the answer is a 429 with Retry-After and no password is checked; the count starts
again with the next window. The clock is moved, never slept on."""

from __future__ import annotations

import json
import os
import runpy
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from portal.accounts import throttling
from portal.accounts.models import ApiToken
from tests.factories import api_client, make_user
from tests.support.stack import REPO, database_url

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
    caches[throttling.CACHE].clear()
    yield fake
    caches[throttling.CACHE].clear()


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


# --- several web processes (gunicorn's workers) -----------------------------------------------------


class SignInProcess:
    """A process of its own that signs in through the token endpoint (tests/support/signin_process.py), as one of
    gunicorn's workers does: its own memory, the test database, the limiter's clock 5 s into the test window."""

    def __init__(self, log: Path) -> None:
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.test_settings",
            "DATABASE_URL": database_url(),
            "SIGNIN_CLOCK": str(WINDOW_START + 5),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.signin_process"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def send_attempt(self, username: str, password: str, address: str) -> None:
        self.send(json.dumps({"username": username, "password": password, "address": address}))

    def answer(self) -> str:
        line = self.process.stdout.readline()
        assert line, f"the sign-in process stopped: {self.log.read_text()}"
        return line.strip()

    def sign_in(self, username: str, password: str, address: str = ATTACKER) -> int:
        self.send_attempt(username, password, address)
        return int(self.answer())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def web_processes(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two processes signing in against the test database, each answering once Django is set up."""
    logs = tmp_path_factory.mktemp("signin")
    processes = [SignInProcess(logs / f"process-{n}.log") for n in (1, 2)]
    for process in processes:
        process.send("go")
    for process in processes:
        assert process.answer() == "ready"
    yield processes
    for process in processes:
        process.stop()


@pytest.mark.django_db(transaction=True)  # no test transaction holding the database: the processes write to it
def test_the_count_of_an_address_is_shared_by_every_web_process(web_processes):
    first, second = web_processes
    statuses = [web_processes[n % 2].sign_in(f"guess-{n}", "wrong") for n in range(10)]

    assert statuses == [401] * 10  # five failures in each process
    assert first.sign_in("mallory", "wrong") == 429
    assert second.sign_in("mallory", "wrong") == 429
    assert second.sign_in("mallory", "wrong", address="198.51.100.8") == 401


@pytest.mark.django_db(transaction=True)
def test_the_count_of_a_username_is_shared_by_every_web_process(web_processes):
    first, second = web_processes
    statuses = [web_processes[n % 2].sign_in("alice", "wrong", address=f"203.0.113.{n}") for n in range(10)]

    assert statuses == [401] * 10
    assert first.sign_in("alice", "wrong", address="203.0.113.200") == 429
    assert second.sign_in("ALICE ", "wrong", address="203.0.113.201") == 429
    assert second.sign_in("bob", "wrong", address="203.0.113.202") == 401


@pytest.mark.django_db(transaction=True)
def test_guesses_sent_to_two_processes_at_once_cannot_slip_past_the_count(web_processes):
    """Fifteen failures sent to each process before either answers: the two count at the same time, and exactly
    ten of the thirty get a password check."""
    for n in range(15):
        for process in web_processes:
            process.send_attempt(f"guess-{n}", "wrong", ATTACKER)

    statuses = Counter(int(process.answer()) for process in web_processes for _ in range(15))

    assert statuses == {401: 10, 429: 20}


def test_migrate_makes_the_shared_count_table_even_while_redis_holds_the_counts(tmp_path):
    """`make run` and docker compose's migrate service run migrate: the table is there for whichever cache the
    settings name later, and createcachetable (which makes only the tables CACHES names) is not needed."""
    database = tmp_path / "fresh.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.test_settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "CACHE_URL": "redis://127.0.0.1:1/0",  # never reached: migrate reads no cache
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)

    with sqlite3.connect(database) as db:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({settings.SIGNIN_CACHE_TABLE})")]
    assert columns == ["cache_key", "value", "expires"]


@pytest.mark.parametrize(
    ("cache_url", "backend"),
    [
        ("", "portal.accounts.counter_cache.DatabaseCounterCache"),
        ("redis://redis:6379/1", "django.core.cache.backends.redis.RedisCache"),
    ],
    ids=["embedded", "redis"],
)
def test_the_counts_live_in_a_cache_every_process_shares(tmp_path, cache_url, backend):
    env = {"PATH": os.environ["PATH"], "LAUNCHPAD_DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 50}
    with mock.patch.dict(os.environ, env | ({"CACHE_URL": cache_url} if cache_url else {}), clear=True):
        caches_setting = runpy.run_path(str(REPO / "portal" / "settings.py"))["CACHES"]

    assert caches_setting[throttling.CACHE]["BACKEND"] == backend
    assert caches_setting["default"]["BACKEND"] != "django.core.cache.backends.db.DatabaseCache"

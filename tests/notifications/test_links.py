"""Links in e-mails and webhook payloads go where the portal is: LAUNCHPAD_BASE_URL, or unset, the web server on
this machine at PORT, which `make run` gives the worker and beat (who send the e-mails) as it gives the web server.
They once pointed to port 8000 whatever port the portal listened on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core import mail

from portal import launcher
from portal.notifications.services import notify
from tests.factories import make_environment, make_user

BASE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def base_url_of(env: dict[str, str]) -> str:
    """LAUNCHPAD_BASE_URL as a process started with ``env`` reads it."""
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.LAUNCHPAD_BASE_URL)"],
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings", "SECRET_KEY": "x" * 50},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def without_base_url(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("LAUNCHPAD_BASE_URL", "PORT")}
    return {**env, **values}


def test_every_process_make_run_starts_on_another_port_links_to_that_port(monkeypatch, tmp_path):
    monkeypatch.delenv("LAUNCHPAD_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("LAUNCHPAD_DATA_DIR", str(tmp_path))

    assert base_url_of(launcher.local_environment()) == "http://127.0.0.1:8123"


def test_without_a_port_the_links_go_to_make_runs_default_port():
    assert base_url_of(without_base_url()) == "http://127.0.0.1:8000"


def test_the_configured_base_url_wins_over_the_port():
    env = without_base_url(PORT="8123", LAUNCHPAD_BASE_URL="https://launchpad.spotmusic.example/")

    assert base_url_of(env) == "https://launchpad.spotmusic.example"


@pytest.mark.django_db
def test_the_links_of_an_email_use_the_base_url(settings, django_capture_on_commit_callbacks):
    settings.LAUNCHPAD_BASE_URL = "http://127.0.0.1:8715"
    owner = make_user(username="dana")
    owner.email = "dana@spotmusic.invalid"
    owner.save()
    environment = make_environment(owner=owner, name="dana-env")

    with django_capture_on_commit_callbacks(execute=True):
        notify("drift.found", environment, resources=[{"address": "a", "attributes": []}])

    [message] = mail.outbox
    assert "http://127.0.0.1:8715/environments/dana-env/" in message.body
    assert "http://127.0.0.1:8715/notifications/" in message.body
    assert ":8000" not in message.body

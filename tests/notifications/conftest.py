"""Fixtures of the notification tests: a local receiver, allow-listed explicitly, and recorded task queues."""

from __future__ import annotations

import pytest

from tests.notifications.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A webhook receiver on 127.0.0.1; the test allow-lists that address (private addresses are refused)."""
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["127.0.0.1"]
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def queued_deliveries(monkeypatch) -> list[int]:
    """The delivery ids given to ``deliver_webhook.delay`` (no broker)."""
    queued: list[int] = []
    monkeypatch.setattr("portal.notifications.tasks.deliver_webhook.delay", queued.append)
    return queued

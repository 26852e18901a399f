"""Fixtures of the audit tests."""

from __future__ import annotations

import itertools

import pytest

_suffixes = itertools.count(1)


@pytest.fixture
def enqueued_audits(monkeypatch):
    """The audit run ids given to ``run_live_audit.delay``, which alone is replaced by a recorder (no broker)."""
    enqueued: list[int] = []
    monkeypatch.setattr("portal.audit.tasks.run_live_audit.delay", enqueued.append)
    return enqueued


@pytest.fixture
def unique():
    """A name no other test uses in the shared emulator: ``unique("role")`` → ``role-<n>-<pid>``."""
    import os

    return lambda prefix: f"{prefix}-{next(_suffixes)}-{os.getpid()}"

"""Fixtures of the run tests."""

from __future__ import annotations

import pytest
from django.conf import settings

from portal.jobs import heartbeat, output
from provisioning import engine, toolchain
from tests.factories import record_enqueued_runs


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """The run ids given to ``execute_run.delay``, which alone is replaced by a recorder so no task reaches a broker.

    Everything else is real: the database, the on-commit dispatch, the choice of the run to start.
    """
    return record_enqueued_runs(monkeypatch)


@pytest.fixture
def worker(monkeypatch, tmp_path):
    """execute_run in this process: a configured state store, no Terraform toolchain, no background flushes.

    Returns the calls of engine.recover_state, which stands in: ``("recover", left)`` each.
    """
    monkeypatch.setitem(settings.LAUNCHPAD, "STATE_BUCKET", "state")
    monkeypatch.setitem(settings.LAUNCHPAD, "LOCK_TABLE", "lock")
    monkeypatch.setitem(settings.LAUNCHPAD, "WORK_DIR", tmp_path)
    monkeypatch.setattr(toolchain, "prepare", lambda: None)
    # Events are written by the task's own thread at the end, not by the writer's thread mid-test.
    monkeypatch.setattr(output, "FLUSH_SECONDS", 3600)
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 3600)
    calls: list[tuple] = []
    monkeypatch.setattr(engine, "recover_state", lambda request, left, *args: calls.append(("recover", left)))
    return calls

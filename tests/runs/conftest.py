"""Fixtures of the run tests."""

from __future__ import annotations

import pytest

from tests.factories import record_enqueued_runs


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """The run ids given to ``execute_run.delay``, which alone is replaced by a recorder so no task reaches a broker.

    Everything else is real: the database, the on-commit dispatch, the choice of the run to start.
    """
    return record_enqueued_runs(monkeypatch)

"""A queued run whose message never reached a worker (the web killed between its commit and the enqueue, a broker
that lost it) is sent again by the beat sweep, once nothing else of its environment is under way for long enough."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from portal.runs.models import Run
from portal.runs.tasks import execute_run, redispatch_stalled_runs
from tests.factories import make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

AFTER = timedelta(seconds=settings.LAUNCHPAD["REDISPATCH_AFTER_SECONDS"])


@pytest.fixture
def environment():
    return make_environment(owner=make_user(username="owner"))


def ago(delta: timedelta):
    return timezone.now() - delta


def queued(environment, waited: timedelta, **fields) -> Run:
    """A run committed ``waited`` ago whose message went nowhere (made directly: nothing is enqueued)."""
    return make_run(environment, created_at=ago(waited), **fields)


def sweep(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return redispatch_stalled_runs()


def test_a_run_queued_longer_than_the_threshold_with_nothing_under_way_is_sent_again(
    environment, enqueued, django_capture_on_commit_callbacks
):
    run = queued(environment, AFTER + timedelta(seconds=5))

    assert sweep(django_capture_on_commit_callbacks) == 1

    assert enqueued == [run.pk]
    assert "dispatched again" in run.events.last().message
    assert Run.objects.get(pk=run.pk).status == "queued", "the sweep only enqueues; a worker claims the run"


def test_a_run_queued_for_less_than_the_threshold_is_left_to_its_message(
    environment, enqueued, django_capture_on_commit_callbacks
):
    queued(environment, AFTER - timedelta(seconds=5))

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert enqueued == []


def test_a_run_waiting_behind_an_active_run_is_not_sent(environment, enqueued, django_capture_on_commit_callbacks):
    make_run(environment, status="applying", created_at=ago(AFTER * 3), heartbeat_at=timezone.now())
    queued(environment, AFTER * 2)
    make_run(make_environment(), status="awaiting_approval", created_at=ago(AFTER * 3))

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert enqueued == []


def test_only_the_next_run_of_an_environment_is_sent(environment, enqueued, django_capture_on_commit_callbacks):
    first = queued(environment, AFTER * 3)
    queued(environment, AFTER * 2)

    assert sweep(django_capture_on_commit_callbacks) == 1
    assert enqueued == [first.pk]


def test_the_wait_counts_from_the_end_of_the_environments_last_run(
    environment, enqueued, django_capture_on_commit_callbacks
):
    # Queued long ago behind a run that has just ended: that run's worker dispatches it; no duplicate yet.
    make_run(environment, status="succeeded", created_at=ago(AFTER * 4), finished_at=ago(timedelta(seconds=1)))
    queued(environment, AFTER * 3)

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert enqueued == []


def test_the_wait_counts_from_the_approval_of_an_approved_run(
    environment, enqueued, django_capture_on_commit_callbacks
):
    queued(environment, AFTER * 3, approved_at=ago(timedelta(seconds=1)), approved_by=make_user("approver"))

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert enqueued == []


def test_a_run_sent_again_is_not_sent_at_every_sweep(environment, enqueued, django_capture_on_commit_callbacks):
    run = queued(environment, AFTER * 2)

    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)

    assert enqueued == [run.pk], "the next try waits the threshold again, counted from the last one"


def test_a_duplicate_message_does_nothing_to_a_run_another_worker_holds(environment, monkeypatch):
    run = make_run(environment, status="running", heartbeat_at=timezone.now(), worker="other:1")
    monkeypatch.setattr("portal.runs.execution.toolchain.prepare", lambda: pytest.fail("the run was taken twice"))

    execute_run(run.pk)

    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.worker) == ("running", "other:1")


def test_the_sweep_is_on_beats_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["redispatch-stalled-runs"]
    assert entry["task"] == redispatch_stalled_runs.name
    assert entry["schedule"] <= 60

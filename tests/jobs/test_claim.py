"""One claim for every kind of job (portal.jobs.models.Job.claim): a queued job is taken by one worker only, a
second claim gets nothing, a finished one is never taken; each kind adds only its own rule on when it may start."""

from __future__ import annotations

import pytest
from django.core import mail

from portal.audit.choices import AuditRunStatus, AuditTrigger
from portal.audit.models import AuditRun, create_audit_run
from portal.environments.choices import DriftCheckStatus, EnvironmentStatus
from portal.environments.models import DriftCheck
from portal.runs.models import Run
from tests.factories import make_environment, make_run, record_enqueued_runs, stale_heartbeat

pytestmark = pytest.mark.django_db


def ready_environment(name: str):
    environment = make_environment(name=name)
    environment.status = EnvironmentStatus.READY
    environment.save()
    return environment


def queued_run() -> Run:
    return make_run(ready_environment("claim-run"), kind="plan")


def queued_drift_check() -> DriftCheck:
    return DriftCheck.objects.create(environment=ready_environment("claim-drift"))


def queued_audit() -> AuditRun:
    return create_audit_run(None, AuditTrigger.SCHEDULE)


KINDS = {
    "run": (queued_run, "running", "failed"),
    "drift check": (queued_drift_check, DriftCheckStatus.RUNNING, DriftCheckStatus.FAILED),
    "audit": (queued_audit, AuditRunStatus.RUNNING, AuditRunStatus.FAILED),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_queued_job_of_every_kind_is_claimed_once(kind):
    make, working, _ = KINDS[kind]
    job = make()

    claimed = type(job).claim(job.pk, "host:1")

    assert (claimed.pk, claimed.status, claimed.worker) == (job.pk, working, "host:1")
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    assert type(job).claim(job.pk, "host:2") is None, "a second worker gets nothing"
    assert type(job).objects.get(pk=job.pk).worker == "host:1"


@pytest.mark.parametrize("kind", KINDS)
def test_a_finished_job_of_every_kind_is_not_claimed(kind):
    make, _, failed = KINDS[kind]
    job = make()
    job.fail("Failed before any worker came.")

    assert type(job).claim(job.pk, "host:1") is None
    assert type(job).objects.get(pk=job.pk).status == failed


def test_a_job_that_is_not_there_is_not_claimed():
    assert Run.claim(999_999, "host:1") is None


def test_a_run_queued_behind_another_of_its_environment_waits():
    environment = ready_environment("claim-queue")
    first, second = make_run(environment, kind="plan"), make_run(environment, kind="plan")

    assert Run.claim(second.pk, "host:1") is None, "not its turn"
    assert Run.claim(first.pk, "host:1").status == "running"
    assert Run.claim(second.pk, "host:2") is None, "the first holds the environment"
    assert Run.objects.get(pk=second.pk).status == "queued"


def test_a_drift_check_of_an_environment_with_a_run_under_way_is_failed_at_its_claim():
    check = queued_drift_check()
    run = make_run(check.environment, kind="apply")

    assert DriftCheck.claim(check.pk, "host:1") is None

    check.refresh_from_db()
    assert check.status == DriftCheckStatus.FAILED
    assert check.error == f"Apply run #{run.pk} of claim-drift was under way; drift is checked again after it."


def test_a_run_whose_worker_was_lost_is_failed_when_its_message_comes_again(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Its owner is told and its environment's next run is sent (job_lost), as when the reaper fails it."""
    enqueued = record_enqueued_runs(monkeypatch)
    environment = ready_environment("claim-lost")
    environment.owner.email = "owner@spotmusic.invalid"
    environment.owner.save()
    lost = make_run(environment, status="running", worker="gone:1", heartbeat_at=stale_heartbeat())
    waiting = make_run(environment, kind="plan")

    with django_capture_on_commit_callbacks(execute=True):
        assert Run.claim(lost.pk, "host:1") is None

    lost.refresh_from_db()
    assert lost.status == "failed" and "(gone:1) stopped reporting" in lost.error
    assert [message.subject for message in mail.outbox] == [f"[Launchpad] Apply run #{lost.pk} of claim-lost failed"]
    assert enqueued == [waiting.pk]


def test_a_drift_check_whose_worker_was_lost_is_left_to_the_reaper():
    check = queued_drift_check()
    DriftCheck.objects.filter(pk=check.pk).update(
        status=DriftCheckStatus.RUNNING, worker="gone:1", heartbeat_at=stale_heartbeat()
    )

    assert DriftCheck.claim(check.pk, "host:1") is None
    assert DriftCheck.objects.get(pk=check.pk).status == DriftCheckStatus.RUNNING

"""One reaper for every kind of job: a run, a drift check or an audit run whose worker stopped reporting is failed
with the same reason, by the same beat task (portal.jobs.tasks.reap_lost_jobs), as is a drift check or an audit no
worker ever took. A worker keeps the job it holds alive with its heartbeat."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.choices import AuditRunStatus, AuditTrigger
from portal.audit.models import AuditRun, create_audit_run
from portal.environments.choices import DriftCheckStatus, EnvironmentStatus
from portal.environments.models import DriftCheck, Environment
from portal.environments.services import request_drift_check
from portal.jobs import heartbeat
from portal.jobs.heartbeat import Heartbeat
from portal.jobs.models import UNTAKEN_AFTER
from portal.jobs.tasks import reap_lost_jobs
from tests.factories import make_environment, make_run, record_enqueued_runs, stale_heartbeat
from tests.support.workspaces import left_behind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    record_enqueued_runs(monkeypatch)
    monkeypatch.setattr("portal.environments.tasks.check_drift.delay", lambda check_id: None)


def ready_environment(name: str) -> Environment:
    environment = make_environment(name=name)
    environment.status = EnvironmentStatus.READY
    environment.save()
    return environment


def running_drift_check(environment: Environment, worker: str, started_at, heartbeat_at) -> DriftCheck:
    return DriftCheck.objects.create(
        environment=environment,
        status=DriftCheckStatus.RUNNING,
        worker=worker,
        started_at=started_at,
        heartbeat_at=heartbeat_at,
    )


def test_a_drift_check_whose_worker_was_killed_is_failed_by_heartbeat_like_a_run(work_dir):
    """Killed mid-check: still "checking", its heartbeat older than the timeout; it no longer waits 20 minutes."""
    environment = ready_environment("lost-drift")
    check = running_drift_check(environment, "gone:1", started_at=stale_heartbeat(), heartbeat_at=stale_heartbeat())
    left = left_behind(work_dir, f"drift-{check.pk}-abcd1234")

    assert reap_lost_jobs() == 1

    check.refresh_from_db()
    assert check.status == DriftCheckStatus.FAILED
    assert check.error.startswith("The worker running this drift check (gone:1) stopped reporting at ")
    assert "is taken as lost" in check.error
    assert not left.exists(), "its workspace goes with it"
    assert reap_lost_jobs() == 0, "failed once"
    assert request_drift_check(environment, environment.owner).status == "queued", "drift is checked again"


def test_a_drift_check_whose_worker_reports_is_left_alone(work_dir):
    environment = ready_environment("live-drift")
    # A long refresh, its worker still reporting.
    check = running_drift_check(
        environment, "alive:1", started_at=timezone.now() - timedelta(hours=1), heartbeat_at=timezone.now()
    )
    left = left_behind(work_dir, f"drift-{check.pk}-abcd1234")

    assert reap_lost_jobs() == 0

    assert DriftCheck.objects.get(pk=check.pk).status == DriftCheckStatus.RUNNING
    assert left.is_dir()


def test_an_audit_whose_worker_was_lost_is_failed_with_the_same_reason():
    audit = create_audit_run(None, AuditTrigger.SCHEDULE)
    AuditRun.objects.filter(pk=audit.pk).update(
        status=AuditRunStatus.RUNNING, worker="gone:2", started_at=stale_heartbeat(), heartbeat_at=stale_heartbeat()
    )

    assert reap_lost_jobs() == 1

    audit.refresh_from_db()
    assert audit.status == AuditRunStatus.FAILED
    assert audit.error.startswith("The worker running this audit (gone:2) stopped reporting at ")
    assert create_audit_run(None, AuditTrigger.ON_DEMAND).status == AuditRunStatus.QUEUED, (
        "the account is audited again"
    )


def test_the_three_kinds_are_reaped_in_one_round_with_one_rule():
    environment = make_environment(name="lost-all")
    environment.status = EnvironmentStatus.PROVISIONING
    environment.save()
    run = make_run(
        environment, status="applying", worker="gone:3", heartbeat_at=stale_heartbeat(), started_at=stale_heartbeat()
    )
    check = DriftCheck.objects.create(
        environment=ready_environment("lost-all-2"),
        status=DriftCheckStatus.RUNNING,
        worker="gone:3",
        heartbeat_at=stale_heartbeat(),
    )
    audit = create_audit_run(None, AuditTrigger.SCHEDULE)
    AuditRun.objects.filter(pk=audit.pk).update(
        status=AuditRunStatus.RUNNING, worker="gone:3", heartbeat_at=stale_heartbeat()
    )

    assert reap_lost_jobs() == 3

    errors = [
        kind.objects.get(pk=job.pk).error for kind, job in ((type(run), run), (DriftCheck, check), (AuditRun, audit))
    ]
    assert [error.split(" (gone:3) ")[0] for error in errors] == [
        "The worker running this run",
        "The worker running this drift check",
        "The worker running this audit",
    ]
    assert Environment.objects.get(pk=environment.pk).status == EnvironmentStatus.FAILED


def test_a_drift_check_or_an_audit_no_worker_took_is_failed_but_a_queued_run_waits():
    long_ago = timezone.now() - UNTAKEN_AFTER - timedelta(minutes=1)
    environment = ready_environment("untaken")
    check = DriftCheck.objects.create(environment=environment)
    DriftCheck.objects.filter(pk=check.pk).update(created_at=long_ago)
    audit = create_audit_run(None, AuditTrigger.SCHEDULE)
    AuditRun.objects.filter(pk=audit.pk).update(created_at=long_ago)
    run = make_run(make_environment(), kind="plan", created_at=long_ago)  # sent again, never failed, for waiting

    assert reap_lost_jobs() == 2

    assert "No worker took this drift check within 20 minutes" in DriftCheck.objects.get(pk=check.pk).error
    assert "No worker took this audit within 20 minutes" in AuditRun.objects.get(pk=audit.pk).error
    assert type(run).objects.get(pk=run.pk).status == "queued"


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_the_heartbeat_of_the_job_it_holds_fresh(monkeypatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    check = DriftCheck.objects.create(
        environment=ready_environment("beating"), status=DriftCheckStatus.RUNNING, heartbeat_at=stale_heartbeat()
    )

    with Heartbeat(check):
        deadline = time.monotonic() + 10
        while DriftCheck.objects.get(pk=check.pk).is_lost() and time.monotonic() < deadline:
            time.sleep(0.05)

    assert not DriftCheck.objects.get(pk=check.pk).is_lost()
    assert reap_lost_jobs() == 0

"""What a worker killed mid-run leaves is cleared, and what Terraform finished without it is taken in.

Its workspace (a saved plan with the secrets, Terraform's logs, maybe errored.tfstate) goes once its run is failed
(the reaper) or at the next start of a worker, the state Terraform could not save kept encrypted on the run first;
the workspace of a run another live worker runs, or one a Terraform still works in, stays. An apply that finds
nothing to change settles the environment from the state: ready, with its outputs, even after it was failed.
Fast: workspaces are laid out by hand and Terraform's part (provisioning.engine) stands in.
"""

from __future__ import annotations

import json

import pytest
from celery.signals import worker_ready
from django.utils import timezone

from portal import crypto
from portal.activity.models import ActivityEntry
from portal.environments.choices import DriftCheckStatus, EnvironmentStatus
from portal.environments.models import DriftCheck, Environment, LifecycleError
from portal.environments.services import request_drift_check
from portal.jobs import workspaces
from portal.jobs.tasks import reap_lost_jobs
from portal.runs.models import Run, runs_with_left_state
from portal.runs.tasks import execute_run
from provisioning import engine
from tests.factories import api_client, make_environment, make_run, stale_heartbeat
from tests.support.workspaces import LOCK_ID, SECRET, UNRELEASED_LOCK_LOG, left_behind, terraform_still_running

pytestmark = pytest.mark.django_db

STATE = json.dumps({"version": 4, "serial": 5, "lineage": "l-9", "resources": [], "secret": SECRET})


def lost_run(environment: Environment) -> Run:
    """An apply whose worker was killed: still "applying", its heartbeat older than the timeout."""
    environment.status = EnvironmentStatus.PROVISIONING
    environment.save()
    return make_run(
        environment, status="applying", worker="gone:1", heartbeat_at=stale_heartbeat(), started_at=stale_heartbeat()
    )


def messages(run: Run) -> str:
    return "\n".join(run.events.values_list("message", flat=True))


# --- the reaper ---------------------------------------------------------------------------------------------------
def test_a_lost_run_is_failed_and_its_workspace_goes_with_the_errored_state_kept_encrypted(work_dir):
    run = lost_run(make_environment(name="rel-a"))
    left = left_behind(work_dir, f"run-{run.pk}-abcd1234", errored=STATE, log=UNRELEASED_LOCK_LOG)

    assert reap_lost_jobs() == 1

    run.refresh_from_db()
    assert run.status == "failed" and "stopped reporting" in run.error
    assert not left.exists(), "the plan, the logs and errored.tfstate are gone"
    assert list(work_dir.iterdir()) == []
    assert crypto.decrypt_bytes(run.encrypted_kept_state) == STATE.encode()
    assert SECRET.encode() not in bytes(run.encrypted_kept_state)
    assert run.unreleased_lock_id == LOCK_ID, "read from Terraform's log in the workspace"
    assert "Launchpad kept it (encrypted, on this run) and pushes it before the next run of rel-a" in messages(run)
    assert ActivityEntry.objects.get(action="run.state_kept").object_id == str(run.pk)
    # The next run of the environment pushes it first (portal.jobs.terraform.recover_state).
    assert [kept.pk for kept in runs_with_left_state(run.environment)] == [run.pk]
    body = api_client(run.environment.owner).get(f"/api/v1/runs/{run.pk}/").content.decode()
    assert SECRET not in messages(run) + body


def test_a_workspace_terraform_still_works_in_stays_until_terraform_ends(work_dir):
    run = lost_run(make_environment(name="rel-a"))
    left = left_behind(work_dir, f"run-{run.pk}-abcd1234", errored=STATE)

    with terraform_still_running(left):
        assert reap_lost_jobs() == 1
        assert Run.objects.get(pk=run.pk).status == "failed"
        assert left.is_dir(), "Terraform may yet write errored.tfstate there"
        assert Run.objects.get(pk=run.pk).encrypted_kept_state is None

    assert reap_lost_jobs() == 0, "the next round fails nothing more..."
    assert not left.exists(), "...and removes the workspace Terraform no longer uses"
    assert crypto.decrypt_bytes(Run.objects.get(pk=run.pk).encrypted_kept_state) == STATE.encode()


# --- the sweep ----------------------------------------------------------------------------------------------------
def test_the_sweep_removes_the_workspaces_of_runs_no_longer_under_way_and_leaves_those_under_way(work_dir):
    environment = make_environment(name="rel-a")
    succeeded = make_run(environment, status="succeeded")
    failed = make_run(environment, status="failed")
    lost = make_run(environment, status="applying", worker="gone:1", heartbeat_at=stale_heartbeat())
    live = make_run(make_environment(), status="applying", worker="other:2", heartbeat_at=timezone.now())
    checking = DriftCheck.objects.create(environment=make_environment(), status=DriftCheckStatus.RUNNING)
    checked = DriftCheck.objects.create(environment=environment, status=DriftCheckStatus.CLEAN)
    for operation, pk in [
        ("run", succeeded.pk),
        ("run", failed.pk),
        ("run", lost.pk),
        ("run", 987654),  # no such run any more
        ("run", live.pk),
        ("drift", checking.pk),
        ("drift", checked.pk),
    ]:
        left_behind(work_dir, f"{operation}-{pk}-abcd1234")
    (work_dir / "bootstrap").mkdir()
    (work_dir / "recovery").mkdir()

    assert workspaces.sweep_workspaces() == 5

    assert sorted(path.name for path in work_dir.iterdir()) == sorted(
        ["bootstrap", "recovery", f"run-{live.pk}-abcd1234", f"drift-{checking.pk}-abcd1234"]
    )


def test_a_state_with_no_run_to_keep_it_on_goes_with_its_workspace_and_is_reported(work_dir, caplog):
    left = left_behind(work_dir, "run-987654-abcd1234", errored=STATE)

    assert workspaces.sweep_workspaces() == 1

    assert not left.exists()
    assert "no run of Launchpad to keep it on" in caplog.text and SECRET not in caplog.text


def test_a_workspace_that_cannot_be_removed_does_not_keep_the_others(work_dir, monkeypatch):
    environment = make_environment()
    first, second = make_run(environment, status="failed"), make_run(environment, status="failed")
    stuck = left_behind(work_dir, f"run-{first.pk}-abcd1234", errored=STATE)
    other = left_behind(work_dir, f"run-{second.pk}-abcd1234")
    keep = workspaces._keep_errored_state

    def refuse(left, errored):
        if left.operation_id == first.pk:
            raise RuntimeError("database unreachable")
        keep(left, errored)

    monkeypatch.setattr(workspaces, "_keep_errored_state", refuse)

    assert workspaces.sweep_workspaces() == 1

    assert stuck.is_dir(), "its state could not be kept: it stays, for the next sweep"
    assert not other.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_sweeps_the_workspaces_left_behind_when_it_starts(work_dir):
    environment = make_environment(name="rel-a")
    failed = make_run(environment, status="failed")
    left = left_behind(work_dir, f"run-{failed.pk}-abcd1234", errored=STATE)

    worker_ready.send(sender=None)  # what Celery sends once a worker is up

    assert not left.exists()
    assert crypto.decrypt_bytes(Run.objects.get(pk=failed.pk).encrypted_kept_state) == STATE.encode()


# --- the environment after an apply with nothing to change --------------------------------------------------------
def planned(has_changes: bool) -> engine.PlanOutcome:
    summary = {"add": 0, "change": 0, "destroy": 0, "replace": 0, "resources": [], "stateful_losses": []}
    return engine.PlanOutcome(has_changes=has_changes, summary=summary, plan=b"plan")


@pytest.fixture
def unchanged(worker, monkeypatch) -> list:
    """Terraform's plan finds nothing to change; the state holds the environment's 70 resources and outputs."""
    monkeypatch.setattr(engine, "plan", lambda *args, **kwargs: planned(False))
    reads: list = []

    def applied_state(request, toolchain, work_dir, sink, workspace=None):
        reads.append(workspace)
        return engine.AppliedState(resources=70, outputs={"ecs_cluster_name": "spotmusic-rel-a"})

    monkeypatch.setattr(engine, "applied_state", applied_state)
    return reads


def run_on_a_failed_environment(kind: str) -> tuple[Run, Environment]:
    """A ``kind`` run of environment rel-a, failed before, carried out by the worker; both as the run left them."""
    environment = make_environment(name="rel-a")
    environment.status = EnvironmentStatus.FAILED
    environment.save()
    run = make_run(environment, kind=kind)

    execute_run(run.pk)

    return Run.objects.get(pk=run.pk), Environment.objects.get(pk=environment.pk)


def test_an_apply_with_nothing_to_change_makes_a_failed_environment_ready_with_its_outputs(unchanged):
    run, environment = run_on_a_failed_environment("apply")

    assert run.status == "succeeded" and run.has_changes is False
    assert environment.status == "ready"
    assert environment.outputs == {"ecs_cluster_name": "spotmusic-rel-a"}
    assert len(unchanged) == 1 and isinstance(unchanged[0], engine.RunWorkspace), "read in the plan's workspace"
    assert request_drift_check(environment, environment.owner).status == "queued", "drift checks work again"


def test_a_plan_run_with_nothing_to_change_leaves_the_environment_as_it_was(unchanged):
    _, environment = run_on_a_failed_environment("plan")

    assert environment.status == "failed" and environment.outputs == {}
    assert unchanged == [], "a plan run reads no state"


def test_a_destroy_with_nothing_to_destroy_leaves_the_environment_destroyed(unchanged):
    _, environment = run_on_a_failed_environment("destroy")

    assert environment.status == "destroyed" and environment.destroyed_at is not None


# --- the status rules ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["new", "provisioning", "ready", "drifted", "failed", "destroyed"])
def test_an_apply_that_leaves_resources_makes_the_environment_ready(status):
    environment = make_environment()
    environment.status = status
    environment.applied({"vpc_id": "vpc-1"}, holds_resources=True)

    environment.refresh_from_db()
    assert (environment.status, environment.outputs) == ("ready", {"vpc_id": "vpc-1"})


def test_an_apply_cannot_settle_an_environment_being_destroyed():
    environment = make_environment()
    environment.status = EnvironmentStatus.DESTROYING
    environment.save()

    with pytest.raises(LifecycleError, match="is being destroyed"):
        environment.applied({}, holds_resources=True)
    assert Environment.objects.get(pk=environment.pk).status == "destroying"


@pytest.mark.parametrize(
    ("before", "after"),
    [("provisioning", "failed"), ("destroying", "failed"), ("ready", "ready"), ("new", "new"), ("failed", "failed")],
)
def test_a_failed_run_fails_only_an_environment_it_was_changing(before, after):
    environment = make_environment()
    environment.status = before
    environment.save()
    environment.run_failed()

    assert Environment.objects.get(pk=environment.pk).status == after


def test_a_second_destroy_leaves_the_first_ones_moment():
    environment = make_environment()
    assert environment.destroyed() is True
    first = Environment.objects.get(pk=environment.pk).destroyed_at

    assert environment.destroyed() is False
    assert Environment.objects.get(pk=environment.pk).destroyed_at == first

"""A run that loses AWS mid-way fails with a clear reason and keeps what Terraform could not save; the next run of
the environment (or drift check) first releases the stale lock and pushes the kept state, and refuses what is not
safe. Fast: the worker's task runs in the test, Terraform's part (provisioning.engine) stands in.
The whole story against the emulator behind a proxy taken down mid-apply: tests/integration/test_aws_outage.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from django.conf import settings

from portal import crypto
from portal.activity.models import ActivityEntry
from portal.environments.choices import EnvironmentStatus
from portal.environments.services import request_drift_check
from portal.environments.tasks import check_drift
from portal.jobs.terraform import terraform_request
from portal.runs.models import Run
from portal.runs.tasks import execute_run
from provisioning import engine
from provisioning.terraform import TerraformError
from tests.factories import api_client, make_environment, make_run

pytestmark = pytest.mark.django_db

OUTAGE = (Path(__file__).parents[1] / "provisioning" / "data" / "outage-apply.jsonl").read_text()
LOCK_ID = "d52a75be-5dcb-299c-5ddd-b8ba777054ae"
STATE = json.dumps({"version": 4, "serial": 1, "lineage": "l-1", "resources": [], "secret": "s3cr3t-value-42"}).encode()


def outage(command: str = "apply", state: bytes | None = STATE, lock_id: str | None = LOCK_ID) -> TerraformError:
    """What provisioning.engine raises when AWS went away mid-apply."""
    error = TerraformError(command, 1, OUTAGE)
    error.errored_state, error.lock_id = state, lock_id
    return error


def planned(has_changes: bool = True) -> engine.PlanOutcome:
    summary = {"add": 3, "change": 0, "destroy": 0, "replace": 0, "resources": [], "stateful_losses": []}
    return engine.PlanOutcome(has_changes=has_changes, summary=summary, plan=b"plan")


def fail_apply(monkeypatch, error: Exception) -> None:
    monkeypatch.setattr(engine, "plan", lambda *args, **kwargs: planned())

    def apply(*args, **kwargs):
        raise error

    monkeypatch.setattr(engine, "apply", apply)


def messages(run: Run) -> str:
    return "\n".join(run.events.values_list("message", flat=True))


def test_a_run_that_loses_aws_mid_apply_fails_clearly_and_keeps_the_state_and_the_lock(worker, monkeypatch):
    environment = make_environment(name="feature-x")
    run = make_run(environment, kind="apply")
    fail_apply(monkeypatch, outage())

    execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("The AWS endpoint http://127.0.0.1:38035 is unreachable (connection reset by peer)")
    assert "Launchpad kept it (encrypted, on this run) and pushes it before the next run of feature-x" in run.error
    assert f"The state lock {LOCK_ID} could not be released" in run.error
    assert "First error: error waiting for ECS Cluster" in run.error
    assert len(run.error) < 1500, "the first error, not Terraform's whole output"
    assert crypto.decrypt_bytes(run.encrypted_kept_state) == STATE
    assert bytes(run.encrypted_kept_state) != STATE
    assert run.unreleased_lock_id == LOCK_ID
    assert environment.runs.get().status == "failed"
    environment.refresh_from_db()
    assert environment.status == EnvironmentStatus.FAILED
    # The kept state holds secrets: it appears in no event, error or API answer.
    body = api_client(environment.owner).get(f"/api/v1/runs/{run.pk}/").content.decode()
    for text in (messages(run), run.error, body):
        assert "s3cr3t-value-42" not in text
    assert "kept_state" not in body


def test_a_lock_left_behind_after_the_state_was_saved_is_reported_and_kept(worker, monkeypatch):
    run = make_run(make_environment(name="feature-x"), kind="apply")
    fail_apply(monkeypatch, outage(state=None))

    execute_run(run.pk)

    run.refresh_from_db()
    assert "The state itself was saved." in run.error and LOCK_ID in run.error
    assert run.encrypted_kept_state is None and run.unreleased_lock_id == LOCK_ID


def test_an_unknown_lock_id_is_said_so(worker, monkeypatch):
    run = make_run(make_environment(name="feature-x"), kind="apply")
    fail_apply(monkeypatch, outage(lock_id=None))

    execute_run(run.pk)

    run.refresh_from_db()
    assert "Terraform could not tell its ID" in run.error and "terraform force-unlock" in run.error
    assert run.unreleased_lock_id == "" and run.encrypted_kept_state is not None


def test_the_next_run_releases_the_lock_and_pushes_the_state_before_it_plans(worker, monkeypatch):
    environment = make_environment(name="feature-x")
    failed = make_run(environment, kind="apply", status="failed")
    failed.keep_left_state(crypto.encrypt_bytes(STATE), LOCK_ID)
    monkeypatch.setattr(engine, "plan", lambda *args, **kwargs: worker.append(("plan",)) or planned(False))
    run = make_run(environment, kind="plan")

    execute_run(run.pk)

    assert [call[0] for call in worker] == ["recover", "plan"]
    left = worker[0][1]
    assert (left.run_id, left.state, left.lock_id) == (failed.pk, STATE, LOCK_ID)
    run.refresh_from_db()
    failed.refresh_from_db()
    assert run.status == "succeeded"
    assert failed.encrypted_kept_state is None and failed.unreleased_lock_id == ""
    assert f"Run #{failed.pk} lost AWS mid-way" in messages(run)
    recovered = ActivityEntry.objects.get(action="run.state_recovered")
    assert recovered.object_id == str(failed.pk) and recovered.data["lock_id"] == LOCK_ID


def test_a_refused_recovery_fails_the_run_keeps_the_state_and_plans_nothing(worker, monkeypatch):
    environment = make_environment(name="feature-x")
    failed = make_run(environment, kind="apply", status="failed")
    failed.keep_left_state(crypto.encrypt_bytes(STATE), LOCK_ID)

    def refuse(*args):
        raise engine.StateRecoveryError("Launchpad did not push the state run #1 kept: newer.", lock_released=True)

    monkeypatch.setattr(engine, "recover_state", refuse)
    monkeypatch.setattr(engine, "plan", lambda *args, **kwargs: pytest.fail("planned over a refused recovery"))
    run = make_run(environment, kind="apply")

    execute_run(run.pk)

    run.refresh_from_db()
    failed.refresh_from_db()
    assert run.status == "failed" and run.error == "Launchpad did not push the state run #1 kept: newer."
    assert crypto.decrypt_bytes(failed.encrypted_kept_state) == STATE, "the state waits for a person"
    assert failed.unreleased_lock_id == "", "the lock was released"


def test_recovery_still_impossible_because_aws_is_down_keeps_everything(worker, monkeypatch):
    environment = make_environment(name="feature-x")
    failed = make_run(environment, kind="apply", status="failed")
    failed.keep_left_state(crypto.encrypt_bytes(STATE), LOCK_ID)

    def down(*args):
        raise TerraformError("init", 1, OUTAGE)

    monkeypatch.setattr(engine, "recover_state", down)
    run = make_run(environment, kind="plan")

    execute_run(run.pk)

    run.refresh_from_db()
    failed.refresh_from_db()
    assert run.error.startswith("The AWS endpoint http://127.0.0.1:38035 is unreachable")
    assert failed.unreleased_lock_id == LOCK_ID and failed.encrypted_kept_state is not None


def test_a_plan_that_cannot_reach_aws_fails_with_a_short_message(worker, monkeypatch):
    def unreachable(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4599/state")

    monkeypatch.setattr(engine, "plan", unreachable)
    run = make_run(make_environment(name="feature-x"), kind="plan")

    execute_run(run.pk)

    run.refresh_from_db()
    assert run.error == (
        'AWS is unreachable: Could not connect to the endpoint URL: "http://127.0.0.1:4599/state". '
        "Nothing was changed; run again once AWS answers."
    )
    assert "Traceback" not in messages(run)


def test_a_drift_check_handles_what_a_failed_run_left_first(worker, monkeypatch):
    environment = make_environment(name="feature-x")
    environment.status = EnvironmentStatus.READY
    environment.save()
    failed = make_run(environment, kind="plan", status="failed")
    failed.keep_left_state(None, LOCK_ID)
    monkeypatch.setattr(
        engine,
        "check_drift",
        lambda *args: worker.append(("drift",)) or engine.DriftOutcome(False, [], 0),
    )
    monkeypatch.setattr("portal.environments.tasks.check_drift.delay", lambda pk: None)
    check = request_drift_check(environment)

    check_drift(check.pk)

    assert [call[0] for call in worker] == ["recover", "drift"]
    failed.refresh_from_db()
    assert failed.unreleased_lock_id == ""


# --- the bound on AWS retries ----------------------------------------------------------------------
def test_terraform_gets_the_operators_bound_on_aws_retries(monkeypatch):
    monkeypatch.setitem(settings.LAUNCHPAD, "AWS_MAX_RETRIES", 3)
    environment = make_environment(name="feature-x")

    request = terraform_request(environment, 1, engine.StateStore("state", "lock"))

    assert request.variables["aws_max_retries"] == 3


def test_users_cannot_set_the_bound_on_aws_retries():
    environment = make_environment(name="feature-x")

    response = api_client(environment.owner).patch(
        "/api/v1/environments/feature-x/", {"variables": {"aws_max_retries": 100}}, format="json"
    )

    assert response.status_code == 400
    assert "aws_max_retries: set by Launchpad" in response.content.decode()
    blueprint = api_client(environment.owner).get("/api/v1/blueprints/sandbox/").json()
    assert {v["name"]: v["managed"] for v in blueprint["variables"]}["aws_max_retries"] is True

"""AWS lost mid-apply, end to end: the worker talks to the emulator through a proxy (tests/support/proxy.py) that
is taken down while the apply creates resources. The run fails within a bounded time, says the endpoint is
unreachable, and loses nothing: Terraform's unsaved state is kept (encrypted) on the run and the stale lock's ID
with it. Once AWS is back, a new apply releases that lock, pushes the state and converges; a plan shows no change;
the destroy leaves nothing behind, and no lock is left in the lock table."""

from __future__ import annotations

import json
import time

import pytest

from portal import crypto
from portal.environments.models import Environment
from portal.runs.models import Run
from provisioning import aws
from tests.factories import api_client, make_user
from tests.support.inventory import leftovers
from tests.support.proxy import OutageProxy
from tests.support.stack import Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAME = "e2e-outage"
MAX_RETRIES = 2
# Launchpad's own state store in the emulator's region (provisioning.engine.ensure_state_store).
STATE_BUCKET, LOCK_TABLE = "spotmusic-launchpad-tfstate-eu-west-1", "spotmusic-launchpad-tflock"
STATE_LOCK_ID = f"{STATE_BUCKET}/environments/{NAME}/1/terraform.tfstate"  # the first environment of the name


@pytest.fixture
def proxy(emulator):
    with OutageProxy(emulator.endpoint) as proxy:
        yield proxy


@pytest.fixture
def stack(emulator, proxy, tmp_path):
    """A Celery worker whose every AWS call (boto3 and Terraform) goes through ``proxy``."""
    stack = Stack(emulator, tmp_path, endpoint=proxy.endpoint)
    stack.env["LAUNCHPAD_AWS_MAX_RETRIES"] = str(MAX_RETRIES)
    stack.start("worker")
    yield stack
    stack.stop()


def client_for(user):
    return api_client(user)


def run_status(run_id: int) -> str:
    return Run.objects.get(pk=run_id).status


def state_locks() -> list[dict]:
    """Locks (not digests) held on the environment's state in the lock table, read past the proxy."""
    items = aws.client("dynamodb").scan(TableName=LOCK_TABLE)["Items"]
    return [json.loads(item["Info"]["S"]) for item in items if item["LockID"]["S"] == STATE_LOCK_ID and "Info" in item]


def finish(client, approver, run_id: int, what: str) -> str:
    """Wait for the run to end, approving it if it waits for an approver; its final status."""
    wait_for(lambda: run_status(run_id) in ("succeeded", "failed", "awaiting_approval"), 300, what)
    if run_status(run_id) == "awaiting_approval":
        approved = client_for(approver).post(f"/api/v1/runs/{run_id}/approve/", {"comment": "ok"}, format="json")
        assert approved.status_code == 200, approved.content
        wait_for(lambda: run_status(run_id) in ("succeeded", "failed"), 300, what)
    return run_status(run_id)


def events(run_id: int) -> str:
    return "\n".join(Run.objects.get(pk=run_id).events.values_list("message", flat=True))


def test_aws_lost_mid_apply_fails_clearly_loses_nothing_and_a_retry_converges(stack, proxy):
    owner, approver = make_user("engineer", "outage-owner"), make_user("approver", "outage-approver")
    client = client_for(owner)
    created = client.post(
        "/api/v1/environments/",
        {"name": NAME, "blueprint": "sandbox", "tier": "dev", "variables": {"vpc_cidr": "10.79.0.0/16"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    run_id = Run.objects.get(environment__name=NAME).pk

    # The network to AWS goes once the apply has created some resources.
    wait_for(
        lambda: Run.objects.get(pk=run_id).events.filter(message__contains="Creation complete").count() >= 8,
        300,
        "the apply to create resources",
        interval=0.2,
    )
    proxy.down()
    down_at = time.monotonic()
    wait_for(lambda: run_status(run_id) in ("failed", "succeeded"), 180, "the run to fail")
    failed_after = round(time.monotonic() - down_at, 1)
    assert run_status(run_id) == "failed"
    assert failed_after < 120, f"the run failed {failed_after} s after AWS went away"

    # A clear reason; nothing lost.
    run = Run.objects.get(pk=run_id)
    assert run.error.startswith(f"The AWS endpoint {proxy.endpoint} is unreachable"), run.error
    assert "Launchpad kept it (encrypted, on this run)" in run.error
    assert run.unreleased_lock_id and f"The state lock {run.unreleased_lock_id} could not be released" in run.error
    kept = json.loads(crypto.decrypt_bytes(run.encrypted_kept_state))
    created_before = sum(len(resource["instances"]) for resource in kept["resources"])
    assert created_before >= 8, "the kept state knows the resources created before the outage"
    assert b"resources" not in bytes(run.encrypted_kept_state)
    assert [lock["ID"] for lock in state_locks()] == [run.unreleased_lock_id], "the lock our run held, still held"
    environment = Environment.objects.get(name=NAME)
    assert environment.status == "failed" and environment.variables["vpc_cidr"] == "10.79.0.0/16"
    log = events(run_id)
    assert log.count("Creation complete") >= 8 and "Failed: The AWS endpoint" in log
    secrets = environment.secrets().values()
    assert not any(secret in log or secret in run.error for secret in secrets)

    # AWS is back: the next apply releases the lock, pushes the state, and converges.
    proxy.up()
    retry = client.post(f"/api/v1/environments/{NAME}/runs/", {"kind": "apply"}, format="json")
    assert retry.status_code == 201, retry.content
    retry_id = retry.json()["id"]
    assert finish(client, approver, retry_id, "the apply after the outage") == "succeeded", Run.objects.get(
        pk=retry_id
    ).error
    log = events(retry_id)
    assert f"Released the stale state lock {run.unreleased_lock_id} that run #{run_id}" in log
    assert f"Pushed the state run #{run_id} kept" in log
    assert log.index("Released the stale state lock") < log.index("Pushed the state") < log.index("Planning")
    run.refresh_from_db()
    assert run.encrypted_kept_state is None and run.unreleased_lock_id == ""
    assert Environment.objects.get(name=NAME).status == "ready"

    check = client.post(f"/api/v1/environments/{NAME}/runs/", {"kind": "plan"}, format="json").json()["id"]
    assert finish(client, approver, check, "the check plan") == "succeeded"
    assert Run.objects.get(pk=check).has_changes is False, "the environment converged"

    destroy = client.delete(f"/api/v1/environments/{NAME}/").json()["id"]
    assert finish(client, approver, destroy, "the destroy") == "succeeded", Run.objects.get(pk=destroy).error
    assert leftovers(f"spotmusic-{NAME}") == []
    assert state_locks() == []
    print(f"\nAWS lost mid-apply after {created_before} resources: run failed {failed_after} s later")

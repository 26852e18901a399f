"""End to end through the API and a real Celery worker (not eager): a sandbox is created, reaches ready,
its resources exist in the emulator, secrets appear nowhere, and destroy (after approval) removes all.
A worker killed with SIGKILL mid-run leaves a failed run with the reason, and a new plan converges."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from portal.environments.models import Environment
from portal.runs.models import Run
from provisioning import aws
from tests.conftest import ARTIFACTS
from tests.factories import make_user, token_for
from tests.support.inventory import leftovers

# The `stack` fixture (a Celery worker and beat) lives in tests/support/stack.py, shared with tests/ui.
pytest_plugins = ["tests.support.stack"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def run_status(run_id: int) -> str:
    return Run.objects.get(pk=run_id).status


def test_sandbox_through_the_api_reaches_ready_and_destroys_after_approval(stack, emulator):
    owner, approver = make_user("engineer", "owner"), make_user("approver", "reviewer")
    client = client_for(owner)
    started = time.perf_counter()
    response = client.post(
        "/api/v1/environments/",
        {"name": "e2e-sandbox", "blueprint": "sandbox", "tier": "dev", "variables": {"vpc_cidr": "10.77.0.0/16"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    run_id = Run.objects.get(environment__name="e2e-sandbox").pk

    # Events arrive while Terraform runs, not only at the end.
    wait_for(
        lambda: run_status(run_id) in ("running", "applying") and Run.objects.get(pk=run_id).events.count() > 3,
        120,
        "events of the running plan",
    )
    wait_for(lambda: Environment.objects.get(name="e2e-sandbox").status in ("ready", "failed"), 600, "ready")
    ready_seconds = round(time.perf_counter() - started, 1)
    environment = Environment.objects.get(name="e2e-sandbox")
    run = Run.objects.get(pk=run_id)
    assert environment.status == "ready", run.error
    assert run.status == "succeeded" and run.plan_summary["add"] > 50

    outputs = client.get("/api/v1/environments/e2e-sandbox/").json()["outputs"]
    cluster = aws.client("ecs").describe_clusters(clusters=[outputs["ecs_cluster_name"]])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    assert aws.client("s3").head_bucket(Bucket=outputs["audio_bucket"])
    assert aws.client("sqs").get_queue_attributes(QueueUrl=outputs["work_queue_url"], AttributeNames=["All"])
    secret = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=outputs["db_secret_arn"])["SecretString"]
    )
    generated = environment.secrets()
    assert secret["password"] == generated["db_password"], "the modules keep Launchpad's password in Secrets Manager"

    # Destroying removes stateful data (bucket, queues, secret): it waits for an approver.
    destroy = client.delete("/api/v1/environments/e2e-sandbox/")
    assert destroy.status_code == 202
    destroy_id = destroy.json()["id"]
    wait_for(lambda: run_status(destroy_id) == "awaiting_approval", 300, "the destroy plan")
    assert client.post(f"/api/v1/runs/{destroy_id}/approve/", {}, format="json").status_code == 403
    approved = client_for(approver).post(f"/api/v1/runs/{destroy_id}/approve/", {"comment": "ok"}, format="json")
    assert approved.status_code == 200, approved.content
    wait_for(lambda: run_status(destroy_id) in ("succeeded", "failed"), 600, "the destroy")
    assert run_status(destroy_id) == "succeeded", Run.objects.get(pk=destroy_id).error
    assert Environment.objects.get(name="e2e-sandbox").status == "destroyed"
    assert leftovers("spotmusic-e2e-sandbox") == []

    # The generated secrets are nowhere: database rows, run events, API responses, worker log.
    everything = [
        client.get(url).content.decode()
        for url in (
            "/api/v1/environments/e2e-sandbox/",
            f"/api/v1/runs/{run_id}/",
            f"/api/v1/runs/{destroy_id}/",
            f"/api/v1/runs/{run_id}/events/?limit=100000",
            f"/api/v1/runs/{destroy_id}/events/?limit=100000",
        )
    ]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            everything.append(repr(cursor.fetchall()))
    everything.append(stack.worker_log.read_text(errors="replace"))
    for name, value in generated.items():
        assert not any(value in text for text in everything), f"the generated {name} leaked"

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-timings.json").write_text(json.dumps({"sandbox_api_to_ready_seconds": ready_seconds}))
    print(f"\nsandbox: API call to ready in {ready_seconds} s")


def test_a_worker_killed_mid_run_leaves_a_failed_run_and_a_new_plan_converges(stack, emulator):
    owner = make_user("engineer", "crash-owner")
    client = client_for(owner)
    response = client.post(
        "/api/v1/environments/",
        {"name": "e2e-crash", "blueprint": "sandbox", "variables": {"vpc_cidr": "10.78.0.0/16"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    run_id = Run.objects.get(environment__name="e2e-crash").pk
    wait_for(
        lambda: (
            run_status(run_id) == "applying"
            and Run.objects.get(pk=run_id).events.filter(message__contains="Creating...").exists()
        ),
        300,
        "the apply to start creating resources",
    )

    stack.kill("worker")
    killed_at = time.monotonic()
    stack.start("worker")  # as a supervisor (compose's restart policy, systemd) brings it back
    wait_for(lambda: run_status(run_id) == "failed", 120, "the lost run to be marked failed")
    assert time.monotonic() - killed_at < 120
    run = Run.objects.get(pk=run_id)
    assert "stopped reporting" in run.error
    assert Environment.objects.get(name="e2e-crash").status == "failed"

    again = client.post("/api/v1/environments/e2e-crash/runs/", {"kind": "apply"}, format="json")
    assert again.status_code == 201
    wait_for(lambda: run_status(again.json()["id"]) in ("succeeded", "failed"), 600, "the new apply")
    assert run_status(again.json()["id"]) == "succeeded", Run.objects.get(pk=again.json()["id"]).error
    check = client.post("/api/v1/environments/e2e-crash/runs/", {"kind": "plan"}, format="json").json()["id"]
    wait_for(lambda: run_status(check) in ("succeeded", "failed"), 300, "the check plan")
    assert Run.objects.get(pk=check).has_changes is False, "the environment converged"

    destroy = client.delete("/api/v1/environments/e2e-crash/").json()["id"]
    wait_for(lambda: run_status(destroy) == "awaiting_approval", 300, "the destroy plan")
    client_for(make_user("approver")).post(f"/api/v1/runs/{destroy}/approve/", {}, format="json")
    wait_for(lambda: run_status(destroy) in ("succeeded", "failed"), 600, "the destroy")
    assert leftovers("spotmusic-e2e-crash") == []

"""End to end through the API and a real Celery worker (not eager): a sandbox is created, reaches ready,
its resources exist in the emulator, secrets appear nowhere, and destroy (after approval) removes all.
A worker killed with SIGKILL mid-run leaves a failed run with the reason and no file behind (workspace, logs,
secrets), and the next apply, with nothing left to change, makes the environment ready again."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from portal.environments.models import DriftCheck, Environment
from portal.runs.models import Run
from provisioning import aws
from tests.conftest import ARTIFACTS
from tests.factories import make_user, token_for
from tests.support.inventory import leftovers
from tests.support.stack import wait_for

# The `stack` fixture (a Celery worker and beat) lives in tests/support/stack.py, shared with tests/ui.
pytest_plugins = ["tests.support.stack"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def run_status(run_id: int) -> str:
    return Run.objects.get(pk=run_id).status


def creating_resources(run_id: int) -> bool:
    """The run's apply creates resources (a first run's log also has the state store bootstrap's "Creating...")."""
    run = Run.objects.get(pk=run_id)
    applying = run.events.filter(message="Applying the plan.").values_list("seq", flat=True).first()
    return (
        run.status == "applying"
        and applying is not None
        and run.events.filter(seq__gt=applying, message__contains="Creating...").exists()
    )


def terraform_applies(run_id: int) -> list[int]:
    """Pids of the `terraform apply` processes (the wrapper and Terraform) working in one of the run's workspaces."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # not a process, or gone meanwhile
        if Path(argv[0].decode()).name == "terraform" and b"apply" in argv and f"/run-{run_id}-" in cwd:
            pids.append(int(proc.name))
    return pids


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (an orphan that ended may linger as a zombie until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def state_lock(environment: Environment) -> str:
    """The LockID of the environment's state while it is locked (<bucket>/<key>; <bucket>/<key>-md5 is no lock)."""
    return f"spotmusic-launchpad-tfstate-{environment.region}/{environment.state_key}"


def state_lock_ids(environment: Environment) -> list[str]:
    """The LockIDs in the lock table (provisioning.engine.ensure_state_store names it)."""
    items = aws.client("dynamodb", environment.region).scan(TableName="spotmusic-launchpad-tflock")["Items"]
    return [item["LockID"]["S"] for item in items]


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
    # A dev plan is applied in the workspace that planned it: no second render and init before the apply.
    messages = list(run.events.order_by("seq").values_list("message", flat=True))
    applying = messages.index("Applying the plan.")
    assert not any("Initializing the backend" in message for message in messages[applying:])
    assert any("Initializing the backend" in message for message in messages[:applying])

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

    # An admin destroying someone else's sandbox removes their data (bucket, queues, secret): it waits for an
    # approver (LAUNCHPAD_APPROVAL_POLICY; the owner would destroy it alone).
    destroy = client_for(make_user("admin", "e2e-admin")).delete("/api/v1/environments/e2e-sandbox/")
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

    # The generated secrets are nowhere: every API answer of the run (each page of each list), every row of every
    # table, the plan summaries kept on the runs, every log the stack wrote (worker, beat, web).
    admin_client = client_for(make_user("admin"))

    def every_page(api: APIClient, url: str) -> list[str]:
        bodies = []
        while url:
            response = api.get(url)
            assert response.status_code == 200, (url, response.status_code)
            bodies.append(response.content.decode())
            url = response.json().get("next") if isinstance(response.json(), dict) else None
        return bodies

    everything = []
    for url in (
        "/api/v1/environments/",
        "/api/v1/environments/e2e-sandbox/",
        "/api/v1/environments/e2e-sandbox/drift-checks/",
        "/api/v1/environments/e2e-sandbox/status/",
        "/api/v1/status/",
    ):
        everything += every_page(client, url)
    runs = [json.loads(page)["results"] for page in every_page(client, "/api/v1/environments/e2e-sandbox/runs/")]
    run_ids = [listed["id"] for page in runs for listed in page]
    assert {run_id, destroy_id} <= set(run_ids)
    for listed_id in run_ids:
        everything += every_page(client, f"/api/v1/runs/{listed_id}/")
        events = every_page(client, f"/api/v1/runs/{listed_id}/events/")
        assert sum(len(json.loads(page)["results"]) for page in events) == Run.objects.get(pk=listed_id).events.count()
        everything += events
    for url in ("/api/v1/activity/", "/api/v1/audit/findings/?status=all"):
        everything += every_page(admin_client, url)
    for stored in Run.objects.filter(environment__name="e2e-sandbox"):
        assert stored.plan_summary, f"run {stored.pk} kept its plan summary"
        everything.append(json.dumps([stored.plan_summary, stored.plan_findings, stored.approval_reasons]))
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            everything.append(repr(cursor.fetchall()))
    # emulator.log is AWS's side: the secrets are sent there on purpose.
    logs = sorted(log for log in ARTIFACTS.glob("*.log") if log.name != "emulator.log")
    assert stack.worker_log in logs and ARTIFACTS / "beat.log" in logs
    everything += [log.read_text(errors="replace") for log in logs]
    for name, value in generated.items():
        assert len(value) >= 16, f"the generated {name} is long enough to be found only where it is"
        assert not any(value in text for text in everything), f"the generated {name} leaked"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "e2e-timings.json").write_text(json.dumps({"sandbox_api_to_ready_seconds": ready_seconds}))
    print(f"\nsandbox: API call to ready in {ready_seconds} s")


def files_holding(values: list[str], *roots: Path) -> list[str]:
    """Every regular file under ``roots`` that contains one of ``values`` (unreadable ones, gone meanwhile, skipped)."""
    found = []
    for root in roots:
        for directory, _subdirectories, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                try:
                    data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
                except OSError:
                    continue
                if any(value.encode() in data for value in values):
                    found.append(str(path))
    return found


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
    wait_for(lambda: creating_resources(run_id), 300, "the apply to start creating resources")
    environment = Environment.objects.get(name="e2e-crash")
    assert state_lock(environment) in state_lock_ids(environment), "the apply holds the state lock"
    terraform = terraform_applies(run_id)
    assert terraform, "the run's terraform apply"

    stack.kill("worker")
    killed_at = time.monotonic()
    stack.start("worker")  # as a supervisor (compose's restart policy, systemd) brings it back
    wait_for(lambda: run_status(run_id) == "failed", 120, "the lost run to be marked failed")
    assert time.monotonic() - killed_at < 120
    run = Run.objects.get(pk=run_id)
    assert "stopped reporting" in run.error
    assert Environment.objects.get(name="e2e-crash").status == "failed"

    # Terraform outlives its worker (its own session): it finishes, saves the state and releases the lock.
    wait_for(lambda: not any(map(running, terraform)), 300, "the killed run's terraform apply to end")
    assert state_lock(environment) not in state_lock_ids(environment), "the state lock was released"

    # Once Terraform no longer works in it, beat's next sweep removes the run's workspace: its saved plan (the
    # secrets in clear), Terraform's log files (kept in the workspace, never in the temporary directory).
    work_dir = stack.tmp_path / "work"
    wait_for(lambda: not list(work_dir.glob(f"run-{run_id}-*")), 60, "the lost run's workspace to be removed")
    assert list(work_dir.glob("run-*")) == []
    assert list((stack.tmp_path / "tmp").glob("terraform-*")) == [], "no Terraform log folder in the stack's TMPDIR"
    secrets = list(environment.secrets().values())
    assert secrets and all(len(value) >= 16 for value in secrets)
    # The data dir (work dir, the stack's TMPDIR) and the whole of /tmp (this test's tmp_path is in it, usually).
    roots = {Path("/tmp"), Path(tempfile.gettempdir())}
    roots |= set() if any(stack.tmp_path.is_relative_to(root) for root in roots) else {stack.tmp_path}
    assert files_holding(secrets, *roots) == []

    again = client.post("/api/v1/environments/e2e-crash/runs/", {"kind": "apply"}, format="json")
    assert again.status_code == 201
    wait_for(lambda: run_status(again.json()["id"]) in ("succeeded", "failed"), 600, "the new apply")
    assert run_status(again.json()["id"]) == "succeeded", Run.objects.get(pk=again.json()["id"]).error
    # Terraform had finished the killed run's apply: nothing to change, and the environment is what its state holds.
    assert Run.objects.get(pk=again.json()["id"]).has_changes is False
    settled = client.get("/api/v1/environments/e2e-crash/").json()
    assert settled["status"] == "ready" and settled["outputs"]["ecs_cluster_name"], settled
    drift = client.post("/api/v1/environments/e2e-crash/drift-checks/", {}, format="json")
    assert drift.status_code == 202, drift.content
    wait_for(lambda: DriftCheck.objects.get(pk=drift.json()["id"]).is_finished, 300, "the drift check")
    checked = DriftCheck.objects.get(pk=drift.json()["id"])
    assert checked.status == "clean", checked.error or checked.resources
    check = client.post("/api/v1/environments/e2e-crash/runs/", {"kind": "plan"}, format="json").json()["id"]
    wait_for(lambda: run_status(check) in ("succeeded", "failed"), 300, "the check plan")
    assert Run.objects.get(pk=check).has_changes is False, "the environment converged"

    # The owner of a dev sandbox destroys it alone.
    destroy = client.delete("/api/v1/environments/e2e-crash/").json()["id"]
    wait_for(lambda: run_status(destroy) in ("succeeded", "failed"), 600, "the destroy")
    assert leftovers("spotmusic-e2e-crash") == []

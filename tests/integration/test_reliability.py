"""Reliability end to end, over HTTP to gunicorn, with a real Celery worker (two processes) and beat.

One stack and one sandbox serve every test of this module, in order (each test also runs alone: the sandbox is
made on first use). The web killed with SIGKILL mid-apply loses nothing and the run goes on; a run whose message
was lost between the web's commit and the broker is dispatched again by beat; twenty apply requests at once give
one run at a time and a state that is never corrupted; stopping and starting the whole stack loses no run, event
or environment. Figures go to ARTIFACTS/reliability.json.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command

from portal.environments.models import Environment
from portal.runs.choices import ACTIVE_STATUSES, FINISHED_STATUSES
from portal.runs.models import Run, RunEvent
from portal.runs.services import request_run
from portal.runs.tasks import execute_run
from provisioning import aws
from tests.conftest import ARTIFACTS
from tests.factories import make_user, token_for
from tests.support.inventory import leftovers
from tests.support.stack import Stack, wait_for

# The marker makes pytest-django set up the test database; its per-test wrapper is replaced below.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAME = "rel-sandbox"
REGION = "eu-west-1"
STATE_BUCKET = f"spotmusic-launchpad-tfstate-{REGION}"  # provisioning.engine.ensure_state_store
LOCK_TABLE = "spotmusic-launchpad-tflock"
STATE_KEY = f"environments/{NAME}/1/terraform.tfstate"  # the first environment of the name: Environment.state_key
# The stack sends a run no worker took again after this many seconds (production: 60); beat sweeps every 5 s.
REDISPATCH_AFTER = 10
CONCURRENT_REQUESTS = 20
FIGURES: dict[str, object] = {}


class Api:
    """The REST API over HTTP at the stack's gunicorn, as one user (a fresh connection per call)."""

    def __init__(self, stack: Stack, user) -> None:
        self.stack, self.headers = stack, {"Authorization": f"Token {token_for(user)}"}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.stack.url + path, headers=self.headers, timeout=120, **kwargs)

    def get(self, path: str):
        response = self.call("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def results(self, path: str) -> list[dict]:
        return self.get(path + ("&" if "?" in path else "?") + "limit=100000")["results"]

    def post(self, path: str, body: dict, expect: int = 201):
        response = self.call("POST", path, json=body)
        assert response.status_code == expect, (path, response.status_code, response.text[:500])
        return response.json()


@pytest.fixture
def _django_db_helper():
    """pytest-django's per-test wrapper (a transaction, or a flush after each test), replaced for this module.

    Its tests share the stack's committed rows (web, worker and beat are other processes), so neither: the
    ``stack`` fixture gives database access to the whole module and empties the database at its end.
    """
    yield


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, emulator, tmp_path_factory):
    """gunicorn, a worker of concurrency 2 and beat, for the whole module; the database emptied afterwards.

    The processes must see what the tests write (and the reverse), so nothing runs inside a test transaction.
    """
    with django_db_blocker.unblock():
        stack = Stack(emulator, tmp_path_factory.mktemp("reliability"))
        stack.env["LAUNCHPAD_REDISPATCH_AFTER_SECONDS"] = str(REDISPATCH_AFTER)
        try:
            for name in ("worker", "beat", "web"):
                stack.start(name)
            yield stack
        finally:
            stack.stop()
            call_command("flush", interactive=False, verbosity=0)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "reliability.json").write_text(json.dumps(FIGURES, indent=2))


@pytest.fixture(scope="module")
def people(stack):
    return SimpleNamespace(owner=make_user("engineer", "rel-owner"), approver=make_user("approver", "rel-approver"))


@pytest.fixture(scope="module")
def api(stack, people) -> Api:
    return Api(stack, people.owner)


@pytest.fixture(scope="module")
def sandbox(api) -> int:
    """The module's sandbox, asked for over HTTP (create + apply); the id of its first run, maybe still running."""
    api.post(
        "/api/v1/environments/",
        {"name": NAME, "blueprint": "sandbox", "tier": "dev", "variables": {"vpc_cidr": "10.91.0.0/16"}},
    )
    return Run.objects.get(environment__name=NAME).pk


@pytest.fixture(autouse=True)
def no_error_logged(stack):
    """No task of the worker fails and the web answers no 500 during a test (a failure the sweep would hide)."""
    logs = {path: path.stat().st_size if path.exists() else 0 for path in (stack.worker_log, stack.web_log)}
    yield
    for path, start in logs.items():
        with open(path, "rb") as log:
            log.seek(start)
            written = log.read().decode(errors="replace")
        for sign in ("raised unexpected", "Internal Server Error", "database is locked"):
            assert sign not in written, f"{path.name}: {written[max(0, written.index(sign) - 300) :][:1500]}"


@pytest.fixture
def ready(stack, sandbox) -> Environment:
    """The sandbox applied, no run under way, and every process of the stack up (a failed test may leave one down)."""
    for name in {"worker", "beat", "web"} - set(stack.processes):
        stack.start(name)
    wait_for(lambda: not environment_runs().exclude(status__in=FINISHED_STATUSES).exists(), 600, "idle sandbox")
    environment = Environment.objects.get(name=NAME)
    assert environment.status == "ready", Run.objects.get(pk=sandbox).error
    return environment


def environment_runs():
    return Run.objects.filter(environment__name=NAME)


def run_status(run_id: int) -> str:
    return Run.objects.get(pk=run_id).status


def finished(run_id: int) -> bool:
    return run_status(run_id) in FINISHED_STATUSES


def creating_resources(run_id: int) -> bool:
    """The run's apply creates resources (a first run's log also has the state store bootstrap's "Creating...")."""
    applying = RunEvent.objects.filter(run_id=run_id, message="Applying the plan.").values_list("seq", flat=True)
    return (
        run_status(run_id) == "applying"
        and applying.exists()
        and RunEvent.objects.filter(run_id=run_id, seq__gt=applying[0], message__contains="Creating...").exists()
    )


def alive_in_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that are not zombies (a killed worker's children too)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def events_in_db(run_id: int) -> list[tuple[int, str]]:
    return list(RunEvent.objects.filter(run_id=run_id).order_by("seq").values_list("seq", "message"))


def lock_items() -> list[str]:
    """The DynamoDB items of the sandbox's state: a lock holds <bucket>/<key>; <bucket>/<key>-md5 is a digest."""
    items = aws.client("dynamodb", REGION).scan(TableName=LOCK_TABLE)["Items"]
    return sorted(item["LockID"]["S"] for item in items if STATE_KEY in item["LockID"]["S"])


# --- the web killed with SIGKILL mid-apply ------------------------------------------------------------------------


def test_the_web_killed_mid_apply_loses_nothing_and_the_run_goes_on_in_the_worker(stack, api, sandbox):
    run_id = sandbox
    wait_for(lambda: creating_resources(run_id), 300, "the apply to start creating resources")
    web = stack.processes["web"].pid
    assert len(alive_in_group(web)) >= 3, "gunicorn's master and its two workers"
    stack.kill("web")
    killed = time.monotonic()
    wait_for(lambda: not alive_in_group(web), 10, "gunicorn's master and workers to be gone")

    with pytest.raises(requests.ConnectionError):
        api.call("GET", f"/api/v1/runs/{run_id}/")
    assert run_status(run_id) == "applying", "the worker goes on without the web"
    wait_for(lambda: finished(run_id), 600, "the apply")
    assert run_status(run_id) == "succeeded", Run.objects.get(pk=run_id).error
    FIGURES["web_killed_apply_finished_after_seconds"] = round(time.monotonic() - killed, 1)

    stack.start("web")
    environment = api.get(f"/api/v1/environments/{NAME}/")
    assert environment["status"] == "ready" and environment["outputs"]["ecs_cluster_name"]
    assert [run["id"] for run in api.results(f"/api/v1/environments/{NAME}/runs/")] == [run_id]
    assert api.get(f"/api/v1/runs/{run_id}/")["status"] == "succeeded"
    events = [(event["seq"], event["message"]) for event in api.results(f"/api/v1/runs/{run_id}/events/")]
    assert events == events_in_db(run_id)
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1)), "no event lost or doubled"
    assert any("Apply complete!" in message for _, message in events)


# --- a run whose message never reached the broker ----------------------------------------------------------------


def test_a_run_whose_message_was_lost_after_the_commit_is_dispatched_again_by_beat(ready, people, monkeypatch):
    # The web's own code path, killed between its commit and the enqueue: the run and its event, no message.
    monkeypatch.setattr("portal.runs.services.dispatch_on_commit", lambda environment_id: None)
    run = request_run(ready, "plan", people.owner)
    monkeypatch.undo()
    assert run_status(run.pk) == "queued"

    wait_for(lambda: finished(run.pk), REDISPATCH_AFTER + 30 + 300, "beat to dispatch the run again and the plan")
    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    assert run.has_changes is False
    messages = [message for _, message in events_in_db(run.pk)]
    assert any("dispatched again" in message for message in messages), messages[:5]
    waited = (run.started_at - run.created_at).total_seconds()
    assert waited >= REDISPATCH_AFTER, "no worker took it before the sweep sent it again"
    FIGURES["lost_message_run_started_after_seconds"] = round(waited, 1)


# --- twenty apply requests at once ------------------------------------------------------------------------------


def state_versions() -> list[dict]:
    """Every version of the sandbox's state object (the bucket is versioned), oldest first."""
    s3 = aws.client("s3", REGION)
    listed = s3.list_object_versions(Bucket=STATE_BUCKET, Prefix=STATE_KEY)
    versions = sorted((v for v in listed["Versions"] if v["Key"] == STATE_KEY), key=lambda v: v["LastModified"])
    states = []
    for version in versions:
        body = s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY, VersionId=version["VersionId"])["Body"].read()
        states.append({"latest": version["IsLatest"], "state": json.loads(body)})  # each one valid JSON
    return states


def test_twenty_apply_requests_at_once_run_one_at_a_time_and_never_corrupt_the_state(stack, api, ready):
    # A new image tag, saved with a plan only: the first of the twenty applies it (state written), the nineteen
    # others find nothing to do.
    response = api.call(
        "PATCH", f"/api/v1/environments/{NAME}/", json={"variables": {"image_tag": "v2"}, "apply": False}
    )
    assert response.status_code == 202, response.text
    wait_for(lambda: finished(response.json()["id"]), 300, "the settings change's plan")
    before = {run.pk for run in environment_runs()}
    versions_before = len(state_versions())

    active_counts: list[int] = []
    done = threading.Event()

    def watch() -> None:  # how many runs of the sandbox are active, five times a second
        while not done.wait(0.2):
            active_counts.append(environment_runs().filter(status__in=ACTIVE_STATUSES).count())

    barrier = threading.Barrier(CONCURRENT_REQUESTS)

    def ask(_: int) -> requests.Response:
        barrier.wait()
        return api.call("POST", f"/api/v1/environments/{NAME}/runs/", json={"kind": "apply"})

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
            responses = list(pool.map(ask, range(CONCURRENT_REQUESTS)))
        answered = round(time.monotonic() - started, 2)
        assert [r.status_code for r in responses] == [201] * CONCURRENT_REQUESTS, [
            (r.status_code, r.text[:200]) for r in responses if r.status_code != 201
        ]
        run_ids = sorted(r.json()["id"] for r in responses)
        assert len(set(run_ids)) == CONCURRENT_REQUESTS
        assert {run.pk for run in environment_runs()} == before | set(run_ids)
        # A second message for every run, as the re-dispatch sweep may send: the worker's two processes claim the
        # same runs at the same moments, and only one may win each.
        for run_id in run_ids:
            execute_run.delay(run_id)
        wait_for(lambda: all(finished(run_id) for run_id in run_ids), 60 * CONCURRENT_REQUESTS, "the twenty runs")
    finally:
        done.set()
        watcher.join()
    FIGURES["concurrent_requests_answered_seconds"] = answered
    FIGURES["concurrent_runs_all_finished_seconds"] = round(time.monotonic() - started, 1)

    runs = list(environment_runs().filter(pk__in=run_ids).order_by("started_at"))
    assert [run.status for run in runs] == ["succeeded"] * CONCURRENT_REQUESTS, [run.error for run in runs]
    assert max(active_counts) <= 1, "two runs of the sandbox were active at once"
    intervals = sorted(
        (run.started_at, run.finished_at, run.pk) for run in environment_runs().filter(started_at__isnull=False)
    )
    for (_, finished_at, first), (started_at, _, second) in zip(intervals, intervals[1:], strict=False):
        assert finished_at <= started_at, f"runs #{first} and #{second} overlap"
    assert [run.has_changes for run in runs] == [True] + [False] * (CONCURRENT_REQUESTS - 1), (
        "exactly one of them had the new tag to apply; the others planned against its state"
    )
    received = re.findall(r"execute_run\[[^\]]+\] received", stack.worker_log.read_text(errors="replace"))
    FIGURES["execute_run_messages_received_so_far"] = len(received)

    # The state: every version valid JSON, one lineage, serials rising, written by no two runs at once.
    versions = state_versions()
    assert len(versions) > versions_before, "the new tag's apply wrote the state"
    assert {v["state"]["lineage"] for v in versions} == {versions[0]["state"]["lineage"]}
    serials = [v["state"]["serial"] for v in versions]
    assert serials == sorted(set(serials)), f"serials not strictly increasing: {serials}"
    assert versions[-1]["latest"]
    current = versions[-1]["state"]
    addresses = [
        f"{r.get('module', '')}.{r['type']}.{r['name']}" for r in current["resources"] if r["mode"] == "managed"
    ]
    assert len(addresses) == len(set(addresses))
    assert (
        sum(len(r["instances"]) for r in current["resources"] if r["mode"] == "managed")
        == (Run.objects.filter(environment__name=NAME, kind="apply").order_by("created_at").first().plan_summary["add"])
    ), "the state holds what the first apply created"
    outputs = {name: body["value"] for name, body in current["outputs"].items() if not body.get("sensitive")}
    assert outputs == Environment.objects.get(name=NAME).outputs
    assert lock_items() == [f"{STATE_BUCKET}/{STATE_KEY}-md5"], "no lock left behind"
    FIGURES["state_versions"] = len(versions)

    check = api.post(f"/api/v1/environments/{NAME}/runs/", {"kind": "plan"})["id"]
    wait_for(lambda: finished(check), 300, "the check plan")
    assert Run.objects.get(pk=check).status == "succeeded" and Run.objects.get(pk=check).has_changes is False


# --- the whole stack stopped and started again ---------------------------------------------------------------------


def snapshot(api: Api) -> dict:
    """What must survive a restart, read through the API and from the database."""
    environments = {
        e["name"]: {k: e[k] for k in ("blueprint", "tier", "region", "variables", "status", "outputs")}
        for e in api.results("/api/v1/environments/")
    }
    runs = {
        run["id"]: {k: run[k] for k in ("kind", "status", "has_changes", "plan_summary", "error", "finished_at")}
        for name in environments
        for run in api.results(f"/api/v1/environments/{name}/runs/")
    }
    events = {
        run_id: [(e["seq"], e["message"]) for e in api.results(f"/api/v1/runs/{run_id}/events/")] for run_id in runs
    }
    in_db = {
        "environments": list(Environment.objects.order_by("name").values("name", "variables", "status", "outputs")),
        "runs": dict(Run.objects.values_list("pk", "status")),
        "events": {
            hashlib.sha256(f"{run_id}\0{seq}\0{message}".encode()).hexdigest()
            for run_id, seq, message in RunEvent.objects.values_list("run_id", "seq", "message")
        },
    }
    return {"environments": environments, "runs": runs, "events": events, "db": in_db}


def test_stopping_and_starting_the_whole_stack_loses_no_run_event_or_environment(stack, api, ready, people):
    planning = api.post(f"/api/v1/environments/{NAME}/runs/", {"kind": "plan"})["id"]
    wait_for(lambda: run_status(planning) == "running" and len(events_in_db(planning)) > 3, 120, "the plan to run")
    # Asked by an admin, not the owner: destroying someone else's data waits for an approver (LAUNCHPAD_APPROVAL_POLICY).
    admin = Api(stack, make_user("admin", "rel-admin"))
    destroy = admin.post(f"/api/v1/environments/{NAME}/runs/", {"kind": "destroy"}, expect=201)["id"]
    assert run_status(destroy) == "queued", "queued behind the plan, not started"
    before = snapshot(api)

    stopping = time.monotonic()
    killed = stack.stop(timeout=240)  # SIGTERM: gunicorn's graceful and Celery's warm shutdown
    FIGURES["warm_shutdown_seconds"] = round(time.monotonic() - stopping, 1)
    assert killed == [], "every process stopped on SIGTERM"
    assert run_status(planning) == "succeeded", "the warm shutdown let the running plan finish"
    assert run_status(destroy) == "queued"
    for name in ("worker", "beat", "web"):
        stack.start(name)
    after = snapshot(api)

    assert after["environments"] == before["environments"]
    assert after["db"]["environments"] == before["db"]["environments"]
    progressed = {planning, destroy}
    assert set(after["runs"]) == set(before["runs"])
    assert {k: v for k, v in after["runs"].items() if k not in progressed} == {
        k: v for k, v in before["runs"].items() if k not in progressed
    }
    assert after["runs"][planning]["status"] == "succeeded"
    assert after["runs"][destroy]["status"] in ("queued", "running", "awaiting_approval")
    for run_id, events in before["events"].items():
        assert after["events"][run_id][: len(events)] == events, f"run #{run_id} lost events"
        if run_id not in progressed:
            assert after["events"][run_id] == events
    assert before["db"]["events"] <= after["db"]["events"]
    assert {k: v for k, v in after["db"]["runs"].items() if k not in progressed} == {
        k: v for k, v in before["db"]["runs"].items() if k not in progressed
    }

    # The run queued at the stop goes on after the start: its destroy plan waits for an approver, then destroys.
    wait_for(lambda: run_status(destroy) in ("awaiting_approval", "failed"), 300, "the destroy plan")
    assert run_status(destroy) == "awaiting_approval", Run.objects.get(pk=destroy).error
    FIGURES["queued_run_sent_again_by_beat"] = any("dispatched again" in m for _, m in events_in_db(destroy))
    Api(stack, people.approver).post(f"/api/v1/runs/{destroy}/approve/", {"comment": "after the restart"}, 200)
    wait_for(lambda: finished(destroy), 600, "the destroy")
    assert run_status(destroy) == "succeeded", Run.objects.get(pk=destroy).error
    assert api.get(f"/api/v1/environments/{NAME}/")["status"] == "destroyed"
    assert leftovers(f"spotmusic-{NAME}") == []

"""The embedded stack as `make run` starts it (the launcher itself: SQLite, the embedded broker and its own emulator in
a fresh data folder) under steady load for a few minutes: plan-only runs asked for at once on three sandboxes, beat's
drift checks and sweeps, two files in the broker's folder that are no messages, and the Celery worker's main process
SIGKILLed once in the middle. At the end every child of the launcher is up (the worker restarted once by it), every
run has ended (failed only with a reason, and only the ones the kill took), none was lost, nothing logged an
unrecoverable error, and SIGTERM stops the launcher with everything it started. Figures go to ARTIFACTS/soak.json.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

from provisioning.emulator.server import free_port
from tests.conftest import ARTIFACTS
from tests.integration.test_reliability import Api
from tests.support.stack import wait_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = {"soak-a": "10.61.0.0/16", "soak-b": "10.62.0.0/16", "soak-c": "10.63.0.0/16"}
# How long plans are asked for; the whole test takes about twice as long (start, first applies, drain, stop).
LOAD_SECONDS = 180
# Each sandbox gets a new plan this often (when its last one has ended): a third of the time busy on 2 cores.
PLAN_EVERY_SECONDS = 20
HEARTBEAT_TIMEOUT = 15
FINISHED = {"succeeded", "failed", "cancelled", "rejected"}
CHECK_FINISHED = {"clean", "drifted", "failed"}
ADMIN = ("soak-admin", "soak-admin-password-not-a-secret")
FIGURES: dict[str, object] = {}


class Launcher:
    """``python -m portal.launcher`` with its own data folder, ports and a log; the API as its admin."""

    def __init__(self, data_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.data_dir = data_dir
        self.log_path = ARTIFACTS / "soak-launcher.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "CELERY_"))}
        env.pop("AWS_ENDPOINT_URL", None)  # the launcher starts its own emulator, as `make run` does
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            LAUNCHPAD_DATA_DIR=str(data_dir),
            PORT=self.url.rsplit(":", 1)[1],
            EMULATOR_PORT=str(free_port()),
            DJANGO_SUPERUSER_USERNAME=ADMIN[0],
            DJANGO_SUPERUSER_PASSWORD=ADMIN[1],
            LAUNCHPAD_SWEEP_SECONDS="5",
            LAUNCHPAD_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
            LAUNCHPAD_REDISPATCH_AFTER_SECONDS="10",
            LAUNCHPAD_DRIFT_INTERVAL_SECONDS="60",
        )
        env.pop("SECRET_KEY", None)  # made and kept in the data folder by the launcher
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "portal.launcher"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.api: Api | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """Every pid the launcher started ``name`` with, in order."""
        return [int(pid) for pid in re.findall(rf"launcher: {name} (?:re)?started \(pid (\d+)\)", self.log())]

    def children(self) -> set[str]:
        return set(re.findall(r"launcher: (\w+) started \(pid", self.log()))

    def wait_until_serving(self) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, f"the launcher exited:\n{self.log()[-3000:]}"
            try:
                return requests.get(self.url + "/healthz", timeout=10).status_code == 200
            except requests.RequestException:  # not listening yet, or its workers still booting
                return False

        wait_for(answers, 180, "the launcher's web server")
        token = requests.post(
            self.url + "/api/v1/auth/token/", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30
        )
        assert token.status_code == 201, token.text
        self.api = SoakApi(self.url, token.json()["token"])

    def stop(self) -> int:
        """SIGTERM, as a service manager stops `make run`; SIGKILL to its session if it does not return."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()


class SoakApi(Api):
    """tests/integration/test_reliability.py's client, with a token from the API rather than the test database."""

    def __init__(self, url: str, token: str) -> None:
        self.stack, self.headers = SimpleNamespace(url=url), {"Authorization": f"Token {token}"}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    launcher = Launcher(tmp_path_factory.mktemp("soak"))
    try:
        launcher.wait_until_serving()
        yield launcher
    finally:
        launcher.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "soak.json").write_text(json.dumps(FIGURES, indent=2))


def runs_of(api: Api) -> list[dict]:
    return [run for name in ENVIRONMENTS for run in api.results(f"/api/v1/environments/{name}/runs/")]


def drift_checks_of(api: Api) -> list[dict]:
    return [check for name in ENVIRONMENTS for check in api.results(f"/api/v1/environments/{name}/drift-checks/")]


def after(check: dict, moment: datetime) -> bool:
    return datetime.fromisoformat(check["created_at"].replace("Z", "+00:00")) > moment


def test_the_embedded_stack_under_load_with_its_worker_killed_loses_nothing_and_stops_whole(launcher):
    api = launcher.api
    started = time.monotonic()
    for name, cidr in ENVIRONMENTS.items():
        api.post(
            "/api/v1/environments/",
            {"name": name, "blueprint": "sandbox", "tier": "dev", "variables": {"vpc_cidr": cidr}},
        )
    wait_for(lambda: all(run["status"] in FINISHED for run in runs_of(api)), 600, "the three sandboxes' applies")
    assert {api.get(f"/api/v1/environments/{name}/")["status"] for name in ENVIRONMENTS} <= {"ready", "drifted"}, [
        run["error"] for run in runs_of(api)
    ]

    requested: list[int] = []
    last: dict[str, int] = {}
    killed_at, killed_on = None, None
    under_way_at_kill: set[int] = set()
    broker = launcher.data_dir / "broker"

    def ask_plan(name: str) -> int:
        return api.post(f"/api/v1/environments/{name}/runs/", {"kind": "plan"})["id"]

    load_started = time.monotonic()
    with ThreadPoolExecutor(len(ENVIRONMENTS)) as pool:
        while time.monotonic() - load_started < LOAD_SECONDS:
            statuses = {run["id"]: run["status"] for run in runs_of(api)}
            idle = [name for name in ENVIRONMENTS if statuses.get(last.get(name), "succeeded") in FINISHED]
            for name, run_id in zip(idle, pool.map(ask_plan, idle), strict=True):
                last[name] = run_id
                requested.append(run_id)
            if killed_at is None and time.monotonic() - load_started > LOAD_SECONDS / 3:
                wait_for(lambda: any(run["status"] == "running" for run in runs_of(api)), 120, "a run under way")
                # What kombu's own transport delivered to the worker and died of; here they are set aside.
                (broker / f"{time.time_ns():020d}_empty.celery.msg").write_bytes(b"")
                (broker / f"{time.time_ns():020d}_truncated.celery.msg").write_bytes(b'{"body": "W1s')
                unfinished = {run["id"] for run in runs_of(api) if run["status"] not in FINISHED}
                os.kill(launcher.pids("worker")[-1], signal.SIGKILL)
                killed_at, under_way_at_kill = time.monotonic() - started, unfinished
                killed_on = datetime.now(UTC)
            time.sleep(PLAN_EVERY_SECONDS)

    # Every run ends: the ones the kill took are failed by beat's sweep, their successors and lost messages go on.
    wait_for(lambda: all(run["status"] in FINISHED for run in runs_of(api)), 600, "every run to end")
    # Drift checks asked for since the kill end too (one the kill took waits for the 20-minute lost-check rule of
    # portal/environments/models.py: not the broker's doing, so only counted).
    wait_for(
        lambda: all(check["status"] in CHECK_FINISHED for check in drift_checks_of(api) if after(check, killed_on)),
        300,
        "the drift checks asked for since the kill to end",
    )
    minutes = (time.monotonic() - started) / 60
    runs = runs_of(api)
    by_id = {run["id"]: run for run in runs}
    lost = [run_id for run_id in requested if by_id.get(run_id, {}).get("status") not in FINISHED]
    failed = {run["id"]: run["error"] for run in runs if run["status"] != "succeeded"}
    checks = drift_checks_of(api)
    log = launcher.log()
    FIGURES.update(
        runs=len(runs),
        plans_requested=len(requested),
        minutes=round(minutes, 1),
        restarts=len(re.findall(r"launcher: \w+ restarted \(pid", log)),
        lost=len(lost),
        failed=len(failed),
        failed_runs_were_under_way_at_the_kill=sorted(failed),
        worker_killed_after_seconds=round(killed_at),
        drift_checks=len(checks),
        drift_checks_finished=sum(check["status"] in CHECK_FINISHED for check in checks),
        drift_checks_under_way_at_the_kill=sum(
            not after(check, killed_on) for check in checks if check["status"] not in CHECK_FINISHED
        ),
        runs_sent_again_by_beat=sum(
            any("dispatched again" in event["message"] for event in api.results(f"/api/v1/runs/{run['id']}/events/"))
            for run in runs
        ),
        broker_files_rejected=len(os.listdir(launcher.data_dir / "broker-rejected")),
    )

    assert lost == [], "every plan asked for was carried out or failed with a reason"
    assert set(failed) <= under_way_at_kill, f"only the runs the kill took may fail: {failed}"
    assert all("stopped reporting" in reason for reason in failed.values()), failed
    assert FIGURES["drift_checks"] >= len(ENVIRONMENTS), "beat's drift checks ran along"
    assert FIGURES["drift_checks_under_way_at_the_kill"] <= 2, "the worker held two messages at most"

    # The launcher restarted the worker, and only it; every child is up.
    assert len(launcher.pids("worker")) == 2 and FIGURES["restarts"] == 1, log[-3000:]
    assert launcher.children() == {"emulator", "worker", "beat", "web", "demo"}
    assert all(alive(launcher.pids(name)[-1]) for name in launcher.children())
    assert re.search(r"worker \(pid \d+\) exited with signal SIGKILL", log)
    # The two files that were no messages: set aside with a line each; nothing crashed, nothing left queued.
    assert log.count("is not a message") == 2 and FIGURES["broker_files_rejected"] == 2
    assert "Unrecoverable error" not in log and "Internal Server Error" not in log
    # Beat keeps sending its sweeps, so a few messages may be on their way at any moment: each one queued now is taken.
    queued = {name for name in os.listdir(broker) if name.endswith(".celery.msg")}
    wait_for(lambda: not queued & set(os.listdir(broker)), 60, f"the worker to take the queued messages {queued}")

    everything = [pid for name in launcher.children() for pid in launcher.pids(name)]
    descendants = psutil.Process(launcher.process.pid).children(recursive=True)
    assert launcher.stop() == 0
    assert launcher.log().rstrip().endswith("Launchpad stopped."), launcher.log()[-2000:]
    assert not [pid for pid in everything if alive(pid)]
    assert not [process.pid for process in descendants if alive(process.pid)]

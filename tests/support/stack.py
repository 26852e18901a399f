"""The real stack of the end-to-end tests: gunicorn, a Celery worker and beat against the test database and emulator.

Shared by tests/integration (through the API) and tests/ui (through a browser).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from provisioning.emulator.server import free_port
from tests.conftest import ARTIFACTS

REPO = Path(__file__).resolve().parents[2]
HEARTBEAT_TIMEOUT = 15


def database_url() -> str:
    """The test database, for the worker process (it must see what the test writes)."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll ``predicate`` until it answers something true (returned), or fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Stack:
    """gunicorn (``web``, at ``url``), a Celery worker and beat against the test database, the broker and the emulator.

    Each process runs in its own session, so ``kill`` takes its children (gunicorn's and Celery's workers) with it.
    """

    def __init__(self, emulator, tmp_path: Path, endpoint: str | None = None) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.test_settings",
            "DATABASE_URL": database_url(),
            # ``endpoint`` puts something between the stack and the emulator (tests/support/proxy.py).
            "AWS_ENDPOINT_URL": endpoint or emulator.endpoint,
            "LAUNCHPAD_WORK_DIR": str(tmp_path / "work"),
            # The stack's own temporary directory: what its processes (and Terraform) put there can be looked at.
            "TMPDIR": str(tmp_path / "tmp"),
            "LAUNCHPAD_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            # Beat looks for lost workers and lost messages every 5 s, not 30: the same sweeps, sooner.
            "LAUNCHPAD_SWEEP_SECONDS": "5",
        }
        self.tmp_path = tmp_path
        (tmp_path / "tmp").mkdir(exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.worker_log = ARTIFACTS / "worker.log"
        self.web_log = ARTIFACTS / "web.log"
        # One port for the stack's life: a restarted web answers where the clients already point.
        self.url = f"http://127.0.0.1:{free_port()}"

    def start(self, name: str) -> None:
        celery = ["celery", "-A", "portal"]
        argv = {
            # As `make run` serves it: two gunicorn workers of four threads, the access log in web.log.
            "web": ["gunicorn", "portal.wsgi", "--bind", self.url.removeprefix("http://"), "--workers", "2"]
            + ["--threads", "4", "--access-logfile", "-"],
            "worker": [*celery, "worker", "--concurrency", "2", "--loglevel", "INFO"]
            + ["--without-gossip", "--without-mingle"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(self.tmp_path / "beat-schedule")],
        }[name]
        logs = {"web": self.web_log, "worker": self.worker_log, "beat": ARTIFACTS / "beat.log"}
        log = open(logs[name], "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if name == "web":
            self.wait_for_web()

    def wait_for_web(self, timeout: float = 60) -> None:
        """Return once gunicorn answers /healthz (the database reachable); fail with its log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes["web"].poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        tail = self.web_log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"gunicorn did not answer on {self.url} within {timeout:.0f} s:\n{tail}")

    def kill(self, name: str) -> None:
        """SIGKILL the process group (a worker and its pool children, gunicorn and its workers), as a crash would."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, *names: str, timeout: float = 30) -> list[str]:
        """SIGTERM (Celery's warm shutdown, gunicorn's graceful one) ``names`` or every process, all at once.

        A process still there after ``timeout`` seconds is killed with its group; their names are returned.
        """
        stopping = {name: self.processes.pop(name) for name in names or list(self.processes)}
        for process in stopping.values():
            process.terminate()
        deadline = time.monotonic() + timeout
        killed = []
        for name, process in stopping.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                killed.append(name)
        return killed


@pytest.fixture
def stack(emulator, tmp_path):
    stack = Stack(emulator, tmp_path)
    stack.start("worker")
    stack.start("beat")
    yield stack
    stack.stop()

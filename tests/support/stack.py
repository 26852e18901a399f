"""The real stack of the end-to-end tests: a Celery worker and beat against the test database and the emulator.

Shared by tests/integration (through the API) and tests/ui (through a browser).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

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


class Stack:
    """A Celery worker and beat against the test database, the broker and the emulator."""

    def __init__(self, emulator, tmp_path: Path) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.test_settings",
            "DATABASE_URL": database_url(),
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "LAUNCHPAD_WORK_DIR": str(tmp_path / "work"),
            "LAUNCHPAD_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        }
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen] = {}
        ARTIFACTS.mkdir(exist_ok=True)
        self.worker_log = ARTIFACTS / "worker.log"

    def start(self, name: str) -> None:
        argv = {
            "worker": ["worker", "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            "beat": ["beat", "--loglevel", "INFO", "--schedule", str(self.tmp_path / "beat-schedule")],
        }[name]
        log = open(self.worker_log if name == "worker" else ARTIFACTS / "beat.log", "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *argv],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL the process group: the worker and its pool children, as a crash would."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def stack(emulator, tmp_path):
    stack = Stack(emulator, tmp_path)
    stack.start("worker")
    stack.start("beat")
    yield stack
    stack.stop()

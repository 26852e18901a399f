"""A worker's heartbeat on the job it holds: a thread that keeps ``heartbeat_at`` fresh while the job works."""

from __future__ import annotations

import os
import socket
import threading

from django.utils import timezone

from portal.jobs.models import Job

HEARTBEAT_SECONDS = 10


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """Keeps the job's heartbeat fresh while a worker holds it; with ``cancellable``, also reads cancel requests.

    The reaper (portal.jobs.tasks.reap_lost_jobs) fails a job whose heartbeat is older than the timeout.
    """

    def __init__(self, job: Job, cancellable: bool = False) -> None:
        self.job = job
        self.cancellable = cancellable
        self.cancel_requested = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        rows = type(self.job).objects.filter(pk=self.job.pk)
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            rows.update(heartbeat_at=timezone.now())
            if self.cancellable and rows.filter(cancel_requested=True).exists():
                self.cancel_requested.set()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

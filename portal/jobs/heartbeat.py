"""A worker's heartbeat on the job it holds: a thread that keeps ``heartbeat_at`` fresh while the job works."""

from __future__ import annotations

import os
import socket
import threading

from django.utils import timezone

from portal.jobs.models import Job
from portal.jobs.periodic import Periodic

HEARTBEAT_SECONDS = 10


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat(Periodic):
    """Keeps the job's heartbeat fresh while a worker holds it; with ``cancellable``, also reads cancel requests.

    The reaper (portal.jobs.tasks.reap_lost_jobs) fails a job whose heartbeat is older than the timeout.
    """

    def __init__(self, job: Job, cancellable: bool = False) -> None:
        super().__init__()
        self.rows = type(job).objects.filter(pk=job.pk)
        self.cancellable = cancellable
        self.cancel_requested = threading.Event()

    def interval(self) -> float:
        return HEARTBEAT_SECONDS

    def tick(self) -> None:
        self.rows.update(heartbeat_at=timezone.now())
        if self.cancellable and self.rows.filter(cancel_requested=True).exists():
            self.cancel_requested.set()

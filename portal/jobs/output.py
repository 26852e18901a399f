"""A job's output while Terraform runs: its lines buffered and appended as the job's events twice a second."""

from __future__ import annotations

import threading
from collections.abc import Callable

from portal.jobs.choices import EventStream
from portal.jobs.models import Job
from portal.jobs.periodic import Periodic
from provisioning.terraform import describe_event, json_event

FLUSH_SECONDS = 0.5


class EventWriter(Periodic):
    """A sink for Terraform's lines (``writer(stream, line)``): writes them with ``append(job, lines)`` every
    half second while it runs, and the rest when it stops."""

    def __init__(self, job: Job, append: Callable[[Job, list], object]) -> None:
        super().__init__()
        self.job = job
        self.append = append
        self.pending: list[tuple[str, str, dict | None]] = []
        self.lock = threading.Lock()

    def __call__(self, stream: str, line: str) -> None:
        data = json_event(line) if stream == "stdout" else None
        described = describe_event(data) if data else None
        message = line if described is None else described
        with self.lock:
            self.pending.append((stream if stream in EventStream.values else EventStream.LAUNCHPAD, message, data))

    def flush(self) -> None:
        with self.lock:
            lines, self.pending = self.pending, []
        if lines:
            self.append(self.job, lines)

    def interval(self) -> float:
        return FLUSH_SECONDS

    def tick(self) -> None:
        self.flush()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.flush()

"""A thread that does one thing every few seconds while a ``with`` block runs (a heartbeat, a flush of output)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class Periodic(ABC):
    """Calls ``tick()`` every ``interval()`` seconds from its own thread, from entering the block until leaving it."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    @abstractmethod
    def interval(self) -> float:
        """Seconds between two ticks (read at each, so a test may shorten it)."""

    @abstractmethod
    def tick(self) -> None:
        """What is done every interval."""

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval()):
            self.tick()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

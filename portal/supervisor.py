"""Keep `make run`'s processes up, and stop every one of them (and whatever they started) when asked.

A child that exits is restarted after a delay that doubles with each exit in a row (capped), starting again
from the first delay once the child has stayed up a while; each exit and restart is logged with its status.
Only :meth:`Supervisor.stop` stops children for good.

Each :class:`Command` runs in its own session, so its process group holds everything it forks (gunicorn's
workers, Celery's pool processes): Ctrl-C in the terminal reaches the launcher only, which then stops the
children in order, and a group can be killed whole. Terraform is the exception on purpose: it runs in a
session of its own so that it saves its state and releases its lock when its worker dies
(provisioning/terraform.py). On stop it is found among the worker's descendants and sent SIGINT, which makes
it do just that, then killed if it has not exited after the grace period.

Written here rather than taken from supervisord or circus: those run as daemons of their own with their own
configuration, while the launcher must restart the emulator through its Python object and stop in one
command's lifetime.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """How long to wait before restarting a child that exited, by how many times in a row it did."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    # A child up this long had a normal run: its next exit waits ``first`` again.
    healthy_after: float = 60.0

    def delay(self, exits_in_a_row: int) -> float:
        """Seconds to wait after the ``exits_in_a_row``-th exit in a row (1, 2, ...)."""
        return min(self.cap, self.first * self.factor ** max(0, exits_in_a_row - 1))


class Child(ABC):
    """A supervised program: started, polled, asked to stop, killed."""

    name: str = "child"
    # Stopped after every other child (a service the others use to the end, like the emulator).
    stop_last: bool = False

    @abstractmethod
    def start(self) -> None:
        """Start the program (again); raise if it could not be started."""

    @abstractmethod
    def poll(self) -> int | None:
        """The exit status once the program has exited (reaping it), None while it runs."""

    @property
    @abstractmethod
    def pid(self) -> int | None:
        """The program's process id, None before its first start."""

    @property
    def group(self) -> int | None:
        """The process group holding the program and its children; None when it shares the launcher's."""
        return None

    def terminate(self) -> None:
        """Ask the program to stop (SIGTERM to it alone: it stops its own children its own way)."""
        os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the program's whole process group, or the program alone when it has none of its own."""
        try:
            if self.group is not None:
                os.killpg(self.group, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # nothing left of it

    def descendants(self) -> list[psutil.Process]:
        """Every process below the program still running, whatever their group or session."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except (psutil.NoSuchProcess, TypeError):
            return []


class Command(Child):
    """A command line in a session of its own: its process group is its pid."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stop_last: bool = False,
    ) -> None:
        self.name, self.argv, self.cwd, self.env, self.stop_last = name, argv, cwd, env, stop_last
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the command in a new session; its output goes where the launcher's goes."""
        self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, start_new_session=True)

    def poll(self) -> int | None:
        """The exit status once exited (negative: the signal that ended it), None while running."""
        return None if self.process is None else self.process.poll()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def group(self) -> int | None:
        return self.pid


@dataclass
class _Supervised:
    child: Child
    started_at: float
    exits_in_a_row: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Start children, restart those that exit (with :class:`Backoff`), and stop them all on :meth:`stop`."""

    backoff: Backoff = field(default_factory=Backoff)
    # How long a child may take to stop on SIGTERM (and Terraform on SIGINT) before it is killed.
    grace: float = 20.0
    clock: Callable[[], float] = time.monotonic
    restarts: int = field(default=0, init=False)
    _children: list[_Supervised] = field(default_factory=list, init=False, repr=False)

    def launch(self, child: Child) -> None:
        """Start ``child`` and supervise it from now on."""
        child.start()
        self._children.append(_Supervised(child, started_at=self.clock()))
        log.info("%s started (pid %s).", child.name, child.pid)

    @property
    def children(self) -> list[Child]:
        return [supervised.child for supervised in self._children]

    def check(self) -> None:
        """One look at every child: note the ones that exited, restart those whose delay is over."""
        now = self.clock()
        for supervised in self._children:
            child = supervised.child
            if supervised.restart_at is None:
                status = child.poll()
                if status is None:
                    continue
                up = now - supervised.started_at
                if up >= self.backoff.healthy_after:
                    supervised.exits_in_a_row = 0
                supervised.exits_in_a_row += 1
                delay = self.backoff.delay(supervised.exits_in_a_row)
                # What it forked may outlive it (gunicorn's workers holding the port, Celery's pool): not its
                # restart's. Terraform, in a session of its own, is left to finish and release its lock.
                child.kill()
                log.warning(
                    "%s (pid %s) exited with %s after %.0f s; restarting it in %.0f s (exit %d in a row).",
                    child.name,
                    child.pid,
                    describe_status(status),
                    up,
                    delay,
                    supervised.exits_in_a_row,
                )
                supervised.restart_at = now + delay
            elif now >= supervised.restart_at:
                self._restart(supervised, now)

    def _restart(self, supervised: _Supervised, now: float) -> None:
        child = supervised.child
        supervised.restart_at = None
        supervised.started_at = now
        self.restarts += 1
        try:
            child.start()
        except Exception as error:  # noqa: BLE001  (a failed start is one more exit: retried after its delay)
            supervised.exits_in_a_row += 1
            delay = self.backoff.delay(supervised.exits_in_a_row)
            supervised.restart_at = now + delay
            log.error("%s could not be restarted (%s); trying again in %.0f s.", child.name, error, delay)
            return
        log.warning("%s restarted (pid %s).", child.name, child.pid)

    def run(self, stopping: Callable[[], bool], interval: float = 0.5) -> None:
        """Supervise until ``stopping()`` answers True."""
        while not stopping():
            self.check()
            time.sleep(interval)

    def stop(self) -> list[str]:
        """Stop every child and everything it started; return the names of those that had to be killed.

        The children that others use to the end (``stop_last``) stop after the others. Each wave: SIGTERM to
        each child, ``grace`` seconds to exit, then SIGKILL to its group; Terraform found below it gets SIGINT
        and ``grace`` seconds more. When this returns, none of them runs.
        """
        killed: list[str] = []
        for last in (False, True):
            wave = [supervised.child for supervised in self._children if supervised.child.stop_last is last]
            killed += self._stop_wave([child for child in wave if child.poll() is None])
        self._children.clear()
        return killed

    def _stop_wave(self, children: list[Child]) -> list[str]:
        seen = {child.name: child.descendants() for child in children}
        for child in children:
            log.info("Stopping %s (pid %s).", child.name, child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        _wait_until(lambda: all(child.poll() is not None for child in children), self.grace)
        killed, strays = [], []
        for child in children:
            seen[child.name] += child.descendants()
            if child.poll() is None:
                log.warning("%s did not stop within %.0f s of SIGTERM; killing it.", child.name, self.grace)
                killed.append(child.name)
            child.kill()
            home = child.group if child.group is not None else os.getpgrp()
            strays += [process for process in _alive(seen[child.name]) if _group_of(process) not in (home, None)]
        # Children are reaped by their own poll(): psutil's wait would reap them and lose their status.
        _wait_until(lambda: all(child.poll() is not None for child in children), self.grace)
        # What runs in a session of its own below a child (Terraform) outlived the group's SIGKILL.
        for process in strays:
            log.warning("Interrupting %s (pid %d), left by a stopped process.", _command(process), process.pid)
            _signal(process, signal.SIGINT)
        _, late = psutil.wait_procs(strays, timeout=self.grace)
        for process in late:
            log.warning(
                "%s (pid %d) did not stop within %.0f s of SIGINT; killing it.",
                _command(process),
                process.pid,
                self.grace,
            )
            _signal(process, signal.SIGKILL)
        psutil.wait_procs(_alive(process for processes in seen.values() for process in processes), timeout=5)
        return killed


def describe_status(status: int) -> str:
    """ "status 1", or "signal SIGKILL" for a process a signal ended (Popen's negative status)."""
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"status {status}"


def _wait_until(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes still running (a zombie has finished: only its parent's reaping is missing)."""
    alive = {}
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive[process.pid] = process
        except psutil.NoSuchProcess:
            continue
    return list(alive.values())


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


def _signal(process: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signum)


def _command(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return "a process"

"""Workspaces as a killed worker leaves them under the work directory, for the housekeeping tests."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioning.workspace import LOCK_FILE

SECRET = "db-password-9f8e7d6c5b4a"
LOCK_ID = "d52a75be-5dcb-299c-5ddd-b8ba777054ae"
# What Terraform prints when it cannot release the state lock and can read it back (provisioning.terraform).
UNRELEASED_LOCK_LOG = (
    f"Error: Error releasing the state lock\n\nLock Info:\n  ID:        {LOCK_ID}\n  Operation: apply\n"
)


def left_behind(work_dir: Path, name: str, errored: str | None = None, log: str = "") -> Path:
    """The workspace ``name`` as a killed worker leaves it: its lock file, a saved plan holding ``SECRET``, the
    apply's log folder (stderr ``log``) and, with ``errored``, the errored.tfstate Terraform wrote."""
    directory = work_dir / name
    root = directory / "ws" / "blueprints" / "sandbox"
    logs = root / ".launchpad-log-apply-x1y2"
    logs.mkdir(parents=True)
    (directory / LOCK_FILE).touch()
    (root / "launchpad.tfplan").write_text(f"plan with {SECRET}")
    (logs / "stdout.log").write_text('{"type": "apply_start"}\n')
    (logs / "stderr.log").write_text(log)
    if errored is not None:
        (root / "errored.tfstate").write_text(errored)
    return directory


@contextmanager
def terraform_still_running(directory: Path) -> Iterator[None]:
    """While in the block, a process holds ``directory``'s lock as a Terraform that outlived its worker does."""
    descriptor = os.open(directory / LOCK_FILE, os.O_RDWR)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    terraform = subprocess.Popen(["sleep", "300"], pass_fds=(descriptor,), start_new_session=True)
    os.close(descriptor)  # the worker that took the lock is gone; the process it started keeps it
    try:
        yield
    finally:
        os.kill(terraform.pid, signal.SIGKILL)
        terraform.wait()

"""Render a Terraform workspace for one blueprint in a fresh directory: root module, tfvars, backend config.

Layout of a workspace (``<dir>``)::

    <dir>/modules                     -> symlink to terraform_modules/modules (read-only, shared)
    <dir>/blueprints/<name>/*.tf      copy of the blueprint's root module (sources say ../../modules/...);
                                      any root of the library keeps its relative place the same way
    <dir>/blueprints/<name>/terraform.tfvars.json
    <dir>/blueprints/<name>/backend.hcl   S3 backend settings for `terraform init -backend-config`

The blueprint's relative module sources resolve through the symlink, so nothing is rewritten and the
modules are never copied; each workspace has its own ``.terraform`` and lock file, so concurrent runs
never share a working directory.

Workspaces hold secrets (a saved plan carries every variable value, ``errored.tfstate`` a whole state), so
every directory here is made 0700 and every file 0600, and housekeeping (``claimed_workspace``,
``remove_workspace``) removes them once no worker and no Terraform uses them.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from provisioning.terraform import ERRORED_STATE, LOG_DIR_PREFIX, unreleased_lock_id

MODULE_LIBRARY = Path(__file__).resolve().parents[1] / "terraform_modules"
BLUEPRINTS_DIR = MODULE_LIBRARY / "blueprints"
_BLUEPRINT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class WorkspaceError(ValueError):
    """The workspace cannot be rendered; the message says why."""


@dataclass(frozen=True)
class BackendConfig:
    """Where a blueprint's state lives: an S3 object, locked through a DynamoDB table."""

    bucket: str
    key: str
    region: str
    dynamodb_table: str
    endpoint: str | None = None

    def settings(self) -> dict[str, str]:
        """The `-backend-config` settings; emulator-only switches are added only with an endpoint."""
        settings = {
            "bucket": self.bucket,
            "key": self.key,
            "region": self.region,
            "dynamodb_table": self.dynamodb_table,
            "encrypt": "true",
        }
        if self.endpoint:
            settings.update(
                endpoint=self.endpoint,
                dynamodb_endpoint=self.endpoint,
                sts_endpoint=self.endpoint,
                iam_endpoint=self.endpoint,
                force_path_style="true",
                skip_credentials_validation="true",
                skip_metadata_api_check="true",
                skip_region_validation="true",
            )
        return settings


@dataclass(frozen=True)
class Workspace:
    """A rendered workspace: Terraform runs in ``root``."""

    directory: Path
    root: Path
    var_file: Path
    backend_file: Path
    # The workspace's lock (claimed_workspace), for each Terraform run in it to hold as well.
    lock_fd: int | None = None

    @property
    def plan_file(self) -> Path:
        return self.root / "launchpad.tfplan"


def blueprint_dir(name: str) -> Path:
    """The root module of blueprint ``name`` (a folder of terraform_modules/blueprints/)."""
    if not _BLUEPRINT_NAME.match(name):
        raise WorkspaceError(f"{name!r} is not a blueprint name.")
    path = BLUEPRINTS_DIR / name
    if not (path / "main.tf").is_file():
        raise WorkspaceError(f"There is no blueprint called {name!r}.")
    return path


def write_private(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path``, readable and writable by its owner only (0600), whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a file that existed keeps its mode through os.open
        handle.write(data.encode() if isinstance(data, str) else data)


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (os.makedirs gives the parents the umask's mode)."""
    missing = [path, *path.parents]
    for directory in reversed(missing[: next(i for i, p in enumerate(missing) if p.exists())]):
        directory.mkdir(mode=0o700, exist_ok=True)  # another worker may make it at the same moment


def _hcl_value(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid HCL string literal


def render_workspace(
    blueprint: str | Path,
    directory: Path,
    variables: Mapping[str, object],
    backend: BackendConfig | None = None,
    lock_fd: int | None = None,
) -> Workspace:
    """Render ``blueprint`` into the empty or missing ``directory`` with ``variables`` and ``backend``.

    Secrets are not written here: pass them to Terraform through the environment (``TF_VAR_...``). Directories
    are made 0700 and files 0600. ``lock_fd`` is the lock of the claimed directory it is rendered in, if any.
    """
    source = (Path(blueprint) if isinstance(blueprint, Path) else blueprint_dir(blueprint)).resolve()
    if not source.is_relative_to(MODULE_LIBRARY):
        raise WorkspaceError(f"{source} is not a root module of the module library.")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise WorkspaceError(f"The workspace directory {directory} is not empty.")
    # The root keeps its place relative to the library, so its relative module sources resolve.
    root = directory / source.relative_to(MODULE_LIBRARY)
    make_private_dirs(root)
    os.symlink(MODULE_LIBRARY / "modules", directory / "modules", target_is_directory=True)
    for tf_file in sorted(source.glob("*.tf")):
        write_private(root / tf_file.name, tf_file.read_bytes())
    var_file = root / "terraform.tfvars.json"
    write_private(var_file, json.dumps(dict(variables), indent=2, sort_keys=True))
    backend_file = root / "backend.hcl"
    if backend is not None:
        write_private(
            backend_file, "".join(f"{key} = {_hcl_value(value)}\n" for key, value in backend.settings().items())
        )
    return Workspace(directory=directory, root=root, var_file=var_file, backend_file=backend_file, lock_fd=lock_fd)


# --- housekeeping ------------------------------------------------------------------------------------
# A claimed workspace holds an exclusive flock on its LOCK_FILE for as long as it is used, and every Terraform
# started in it inherits that lock (the same open file). Terraform runs in its own session and outlives a killed
# worker: the lock then stays held until Terraform ends. Anyone may thus tell a workspace in use from a left-over
# one by trying the lock, from any machine sharing the work directory (Linux maps flock to NFS locks).
LOCK_FILE = ".launchpad-lock"
# Workspaces a worker makes under the work directory: "<operation>-<id>-<random>" (operation: run, drift).
_WORKSPACE_NAME = re.compile(r"^(?P<operation>[a-z]+)-(?P<id>[0-9]+)-[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class ClaimedDirectory:
    """A fresh directory under the work directory and the descriptor of the lock that marks it in use."""

    path: Path
    lock_fd: int


@contextmanager
def claimed_workspace(work_dir: Path, operation: str, operation_id: int) -> Iterator[ClaimedDirectory]:
    """A fresh 0700 directory ``<operation>-<id>-*`` under ``work_dir``, locked while in use, removed at the end."""
    make_private_dirs(work_dir)
    path = Path(tempfile.mkdtemp(prefix=f"{operation}-{operation_id}-", dir=work_dir))
    descriptor = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield ClaimedDirectory(path=path, lock_fd=descriptor)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(descriptor)


@dataclass(frozen=True)
class FoundWorkspace:
    """A workspace directory found under the work directory, and the run or drift check it was made for."""

    path: Path
    operation: str
    operation_id: int


def found_workspaces(work_dir: Path) -> list[FoundWorkspace]:
    """Every workspace directory directly under ``work_dir`` (bootstrap and recovery folders are not ones)."""
    if not work_dir.is_dir():
        return []
    found = []
    for entry in sorted(work_dir.iterdir()):
        match = _WORKSPACE_NAME.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink():
            found.append(FoundWorkspace(entry, match["operation"], int(match["id"])))
    return found


@dataclass(frozen=True)
class ErroredState:
    """The state Terraform wrote to a workspace when the state store refused it, and the lock it left, if printed."""

    state: bytes
    lock_id: str | None


def _errored_state(path: Path) -> ErroredState | None:
    """The ``errored.tfstate`` Terraform left in workspace ``path``, with the lock ID its logs print, if any."""
    found = None
    logs = []
    for directory, _subdirectories, files in os.walk(path):  # symlinks (the module library) are not followed
        if ERRORED_STATE in files:
            found = Path(directory) / ERRORED_STATE
        if Path(directory).name.startswith(LOG_DIR_PREFIX):
            logs += [Path(directory) / name for name in files]
    if found is None:
        return None
    output = "\n".join(log.read_text(errors="replace") for log in sorted(logs))
    return ErroredState(state=found.read_bytes(), lock_id=unreleased_lock_id(output))


def remove_workspace(path: Path, keep: Callable[[ErroredState], None]) -> bool:
    """Remove the workspace ``path`` unless it is in use; return False (nothing touched) when it is.

    In use means its lock is held: by the worker using it, or by a Terraform that outlived its worker. Terraform
    saves the state to the state store, not here; but when the store refuses it at the end of an apply, Terraform
    writes it to ``errored.tfstate`` in its working directory, and had that directory gone, the state (every
    resource made) would be lost. So a workspace is removed only once no Terraform works in it, and the
    ``errored.tfstate`` found then is handed to ``keep`` first (to be kept encrypted); if ``keep`` raises,
    nothing is removed.
    """
    try:
        descriptor = os.open(path / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        descriptor = None  # its worker died before taking the lock: no Terraform ever ran in it
    try:
        if descriptor is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        errored = _errored_state(path)
        if errored is not None:
            keep(errored)
        shutil.rmtree(path)
        return True
    finally:
        if descriptor is not None:
            os.close(descriptor)

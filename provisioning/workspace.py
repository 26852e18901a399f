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
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def _hcl_value(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid HCL string literal


def render_workspace(
    blueprint: str | Path,
    directory: Path,
    variables: Mapping[str, object],
    backend: BackendConfig | None = None,
) -> Workspace:
    """Render ``blueprint`` into the empty or missing ``directory`` with ``variables`` and ``backend``.

    Secrets are not written here: pass them to Terraform through the environment (``TF_VAR_...``).
    """
    source = (Path(blueprint) if isinstance(blueprint, Path) else blueprint_dir(blueprint)).resolve()
    if not source.is_relative_to(MODULE_LIBRARY):
        raise WorkspaceError(f"{source} is not a root module of the module library.")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise WorkspaceError(f"The workspace directory {directory} is not empty.")
    # The root keeps its place relative to the library, so its relative module sources resolve.
    root = directory / source.relative_to(MODULE_LIBRARY)
    root.mkdir(parents=True)
    os.symlink(MODULE_LIBRARY / "modules", directory / "modules", target_is_directory=True)
    for tf_file in sorted(source.glob("*.tf")):
        shutil.copyfile(tf_file, root / tf_file.name)
    var_file = root / "terraform.tfvars.json"
    var_file.write_text(json.dumps(dict(variables), indent=2, sort_keys=True))
    backend_file = root / "backend.hcl"
    if backend is not None:
        backend_file.write_text("".join(f"{key} = {_hcl_value(value)}\n" for key, value in backend.settings().items()))
    return Workspace(directory=directory, root=root, var_file=var_file, backend_file=backend_file)

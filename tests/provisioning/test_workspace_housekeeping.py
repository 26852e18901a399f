"""A workspace holds secrets (the saved plan, Terraform's logs, errored.tfstate): everything in it is its owner's
alone (0600 files, 0700 directories), Terraform's log files live in it (never in /tmp), and a workspace is removed
only once no worker and no Terraform that outlived its worker uses it, the state Terraform could not save handed
over first. Fast: Terraform is a stand-in script. (The worker killed mid-apply, end to end:
tests/integration/test_provisioning_e2e.py.)"""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

import pytest

from provisioning import engine
from provisioning.terraform import TerraformRunner
from provisioning.toolchain import Toolchain
from provisioning.workspace import (
    LOCK_FILE,
    ErroredState,
    FoundWorkspace,
    claimed_workspace,
    found_workspaces,
    remove_workspace,
    render_workspace,
)
from tests.support.workspaces import LOCK_ID, SECRET, UNRELEASED_LOCK_LOG, left_behind, terraform_still_running

STATE = json.dumps({"version": 4, "serial": 3, "lineage": "l-1", "secret": SECRET})


def stand_in(tmp_path: Path, body: str) -> Toolchain:
    """A Toolchain whose "terraform" is the shell script ``body``."""
    script = tmp_path / "terraform"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return Toolchain(terraform_bin=script, cli_config=tmp_path / "cli.tfrc", plugin_cache_dir=tmp_path, mirror_dir=None)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The temporary directory of this process (tempfile's), empty: anything written there is seen."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


# --- modes and places -------------------------------------------------------------------------------------------
def test_every_file_of_a_claimed_workspace_is_0600_and_every_directory_0700(tmp_path):
    with claimed_workspace(tmp_path / "work", "run", 7) as claimed:
        render_workspace("sandbox", claimed.path / "ws", {"environment": "demo"}, lock_fd=claimed.lock_fd)
        paths = [claimed.path, *claimed.path.rglob("*")]
        assert mode(tmp_path / "work") == 0o700
        assert claimed.path.name.startswith("run-7-")
        for path in paths:
            if path.is_symlink():
                continue  # the module library, shared and read-only
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
        assert len([path for path in paths if path.is_file()]) > 5, "the root module, tfvars and the lock"
    assert not claimed.path.exists()


def test_terraform_writes_its_files_0600_and_its_log_files_in_the_working_directory_not_in_tmp(tmp_path, private_tmp):
    # What Terraform makes (a saved plan, errored.tfstate, .terraform) is made under the umask it is given; the
    # script prints the place and mode of its own stdout file.
    chain = stand_in(tmp_path, 'echo plan > launchpad.tfplan; stat -c "%a %n" "$(readlink /proc/$$/fd/1)"')
    workspace = tmp_path / "ws"
    workspace.mkdir()

    result = TerraformRunner(workspace, chain).run("plan")

    file_mode, log = result.stdout.split()
    assert file_mode == "600"
    assert Path(log).parent.parent == workspace and Path(log).parent.name.startswith(".launchpad-log-plan-")
    assert mode(workspace / "launchpad.tfplan") == 0o600
    assert list(workspace.iterdir()) == [workspace / "launchpad.tfplan"], "the log folder goes after the command"
    assert list(private_tmp.iterdir()) == [], "nothing in the temporary directory"


def test_the_plan_file_an_apply_writes_is_0600(tmp_path):
    with claimed_workspace(tmp_path / "work", "run", 8) as claimed:
        rendered = render_workspace("sandbox", claimed.path / "ws", {}, lock_fd=claimed.lock_fd)

        class Shared:
            def runner(self, request, toolchain, sink):
                return rendered, Applier()

        class Applier:
            def apply(self, plan_file, lock_timeout, on_line):
                seen["mode"] = mode(plan_file)
                return type("Result", (), {"lines": [("stdout", '{"type": "outputs", "outputs": {}}')]})

        seen: dict[str, int] = {}
        engine.apply(request(), b"plan bytes", None, tmp_path, lambda *line: None, workspace=Shared())
    assert seen["mode"] == 0o600


# --- who uses a workspace --------------------------------------------------------------------------------------
def test_terraform_holds_the_workspace_lock_as_long_as_it_runs_even_after_its_worker_is_gone(tmp_path):
    chain = stand_in(tmp_path, 'ls -l /proc/$$/fd/ | grep -c "launchpad-lock"')
    with claimed_workspace(tmp_path / "work", "run", 9) as claimed:
        rendered = render_workspace("sandbox", claimed.path / "ws", {}, lock_fd=claimed.lock_fd)
        runner = TerraformRunner(rendered.root, chain, lock_fd=claimed.lock_fd)
        assert runner.run("apply").stdout.strip() == "1", "Terraform inherits the lock"

    # A worker killed while Terraform ran: only Terraform (here a sleeper given the same lock) still holds it.
    directory = left_behind(tmp_path / "work", "run-10-abcd1234", errored=STATE)
    kept: list[ErroredState] = []
    with terraform_still_running(directory):
        assert remove_workspace(directory, kept.append) is False
        assert directory.is_dir() and kept == [], "nothing is touched while Terraform may still write its state"

    assert remove_workspace(directory, kept.append) is True
    assert not directory.exists()
    assert [k.state for k in kept] == [STATE.encode()]


def test_a_workspace_its_worker_still_uses_is_left_alone(tmp_path):
    with claimed_workspace(tmp_path / "work", "run", 11) as claimed:
        assert remove_workspace(claimed.path, lambda errored: None) is False
        assert (claimed.path / LOCK_FILE).is_file()


# --- removing what was left ------------------------------------------------------------------------------------
def test_the_state_terraform_could_not_save_is_handed_over_with_the_lock_id_its_log_prints_then_removed(tmp_path):
    directory = left_behind(tmp_path, "run-12-abcd1234", errored=STATE, log=UNRELEASED_LOCK_LOG)
    kept: list[ErroredState] = []

    def keep(errored: ErroredState) -> None:
        assert directory.is_dir(), "handed over before anything is removed"
        kept.append(errored)

    assert remove_workspace(directory, keep) is True
    assert kept == [ErroredState(state=STATE.encode(), lock_id=LOCK_ID)]
    assert not directory.exists()


def test_a_workspace_without_errored_state_is_removed_and_nothing_is_handed_over(tmp_path):
    directory = left_behind(tmp_path, "run-13-abcd1234")
    kept: list[ErroredState] = []

    assert remove_workspace(directory, kept.append) is True
    assert kept == [] and not directory.exists()


def test_when_the_state_cannot_be_kept_nothing_is_removed(tmp_path):
    directory = left_behind(tmp_path, "run-14-abcd1234", errored=STATE)

    def keep(errored: ErroredState) -> None:
        raise RuntimeError("database unreachable")

    with pytest.raises(RuntimeError):
        remove_workspace(directory, keep)
    assert (directory / "ws" / "blueprints" / "sandbox" / "errored.tfstate").read_text() == STATE


def test_workspaces_are_found_by_operation_and_id_and_other_folders_are_not(tmp_path):
    for name in ("run-3-abcd1234", "drift-3-x_y9", "bootstrap", "recovery", "run-x-abc", "notes.txt"):
        (tmp_path / name).mkdir() if "." not in name else (tmp_path / name).write_text("")

    assert found_workspaces(tmp_path) == [
        FoundWorkspace(tmp_path / "drift-3-x_y9", "drift", 3),
        FoundWorkspace(tmp_path / "run-3-abcd1234", "run", 3),
    ]
    assert found_workspaces(tmp_path / "missing") == []


# --- the state after an apply that changed nothing --------------------------------------------------------------
def request(**fields) -> engine.RunRequest:
    return engine.RunRequest(
        run_id=1,
        blueprint="sandbox",
        environment="rel-a",
        region="eu-west-1",
        variables={},
        secret_environment={"TF_VAR_db_password": SECRET},
        endpoint=None,
        state_store=engine.StateStore("bucket", "table"),
        state_key="environments/rel-a/1/terraform.tfstate",
        **fields,
    )


def test_the_state_read_after_an_apply_gives_the_resources_made_and_the_public_outputs():
    state = {
        "resources": [
            {"mode": "managed", "type": "aws_vpc", "instances": [{}]},
            {"mode": "managed", "type": "aws_subnet", "instances": [{}, {}]},
            {"mode": "data", "type": "aws_region", "instances": [{}]},
        ],
        "outputs": {
            "vpc_id": {"value": "vpc-1", "type": "string"},
            "dsn": {"value": f"postgres://app:{SECRET}@db", "type": "string"},
            "password": {"value": SECRET, "type": "string", "sensitive": True},
        },
    }

    class Shared:
        def runner(self, request, toolchain, sink):
            return None, type("Runner", (), {"pull_state": staticmethod(lambda: state)})

    applied = engine.applied_state(request(), None, Path("unused"), lambda *line: None, workspace=Shared())

    assert applied.resources == 3, "data sources are read, not made"
    assert applied.outputs == {"vpc_id": "vpc-1", "dsn": "postgres://app:[redacted]@db"}


def test_a_drift_checks_workspace_is_named_after_the_check_not_a_run(tmp_path):
    with engine._workspace(request(operation="drift"), tmp_path) as workspace:
        assert workspace.directory.parent.name.startswith("drift-1-")
        assert workspace.lock_fd is not None

"""AWS lost mid-run: what Terraform leaves (errored.tfstate, a lock it could not release) is kept, reported, and
handled before the next run — the lock released only if it is that very lock, the state pushed only where safe.

Fast: Terraform is a stand-in script or a recording runner; AWS is not called.
``data/outage-apply.jsonl`` is what Terraform 1.0.3 printed (-json) when the emulator's endpoint went away during
an apply of the sandbox blueprint (tests/support/proxy.py), trimmed to its diagnostics.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from provisioning import engine
from provisioning.terraform import (
    TerraformError,
    TerraformRunner,
    lock_left_behind,
    unreachable_endpoint,
    unreleased_lock_id,
)
from provisioning.toolchain import Toolchain

OUTAGE = (Path(__file__).parent / "data" / "outage-apply.jsonl").read_text()
LOCK_ID = "d52a75be-5dcb-299c-5ddd-b8ba777054ae"
LOCK_INFO = f"""Lock Info:
  ID:        {LOCK_ID}
  Path:      spotmusic-launchpad-tfstate-eu-west-1/environments/x/terraform.tfstate
  Operation: OperationTypeApply
  Who:       root@worker-1
  Version:   1.0.3
  Created:   2026-11-24 14:39:28.683313552 +0000 UTC
  Info:
"""


def diagnostic(summary: str, detail: str) -> str:
    return json.dumps(
        {
            "@level": "error",
            "@message": f"Error: {summary}",
            "type": "diagnostic",
            "diagnostic": {"severity": "error", "summary": summary, "detail": detail},
        }
    )


# --- what Terraform printed ------------------------------------------------------------------------
def test_an_unreleased_lock_is_seen_but_its_id_is_not_printed_when_aws_is_unreachable():
    assert lock_left_behind(OUTAGE)
    assert unreleased_lock_id(OUTAGE) is None  # Terraform could not read the lock back to print it


def test_the_id_of_an_unreleased_lock_is_read_when_terraform_prints_it_plain_or_as_json():
    plain = f"Error: Error releasing the state lock\n\nError message: failed to delete lock: boom\n{LOCK_INFO}"
    as_json = diagnostic("Error releasing the state lock", f"Error message: failed to delete lock: boom\n{LOCK_INFO}")

    assert unreleased_lock_id(plain) == LOCK_ID
    assert unreleased_lock_id(as_json) == LOCK_ID


def test_a_lock_someone_else_holds_is_not_taken_for_one_we_left_behind():
    waited = diagnostic(
        "Error acquiring the state lock", f"Error message: ConditionalCheckFailedException\n{LOCK_INFO}"
    )

    assert not lock_left_behind(waited)
    assert unreleased_lock_id(waited) is None


def test_the_unreachable_endpoint_and_the_network_error_are_read_from_the_sdk_message():
    assert unreachable_endpoint(OUTAGE) == ("http://127.0.0.1:38035", "connection reset by peer")
    refused = diagnostic(
        "error configuring Terraform AWS Provider",
        'RequestError: send request failed\ncaused by: Post "https://sts.eu-west-1.amazonaws.com/": '
        "dial tcp 52.94.0.1:443: connect: connection refused",
    )
    assert unreachable_endpoint(refused) == ("https://sts.eu-west-1.amazonaws.com", "connection refused")
    assert unreachable_endpoint(diagnostic("Invalid value", "vpc_cidr must be a CIDR")) is None


# --- errored.tfstate -------------------------------------------------------------------------------
def stand_in_terraform(tmp_path: Path, output: str, errored_state: str | None) -> Toolchain:
    """A Toolchain whose "terraform" prints ``output``, writes ``errored_state`` (if any) and fails."""
    (tmp_path / "output.jsonl").write_text(output)
    script = tmp_path / "terraform"
    write_state = f"printf '%s' '{errored_state}' > errored.tfstate\n" if errored_state else ""
    script.write_text(f"#!/bin/sh\n{write_state}cat '{tmp_path / 'output.jsonl'}'\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return Toolchain(terraform_bin=script, cli_config=tmp_path / "cli.tfrc", plugin_cache_dir=tmp_path, mirror_dir=None)


def test_the_state_terraform_could_not_save_is_handed_over_with_the_error(tmp_path):
    state = json.dumps({"version": 4, "serial": 7, "lineage": "abc", "resources": []})
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = TerraformRunner(workspace, stand_in_terraform(tmp_path, OUTAGE, state))

    with pytest.raises(TerraformError) as raised:
        runner.apply(workspace / "plan")

    error = raised.value
    assert error.errored_state == state.encode()
    assert not (workspace / "errored.tfstate").exists(), "the copy on disk goes: it holds secrets"
    assert error.lock_left_behind and error.lock_id is None
    assert error.unreachable == ("http://127.0.0.1:38035", "connection reset by peer")
    assert state not in str(error)


def test_a_failure_without_errored_state_hands_over_none(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = TerraformRunner(workspace, stand_in_terraform(tmp_path, diagnostic("Invalid value", "no"), None))

    with pytest.raises(TerraformError) as raised:
        runner.apply(workspace / "plan")

    assert raised.value.errored_state is None
    assert not raised.value.lock_left_behind and raised.value.unreachable is None


# --- the lock's ID, read while Terraform holds it -------------------------------------------------------
def test_the_lock_id_is_read_once_terraform_holds_the_lock_and_given_to_the_error_that_left_it():
    reads, lines = [], []

    def read():
        reads.append(1)
        return engine.StateLock(id=LOCK_ID, operation="OperationTypeApply")

    watch = engine.LockWatch(lambda stream, line: lines.append(line), read)
    for line in OUTAGE.splitlines():
        watch("stdout", line)

    assert len(lines) == len(OUTAGE.splitlines()), "every line still reaches the sink"
    assert len(reads) == 1 and watch.lock_id == LOCK_ID


def test_an_error_that_left_the_lock_gets_the_watched_id_and_one_that_did_not_gets_none(monkeypatch):
    monkeypatch.setattr(engine, "read_state_lock", lambda request: engine.StateLock(id=LOCK_ID))
    with pytest.raises(TerraformError) as left, engine.watching_lock(None, lambda *line: None) as sink:
        sink("stdout", json.dumps({"type": "apply_start"}))
        raise TerraformError("apply", 1, OUTAGE)
    assert left.value.lock_id == LOCK_ID

    with pytest.raises(TerraformError) as released, engine.watching_lock(None, lambda *line: None) as sink:
        sink("stdout", json.dumps({"type": "apply_start"}))
        raise TerraformError("apply", 1, diagnostic("Invalid value", "no"))
    assert released.value.lock_id is None


def test_a_lock_that_cannot_be_read_because_aws_is_gone_leaves_the_id_unknown():
    def unreachable():
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    watch = engine.LockWatch(lambda *line: None, unreachable)
    watch("stdout", json.dumps({"type": "apply_start"}))
    assert watch.lock_id is None


# --- before the next run: release the lock, push the state ----------------------------------------------
class RecordingRunner:
    """Stands in for TerraformRunner: records the calls; ``remote`` is the state store's state."""

    def __init__(self, remote: dict | None = None) -> None:
        self.remote = remote
        self.calls: list[tuple] = []

    def force_unlock(self, lock_id: str) -> None:
        self.calls.append(("force-unlock", lock_id))

    def pull_state(self) -> dict | None:
        self.calls.append(("pull",))
        return self.remote

    def push_state(self, state_file: Path, lock_timeout: str = "0s") -> None:
        assert stat.S_IMODE(state_file.stat().st_mode) & 0o077 == 0, "the state file is readable by its owner only"
        self.calls.append(("push", state_file.read_bytes()))


def kept(serial: int = 4, lineage: str = "lineage-1") -> bytes:
    resources = [{"type": "aws_vpc", "name": "this", "instances": [{"attributes": {"id": "vpc-1"}}]}]
    return json.dumps({"version": 4, "serial": serial, "lineage": lineage, "resources": resources}).encode()


def remote(serial: int = 3, lineage: str = "lineage-1") -> dict:
    return {"version": 4, "serial": serial, "lineage": lineage, "resources": [{"type": "aws_s3_bucket"}]}


def recover(runner, tmp_path, left, lock=None):
    messages = []
    engine.release_and_push(runner, tmp_path, left, lambda: lock, lambda s, m: messages.append(m), "feature-x")
    return messages


def test_the_stale_lock_is_released_before_the_state_is_checked_and_pushed(tmp_path):
    runner = RecordingRunner(remote(serial=3))
    left = engine.LeftState(run_id=12, state=kept(serial=4), lock_id=LOCK_ID)

    messages = recover(runner, tmp_path, left, lock=engine.StateLock(id=LOCK_ID))

    assert runner.calls == [("force-unlock", LOCK_ID), ("pull",), ("push", kept(serial=4))]
    assert list(tmp_path.iterdir()) == [], "the state file is removed after the push"
    assert LOCK_ID in messages[0] and "run #12" in messages[0]
    assert "Pushed the state run #12 kept (serial 4, 1 resources)" in messages[1]


def test_a_lock_already_gone_is_not_forced_and_the_state_is_still_pushed(tmp_path):
    runner = RecordingRunner(None)

    messages = recover(runner, tmp_path, engine.LeftState(run_id=12, state=kept(), lock_id=LOCK_ID), lock=None)

    assert runner.calls == [("pull",), ("push", kept())]
    assert "no longer held" in messages[0]


def test_a_lock_held_under_another_id_is_left_alone_and_nothing_is_pushed(tmp_path):
    runner = RecordingRunner(remote())
    other = engine.StateLock(id="someone-else", operation="OperationTypeApply", who="alice@laptop")

    with pytest.raises(engine.StateRecoveryError, match="locked by someone-else .* by alice@laptop") as refused:
        recover(runner, tmp_path, engine.LeftState(run_id=12, state=kept(), lock_id=LOCK_ID), lock=other)

    assert runner.calls == []
    assert refused.value.lock_released is False


@pytest.mark.parametrize(
    ("state_store", "why"),
    [
        pytest.param(remote(serial=3, lineage="lineage-2"), "another state of feature-x", id="other-lineage"),
        pytest.param(remote(serial=5), "newer", id="newer-serial"),
    ],
)
def test_the_kept_state_is_not_pushed_over_an_unrelated_or_newer_state(tmp_path, state_store, why):
    runner = RecordingRunner(state_store)

    with pytest.raises(engine.StateRecoveryError, match=why) as refused:
        recover(
            runner,
            tmp_path,
            engine.LeftState(run_id=12, state=kept(serial=4), lock_id=LOCK_ID),
            engine.StateLock(LOCK_ID),
        )

    assert runner.calls == [("force-unlock", LOCK_ID), ("pull",)]
    assert refused.value.lock_released is True, "the lock was ours and is released: only the state waits"
    assert "stays on run #12" in str(refused.value)


@pytest.mark.parametrize(
    "state_store",
    [
        pytest.param(None, id="no-state-yet"),
        pytest.param({"version": 4, "serial": 9, "lineage": "other", "resources": []}, id="empty-state"),
        pytest.param(remote(serial=4), id="same-serial"),
    ],
)
def test_the_kept_state_goes_onto_an_empty_state_or_its_own_lineage_at_no_newer_serial(tmp_path, state_store):
    runner = RecordingRunner(state_store)

    recover(runner, tmp_path, engine.LeftState(run_id=12, state=kept(serial=4)))

    assert runner.calls == [("pull",), ("push", kept(serial=4))]


def test_a_lock_left_behind_after_the_state_was_saved_is_only_released(tmp_path):
    runner = RecordingRunner(remote())

    recover(runner, tmp_path, engine.LeftState(run_id=12, lock_id=LOCK_ID), lock=engine.StateLock(LOCK_ID))

    assert runner.calls == [("force-unlock", LOCK_ID)]

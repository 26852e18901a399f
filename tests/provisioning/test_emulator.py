"""The emulator launcher: patches pinned to the moto version, each documented, server start and reset."""

from __future__ import annotations

import socket

import pytest

from provisioning import aws
from provisioning.emulator import EmulatorProcess, patches
from provisioning.emulator.patches import EmulatorVersionError, apply_all, fidelity_patch, registered
from provisioning.emulator.server import EmulatorError


def test_every_patch_names_the_aws_behaviour_it_restores():
    found = registered()
    assert found, "the emulator is expected to carry fidelity patches"
    for patch in found:
        assert patch.behaviour and len(patch.behaviour) > 20, patch.name


def test_a_patch_without_a_docstring_is_refused():
    def undocumented() -> None:
        pass

    with pytest.raises(ValueError, match="needs a docstring"):
        fidelity_patch(undocumented)


def test_patches_refuse_another_moto_version(monkeypatch):
    monkeypatch.setattr(patches.moto, "__version__", "0.0.1")
    with pytest.raises(EmulatorVersionError, match="moto 5.2.5"):
        apply_all()


def test_emulator_child_serves_aws_apis_resets_and_stops(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # Its own emulator: resetting the session's one would pull state from under other tests.
    with EmulatorProcess() as emulator:
        sqs = aws.client("sqs", endpoint=emulator.endpoint)
        sqs.create_queue(QueueName="launcher-check")
        assert any(url.endswith("/launcher-check") for url in sqs.list_queues().get("QueueUrls", []))
        emulator.reset()
        assert not sqs.list_queues().get("QueueUrls")
    assert emulator.process.poll() is not None


def test_emulator_on_a_port_in_use_exits_saying_so(tmp_path):
    log = tmp_path / "emulator.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        emulator = EmulatorProcess(port=taken.getsockname()[1], log_path=log)
        with pytest.raises(EmulatorError, match="exited with status 1 before it was ready"):
            emulator.start(timeout=30)
    assert "cannot listen on 127.0.0.1:" in log.read_text()

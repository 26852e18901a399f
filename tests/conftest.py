"""Fixtures shared by every test: the Terraform toolchain and the patched AWS emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provisioning import toolchain as toolchain_module
from provisioning.emulator import EmulatorProcess
from tests.support.emulator import REGION

# LAUNCHPAD_ARTIFACTS moves the logs, timings and screenshots (two test runs side by side keep theirs apart).
# Under pytest-xdist each worker (gw0, gw1…) writes into a folder of its own: two emulators, two stacks.
ARTIFACTS = Path(os.environ.get("LAUNCHPAD_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts") / (
    os.environ.get("PYTEST_XDIST_WORKER", "")
)


@pytest.fixture
def work_dir(settings, tmp_path):
    """An empty LAUNCHPAD["WORK_DIR"] of the test's own, where workspaces are left behind."""
    settings.LAUNCHPAD = {**settings.LAUNCHPAD, "WORK_DIR": tmp_path / "work"}
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


@pytest.fixture(scope="session")
def toolchain():
    """The offline Terraform toolchain (mirror + shared plugin cache), prepared once."""
    return toolchain_module.prepare()


@pytest.fixture(scope="session")
def emulator():
    """One patched moto server for the session, with boto3 and Terraform pointed at it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    process = EmulatorProcess(log_path=ARTIFACTS / "emulator.log").start()
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL=process.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    yield process
    process.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

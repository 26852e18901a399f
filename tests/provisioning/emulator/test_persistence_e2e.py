"""A blueprint applied before the emulator restarts is still there after: Terraform plans no change."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from provisioning import aws
from provisioning.emulator import EmulatorProcess
from tests.conftest import ARTIFACTS
from tests.support.emulator import REGION, apply_state_store
from tests.terraform.test_blueprints import prepare, secret_variables

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("blueprint", "extra"),
    # The full blueprint has every component the sandbox has, and RDS, ElastiCache, CloudFront and WAF besides:
    # the sandbox alone would add 45 s of CI for nothing the full one does not check.
    [("full", {"cdn_wait_for_deployment": False})],
)
def test_blueprint_applied_then_emulator_restarted_on_its_state_file_plans_no_change(
    blueprint, extra, toolchain, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    options = {
        "log_path": ARTIFACTS / "emulator-restart.log",
        "state_file": tmp_path / "emulator-state.bin",
        "state_key": Fernet.generate_key().decode(),
    }
    emulator = EmulatorProcess(**options).start()
    try:
        state_store = apply_state_store(emulator.endpoint, toolchain, tmp_path / "bootstrap", "restart-tests")
        env = secret_variables()
        workspace, runner = prepare(
            blueprint, f"restart-{blueprint}", emulator, toolchain, state_store, tmp_path / "ws", env, **extra
        )
        assert runner.plan(workspace.plan_file, var_file=workspace.var_file) is True
        runner.apply(workspace.plan_file)
        cluster = runner.outputs()["ecs_cluster_name"]["value"]
    finally:
        emulator.stop()
    assert emulator.process.returncode == 0

    # The same port: the workspace's backend and provider name the endpoint.
    restarted = EmulatorProcess(port=emulator.port, **options).start()
    try:
        assert "restored from" in restarted.state_summary()
        ecs = aws.client("ecs", REGION, endpoint=restarted.endpoint)
        assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["status"] == "ACTIVE"
        second_plan = workspace.root / "after-restart.tfplan"
        if runner.plan(second_plan, var_file=workspace.var_file):
            pending = [
                (change["address"], change["change"]["actions"])
                for change in runner.show_plan(second_plan).get("resource_changes", [])
                if change["change"]["actions"] != ["no-op"]
            ]
            pytest.fail(f"after the emulator's restart Terraform wants changes: {pending}")
    finally:
        restarted.stop()

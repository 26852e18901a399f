"""A run's workspace and apply's outputs: a dev plan is applied in its own workspace (one init), the outputs come
from apply's -json stream, and a sensitive output's value reaches neither the run's events nor the outputs."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from provisioning import engine
from provisioning.terraform import TerraformRunner
from tests.support.emulator import REGION
from tests.support.inventory import leftovers

SENSITIVE_ROOT = """
variable "secret" {
  type      = string
  sensitive = true
}
output "endpoint" { value = "https://api.example.test" }
output "password" {
  value     = var.secret
  sensitive = true
}
"""
SECRET = "hunter2-sensitive-output-value"


def collector():
    lines: list[tuple[str, str]] = []
    return lines, lambda stream, line: lines.append((stream, line))


def test_sensitive_output_values_are_taken_out_of_the_outputs_message():
    lines, sink = collector()
    message = {
        "@message": "Outputs: 2",
        "type": "outputs",
        "outputs": {
            "password": {"sensitive": True, "type": "string", "value": SECRET},
            "endpoint": {"sensitive": False, "type": "string", "value": "https://api.example.test"},
        },
    }
    forward = engine.without_sensitive_outputs(sink)
    forward("stdout", json.dumps(message))
    forward("stdout", "plain line")

    (stream, line), plain = lines
    assert SECRET not in line and stream == "stdout" and plain == ("stdout", "plain line")
    outputs = json.loads(line)["outputs"]
    assert outputs["password"] == {"sensitive": True, "type": "string"}
    assert outputs["endpoint"]["value"] == "https://api.example.test"


def test_terraform_prints_sensitive_outputs_in_clear_in_apply_json_and_the_sink_never_gets_them(toolchain, tmp_path):
    (tmp_path / "main.tf").write_text(SENSITIVE_ROOT)
    runner = TerraformRunner(tmp_path, toolchain, env={**os.environ, "TF_VAR_secret": SECRET})
    runner.init()
    runner.plan(tmp_path / "p.tfplan")
    lines, sink = collector()
    result = runner.apply(tmp_path / "p.tfplan", on_line=engine.without_sensitive_outputs(sink))

    # Terraform 1.0 itself puts the value in the message: the filter is what keeps it out of the events.
    assert any(SECRET in line for _, line in result.lines)
    assert lines and not any(SECRET in line for _, line in lines)
    assert any('"type": "outputs"' in line and "api.example.test" in line for _, line in lines)


@pytest.mark.slow
def test_a_plan_applied_at_once_reuses_its_workspace_and_reads_outputs_from_the_apply(toolchain, emulator, tmp_path):
    store = engine.ensure_state_store(REGION, emulator.endpoint, toolchain, tmp_path, lambda stream, line: None)
    secrets = {
        "TF_VAR_db_password": "reuse-db-password-0123456789-abcdefgh",
        "TF_VAR_app_secret_key": "reuse-app-secret-key-0123456789-abcdefgh",
    }
    request = engine.RunRequest(
        run_id=1,
        blueprint="sandbox",
        environment="ws-reuse",
        region=REGION,
        variables={
            "environment": "ws-reuse",
            "tier": "dev",
            "region": REGION,
            "aws_endpoint_url": emulator.endpoint,
            "vpc_cidr": "10.91.0.0/16",
        },
        secret_environment=secrets,
        endpoint=emulator.endpoint,
        state_store=store,
    )
    lines, sink = collector()
    try:
        with engine.RunWorkspace(request, tmp_path / "work") as workspace:
            outcome = engine.plan(request, toolchain, tmp_path / "work", sink, workspace=workspace)
            outputs = engine.apply(request, outcome.plan, toolchain, tmp_path / "work", sink, workspace=workspace)
            rendered, runner = workspace.runner(request, toolchain, sink)
            by_terraform_output = runner.outputs()
        assert not rendered.directory.exists(), "the workspace (its plan file holds variable values) is removed"

        text = "\n".join(line for _, line in lines)
        assert text.count("Terraform has been successfully initialized") == 1
        assert outputs == {name: body["value"] for name, body in by_terraform_output.items() if not body["sensitive"]}
        assert outputs["ecs_cluster_name"]
        assert not any(secret in text or secret in json.dumps(outputs) for secret in secrets.values())
    finally:
        # The plan applied in a workspace of its own, as an approved plan applied later; and nothing left behind
        # for the tests that share the emulator.
        destroy = dataclasses.replace(request, destroy=True)
        planned = engine.plan(destroy, toolchain, tmp_path / "work", sink)
        assert engine.apply(destroy, planned.plan, toolchain, tmp_path / "work", sink) == {}
    assert leftovers("spotmusic-ws-reuse") == []

"""Apply's outputs come from its -json stream, and a sensitive output's value reaches neither the run's events nor
the outputs. (A dev plan applied in the workspace that planned it, with one init: the sandbox test of
tests/integration/test_provisioning_e2e.py.)"""

from __future__ import annotations

import json
import os

from provisioning import engine
from provisioning.terraform import TerraformRunner

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

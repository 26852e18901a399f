"""Reading Terraform's output: its -json lines as objects, every other line as plain text."""

from __future__ import annotations

import io
import json
import os

import pytest

from provisioning.terraform import (
    TerraformError,
    TerraformRunner,
    applied_address,
    failure_reason,
    json_event,
    json_lines,
    messages,
    summarise_error,
)

APPLY_START = {"type": "apply_start", "hook": {"resource": {"addr": "aws_s3_bucket.audio"}}}
ERROR = {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "Invalid value", "detail": "no"}}


def test_a_json_line_is_its_object():
    assert json_event(json.dumps(APPLY_START)) == APPLY_START


def test_a_plain_line_is_not_an_event():
    assert json_event("Terraform has been successfully initialized!") is None
    assert json_event("│ Error: Invalid value") is None


def test_a_line_cut_short_is_not_an_event():
    assert json_event(json.dumps(APPLY_START)[:-5]) is None


def test_an_empty_line_is_not_an_event():
    assert json_event("") is None


def test_json_that_is_not_an_object_is_not_an_event():
    assert json_event('["apply_start"]') is None
    assert json_event('"apply_start"') is None


def test_json_lines_pairs_each_line_of_a_text_with_its_event_or_none():
    text = "\n".join(["Initializing...", json.dumps(APPLY_START), json.dumps(ERROR)[:20], "", json.dumps(ERROR)])

    assert list(json_lines(text)) == [
        ("Initializing...", None),
        (json.dumps(APPLY_START), APPLY_START),
        (json.dumps(ERROR)[:20], None),
        ("", None),
        (json.dumps(ERROR), ERROR),
    ]


def test_json_lines_reads_a_stream_line_by_line_without_line_endings():
    stream = io.StringIO(f"{json.dumps(APPLY_START)}\r\nplain\n")

    assert list(json_lines(stream)) == [(json.dumps(APPLY_START), APPLY_START), ("plain", None)]


def test_empty_output_has_no_lines():
    assert list(json_lines("")) == []
    assert list(json_lines(io.StringIO(""))) == []
    assert messages("") == []


def test_messages_keep_plain_lines_and_broken_json_and_decode_diagnostics():
    broken = json.dumps(ERROR)[:30]
    output = "\n".join(["Planning...", json.dumps(APPLY_START), broken, json.dumps(ERROR)])

    assert messages(output) == ["Planning...", broken, "Invalid value\nno"]


def test_the_error_summary_skips_broken_json_and_reads_diagnostics_and_plain_errors():
    output = "\n".join([json.dumps(ERROR)[:30], "  " + json.dumps(ERROR), "│ Error: Missing bucket"])

    assert summarise_error(output) == "Invalid value: no; Missing bucket"


def test_an_apply_complete_event_names_the_resource_it_applied():
    event = {"type": "apply_complete", "hook": {"resource": {"addr": "aws_s3_bucket.audio"}, "action": "create"}}

    assert applied_address(event) == "aws_s3_bucket.audio"


def test_other_events_and_incomplete_ones_name_no_applied_resource():
    assert applied_address(APPLY_START) is None
    assert applied_address(ERROR) is None
    assert applied_address({"type": "apply_complete"}) is None
    assert applied_address({"type": "apply_complete", "hook": None}) is None
    assert applied_address({"type": "apply_complete", "hook": {"resource": {"addr": 3}}}) is None


def test_a_run_that_breaks_a_variable_rule_fails_naming_the_variable_and_the_rule_not_its_file(toolchain, tmp_path):
    # A blueprint passing a value to a module whose rule refuses it, planned for real: the failure a run shows.
    module = tmp_path / "modules" / "ecs"
    module.mkdir(parents=True)
    (module / "variables.tf").write_text(
        'variable "desired_count" {\n  type = number\n  validation {\n'
        "    condition     = var.desired_count >= 0\n"
        '    error_message = "The web-api task count must be a whole number from 0 to 100."\n  }\n}\n'
    )
    root = tmp_path / "blueprint"
    root.mkdir()
    (root / "main.tf").write_text(
        'variable "web_api_desired_count" {\n  type = number\n}\n\n'
        'module "ecs" {\n  source        = "../modules/ecs"\n  desired_count = var.web_api_desired_count\n}\n'
    )
    runner = TerraformRunner(root, toolchain, env={**os.environ, "TF_VAR_web_api_desired_count": "-1"})
    runner.init()

    with pytest.raises(TerraformError) as failed:
        runner.plan(root / "plan.tfplan")

    reason = failure_reason(failed.value, "alice-sandbox", None, "0s")
    assert reason == (
        "terraform plan failed (exit 1): The value of web_api_desired_count is refused: "
        "The web-api task count must be a whole number from 0 to 100."
    )

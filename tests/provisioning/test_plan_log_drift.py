"""A plan's log tells drift as the drift checks do: the plan of a sandbox fresh from its apply (recorded by
tests/support/record_plans.py, Terraform 1.0.3 against the emulator) made Terraform print 29 "Drift detected"
lines, all representation noise; the log keeps none of them, and keeps the line of a resource that really drifted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from provisioning import engine
from provisioning.engine import DriftReport, drifted_resources
from provisioning.terraform import TerraformError
from tests.provisioning.test_workspace_housekeeping import request

PLANS = Path(__file__).parent / "data" / "plans"
CLUSTER = "module.environment.module.ecs.aws_ecs_cluster.this"


def clean_plan() -> tuple[list[str], dict]:
    lines = (PLANS / "sandbox-clean.log.jsonl").read_text().splitlines()
    return lines, json.loads((PLANS / "sandbox-clean.json").read_text())


def logged(lines: list[str], plan: dict) -> list[str]:
    kept: list[tuple[str, str]] = []
    report = DriftReport(lambda stream, line: kept.append((stream, line)))
    for line in lines:
        report("stdout", line)
    report.release(plan)
    return [line for _, line in kept]


def test_the_plan_of_a_clean_environment_logs_no_drift():
    lines, plan = clean_plan()
    assert sum("Drift detected" in line for line in lines) == 29, "Terraform's own report of the clean sandbox"
    assert drifted_resources(plan) == [], "the drift panel of the same environment says there is no drift"

    kept = logged(lines, plan)

    assert not [line for line in kept if "Drift detected" in line]
    assert kept == [line for line in lines if '"type":"resource_drift"' not in line]
    assert any("Plan: 0 to add, 0 to change, 0 to destroy." in line for line in kept)


def test_a_resource_that_really_drifted_keeps_its_line_in_the_plan_log():
    lines, plan = clean_plan()
    drifted = copy.deepcopy(plan)
    [entry] = [entry for entry in drifted["resource_drift"] if entry["address"] == CLUSTER]
    entry["change"]["after"]["tags"] = {**entry["change"]["after"]["tags"], "Owner": "someone-in-the-console"}

    kept = logged(lines, drifted)

    assert [line for line in kept if "Drift detected" in line] == [
        line for line in lines if "Drift detected" in line and f'"addr":"{CLUSTER}"' in line
    ]
    assert len([line for line in kept if "Drift detected" in line]) == 1


def test_a_plan_that_fails_keeps_every_drift_line_terraform_printed(tmp_path, monkeypatch):
    """Without the shown plan nothing tells noise from drift: the log of a failed plan withholds nothing."""
    lines, _ = clean_plan()
    # Terraform holds the state lock once it plans; there is no lock table here to read its ID from.
    monkeypatch.setattr(engine, "read_state_lock", lambda request: None)
    drift_lines = [line for line in lines if '"type":"resource_drift"' in line]

    class Failing:
        def state_addresses(self):
            return []

        def plan(self, plan_file, var_file, destroy, lock_timeout, on_line, stop):
            for line in lines:
                on_line("stdout", line)
            raise TerraformError("plan", 1, "Error: Invalid value for variable")

    class Shared:
        def runner(self, request, toolchain, sink):
            return SimpleNamespace(plan_file=tmp_path / "plan", var_file=tmp_path / "vars"), Failing()

    kept: list[str] = []
    with pytest.raises(TerraformError):
        engine.plan(request(), None, tmp_path, lambda stream, line: kept.append(line), workspace=Shared())

    assert len(drift_lines) == 29
    assert [line for line in kept if '"type":"resource_drift"' in line] == drift_lines

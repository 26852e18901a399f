"""Our blueprints, planned and applied for real against the emulator, break no audit rule (slow)."""

from __future__ import annotations

import json

import pytest

from provisioning.audit import check_plan, collect_live, evaluate
from provisioning.audit.rules import RULES
from tests.audit.plans import BLUEPRINT_VARIABLES, blueprint_plan, blueprint_workspace, insecure_plan, load, reduced
from tests.support.emulator import REGION

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("blueprint", list(BLUEPRINT_VARIABLES))
def test_a_new_environment_of_our_blueprint_plans_no_finding(blueprint, emulator, toolchain, tmp_path):
    plan = blueprint_plan(blueprint, emulator.endpoint, toolchain, tmp_path)

    assert [(f.severity, f.rule_id, f.address, f.message) for f in check_plan(plan)] == []
    # The reduced plan the fast tests read audits the same.
    assert check_plan(json.loads(json.dumps(reduced(plan)))) == check_plan(load(blueprint)) == []


def test_the_insecure_root_breaks_every_rule_a_plan_can_show(emulator, toolchain, tmp_path):
    found = {finding.rule_id for finding in check_plan(insecure_plan(emulator.endpoint, toolchain, tmp_path))}

    assert found == {rule_id for rule_id, rule in RULES.items() if not rule.live_only}


def test_an_applied_sandbox_environment_has_no_finding_in_the_live_audit(emulator, toolchain, tmp_path):
    environment = "audit-live-sandbox"
    workspace, runner = blueprint_workspace("sandbox", emulator.endpoint, toolchain, tmp_path, environment)
    runner.plan(workspace.plan_file, var_file=workspace.var_file)
    runner.apply(workspace.plan_file)
    try:
        collection = collect_live.collect([REGION], environment)

        assert {r.kind.value for r in collection.resources} >= {"iam_role", "security_group", "s3_bucket"}
        assert [(f.rule_id, f.resource_id, f.message) for f in evaluate(collection.resources)] == []
    finally:
        destroy_plan = workspace.root / "destroy.tfplan"
        runner.plan(destroy_plan, var_file=workspace.var_file, destroy=True)
        runner.apply(destroy_plan)

"""The pre-apply check reads `terraform show -json` of real plans: our blueprints and a root that breaks every rule."""

from __future__ import annotations

import copy

import pytest

from provisioning.audit import check_plan
from provisioning.audit.from_plan import plan_resources, with_unknowns
from provisioning.audit.resources import UNKNOWN, ResourceKind
from provisioning.audit.rules import RULES
from tests.audit.plans import load


def by_id(resources):
    return {resource.id: resource for resource in resources}


@pytest.mark.parametrize("blueprint", ["sandbox", "full"])
def test_our_blueprints_plan_no_finding_at_all(blueprint):
    assert [(f.rule_id, f.address, f.message) for f in check_plan(load(blueprint))] == []


def test_the_full_blueprint_is_read_whole():
    resources = plan_resources(load("full"))

    kinds = sorted(resource.kind.value for resource in resources)
    assert kinds.count("iam_role") == 3
    assert kinds.count("security_group") == 4
    assert kinds.count("s3_bucket") == 2
    assert kinds.count("waf_web_acl") == 1
    assert kinds.count("rds_instance") == 1


def test_every_rule_a_plan_can_show_is_found_in_the_insecure_root():
    found = {finding.rule_id for finding in check_plan(load("insecure"))}

    assert found == {rule_id for rule_id, rule in RULES.items() if not rule.live_only}


def test_a_policy_rendered_during_the_apply_is_rebuilt_from_its_statements():
    role = by_id(plan_resources(load("insecure")))["insecure-open-role"]
    queue_admin = next(p for p in role.document["Policies"] if p["PolicyName"] == "queue-admin")

    statements = {s["Sid"]: s for s in queue_admin["PolicyDocument"]["Statement"]}
    # The queue's ARN is not known before the apply: the statement keeps its place, its value unknown.
    assert statements["QueueAdmin"]["Action"] == ["sqs:*"]
    assert statements["QueueAdmin"]["Resource"] == [UNKNOWN]
    assert statements["PassAnyRole"]["Resource"] == ["*"]


def test_policies_attachments_and_the_trust_policy_are_joined_to_their_role():
    role = by_id(plan_resources(load("insecure")))["insecure-open-role"]

    assert sorted(p["PolicyName"] for p in role.document["Policies"]) == [
        "AdministratorAccess",
        "everything",
        "queue-admin",
    ]
    assert role.document["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": "*"}
    assert role.document["AccountId"] == "123456789012"
    assert role.environment == "insecure"


def test_security_group_rules_and_data_stores_are_joined_to_their_group_by_reference():
    groups = by_id(r for r in plan_resources(load("full")) if r.kind == ResourceKind.SECURITY_GROUP)
    database = groups["spotmusic-audit-full-database"].document
    tasks = "module.environment.module.security_groups.aws_security_group.ecs_tasks"

    # Followed through module variables and outputs: database → security_groups, ecs → security_groups.
    assert database["AttachedTo"] == ["RDS spotmusic-audit-full-mysql"]
    assert database["AppSecurityGroupIds"] == [tasks]
    # An inline rule naming a group the same plan creates: the whole set of groups is unknown, its reference is not.
    assert database["IpPermissions"][0]["UserIdGroupPairs"] == [{"GroupId": tasks}]
    # A rule given CIDRs has no source group, though Terraform computes that attribute.
    api = groups["spotmusic-audit-full-api"].document
    assert [p["UserIdGroupPairs"] for p in api["IpPermissions"]] == [[], []]


def test_the_web_acl_knows_its_logging_and_association_before_they_exist():
    acl = next(r for r in plan_resources(load("full")) if r.kind == ResourceKind.WAF_WEB_ACL).document

    assert acl["AssociatedResources"] == ["module.waf.aws_wafv2_web_acl_association.this[0]"]
    assert acl["LoggingConfiguration"] == {"LogDestinationConfigs": [UNKNOWN]}
    assert [rule["Name"] for rule in acl["Rules"]][0] == "rate-limit-per-ip"
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"


def test_a_finding_of_a_plan_names_the_terraform_address():
    finding = next(f for f in check_plan(load("insecure")) if f.rule_id == "sg.open-ingress")

    assert finding.address == "aws_security_group.bastion"
    assert finding.evidence["IpPermissions"][finding_index(finding.pointers[0])]["FromPort"] == 22


def finding_index(pointer: str) -> int:
    return int(pointer.split("/")[2])


def test_unknown_values_are_marked_where_terraform_left_them_out():
    assert with_unknowns({"a": 1}, {"b": True}) == {"a": 1, "b": UNKNOWN}
    # Unknown list elements left out of the list: the known ones keep their order.
    assert with_unknowns({"r": ["x"]}, {"r": [True, False]}) == {"r": [UNKNOWN, "x"]}
    assert with_unknowns({"r": ["x", None]}, {"r": [False, True]}) == {"r": ["x", UNKNOWN]}
    assert with_unknowns({"t": None}, {"t": {}}) == {"t": None}


def test_a_destroy_plan_or_an_empty_plan_has_no_finding():
    assert check_plan({"format_version": "0.2"}) == []
    assert check_plan({"planned_values": {"root_module": {}}}) == []


def test_a_plan_with_every_value_unknown_does_not_crash():
    plan = copy.deepcopy(load("insecure"))
    for change in plan["resource_changes"]:
        change["change"]["after_unknown"] = {key: True for key in ("policy", "assume_role_policy", "ingress", "rule")}

    findings = {(finding.rule_id, finding.address) for finding in check_plan(plan)}

    # Only what was read from the values now unknown (the role's trust policy, the bastion's inline ingress) is
    # no longer judged; an unknown value is never a finding, and every other rule still applies.
    known = {(finding.rule_id, finding.address) for finding in check_plan(load("insecure"))}
    assert findings == known - {
        ("iam.open-trust", "aws_iam_role.open"),
        ("sg.open-ingress", "aws_security_group.bastion"),
    }
    assert len(findings) == 17

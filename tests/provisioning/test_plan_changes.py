"""The plan review's values, read from plans Terraform 1.0.3 made against the emulator (recorded by
tests/support/record_plans.py): a create shows what it sets, an update what differs, a replacement what forces it,
a delete what goes; sensitive values never come out, unknown ones say so, and everything stays bounded."""

from __future__ import annotations

import json
from pathlib import Path

from provisioning import engine
from provisioning.engine import KNOWN_AFTER_APPLY, SENSITIVE, AttributeChange, plan_changes
from tests.support.record_plans import PLANTED

PLANS = Path(__file__).parent / "data" / "plans"


def load(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text())


def changes_of(name: str) -> dict[str, engine.ResourceChange]:
    return {change.address: change for change in plan_changes(load(name))}


def values(change: engine.ResourceChange) -> dict[str, tuple[object, object]]:
    return {attribute.name: (attribute.before, attribute.after) for attribute in change.attributes}


def test_a_create_shows_the_settings_it_sets_and_not_the_providers_nulls():
    queue = changes_of("create")["aws_sqs_queue.jobs"]

    assert queue.action == "create" and queue.module == "" and queue.type == "aws_sqs_queue"
    shown = values(queue)
    assert shown["name"] == (None, "plan-review-jobs")
    assert shown["visibility_timeout_seconds"] == (None, 30)
    # Unset in the configuration and null, zero or empty in the plan: not a setting worth a line.
    for unset in ("delay_seconds", "fifo_queue", "kms_master_key_id", "redrive_policy", "tags"):
        assert unset not in shown, unset
    assert all(before is None for before, _ in shown.values())


def test_a_create_keeps_nested_blocks_whole_with_their_unset_parts_left_out():
    group = changes_of("create")["aws_security_group.web"]

    assert values(group)["ingress"] == (
        None,
        [{"cidr_blocks": ["10.0.0.0/8"], "from_port": 443, "protocol": "tcp", "to_port": 443}],
    )
    assert values(group)["tags"] == (None, {"Owner": "alice"})


def test_values_terraform_learns_only_by_applying_are_known_after_apply():
    created = changes_of("create")["aws_security_group.web"]
    replaced = changes_of("changes")["aws_security_group.web"]
    registry = changes_of("sandbox-create")[
        'module.environment.module.container_registry.aws_ecr_repository.this["web-api"]'
    ]

    assert values(created)["id"] == (None, KNOWN_AFTER_APPLY)
    assert values(created)["arn"] == (None, KNOWN_AFTER_APPLY)
    assert values(replaced)["id"] == ("sg-624af4accd55b76a0", KNOWN_AFTER_APPLY)
    # Inside a nested block too.
    assert values(registry)["encryption_configuration"] == (
        None,
        [{"encryption_type": "AES256", "kms_key": KNOWN_AFTER_APPLY}],
    )


def test_an_update_lists_only_the_attributes_that_change_before_and_after():
    changes = changes_of("changes")

    assert changes["aws_sqs_queue.jobs"].action == "update"
    assert changes["aws_sqs_queue.jobs"].attributes == (AttributeChange("visibility_timeout_seconds", 30, 60),)
    [policy] = changes["aws_iam_role.app"].attributes
    assert policy.name == "assume_role_policy"
    assert "ecs-tasks.amazonaws.com" in policy.before and "lambda.amazonaws.com" in policy.after


def test_a_replacement_says_which_attribute_forces_it():
    group = changes_of("changes")["aws_security_group.web"]

    assert group.action == "replace"
    assert group.replaced_because == ("description",)
    forcing = [attribute for attribute in group.attributes if attribute.forces_replacement]
    assert forcing == [AttributeChange("description", "Web traffic", "Web traffic, TLS only", True)]
    # The rules stay as they were: not listed as a change.
    assert "ingress" not in values(group) and "tags" not in values(group)


def test_a_delete_shows_what_goes():
    changes = changes_of("changes")
    logs = changes["aws_cloudwatch_log_group.old[0]"]

    assert logs.action == "delete"
    assert values(logs)["name"] == ("/plan-review/old", None)
    assert values(logs)["retention_in_days"] == (7, None)
    assert {change.action for change in changes_of("destroy").values()} == {"delete"}


def test_a_sensitive_value_is_shown_as_sensitive_and_its_change_is_still_listed():
    created = changes_of("create")["aws_ssm_parameter.token"]
    updated = changes_of("changes")["aws_ssm_parameter.token"]
    deleted = changes_of("destroy")["aws_ssm_parameter.token"]

    assert values(created)["value"] == (None, SENSITIVE)
    assert updated.attributes == (AttributeChange("value", SENSITIVE, SENSITIVE),)
    assert values(deleted)["value"] == (SENSITIVE, None)


def test_no_planted_secret_comes_out_of_any_recorded_plan():
    for name in ("create", "changes", "destroy", "sandbox-create"):
        recorded = (PLANS / f"{name}.json").read_text()
        planted = [secret for secret in PLANTED.values() if secret in recorded]
        assert planted, f"{name}: the recorded plan holds a planted secret in clear, as Terraform's JSON does"

        shown = json.dumps([change.to_dict() for change in plan_changes(json.loads(recorded))])

        assert not [secret for secret in PLANTED.values() if secret in shown], name
    sandbox = changes_of("sandbox-create")
    parameter = 'module.environment.module.secrets.aws_ssm_parameter.secure["app-secret-key"]'
    assert values(sandbox[parameter])["value"] == (None, SENSITIVE)
    password = "module.environment.module.secrets.aws_secretsmanager_secret_version.database"
    assert values(sandbox[password])["secret_string"] == (None, SENSITIVE)


def test_a_secret_the_run_knows_is_masked_even_where_terraform_does_not_mark_it():
    plan = {
        "resource_changes": [
            {
                "address": "aws_sqs_queue.q",
                "type": "aws_sqs_queue",
                "change": {
                    "actions": ["create"],
                    "after": {"name": "q", "tags": {"Leak": "hunter2-generated-secret"}},
                    "after_sensitive": {},
                    "after_unknown": {},
                },
            }
        ]
    }

    [change] = plan_changes(plan, engine.Redactor(["hunter2-generated-secret"]))

    assert values(change)["tags"] == (None, {"Leak": engine.REDACTED})


def test_resources_are_kept_with_their_module_in_the_plans_order():
    changes = plan_changes(load("sandbox-create"))

    assert len(changes) == engine.summarise_plan(load("sandbox-create"))["add"]
    assert {change.module for change in changes} >= {
        "module.environment.module.network",
        "module.environment.module.ecs",
    }
    assert all(change.address.startswith(change.module + ".") for change in changes)


def test_a_long_value_is_cut_and_a_plan_too_large_keeps_its_last_resources_without_values():
    def queue(index: int, policy: str) -> dict:
        return {
            "address": f"aws_sqs_queue.q{index}",
            "type": "aws_sqs_queue",
            "change": {"actions": ["create"], "after": {"policy": policy}, "after_sensitive": {}, "after_unknown": {}},
        }

    long_policy = "x" * (engine.MAX_VALUE_CHARS * 3)
    count = engine.MAX_CHANGES_CHARS // engine.MAX_VALUE_CHARS + 10
    changes = plan_changes({"resource_changes": [queue(index, long_policy) for index in range(count)]})

    [first] = changes[0].attributes
    assert first.after.startswith("x" * engine.MAX_VALUE_CHARS + "…")
    assert first.after.endswith(f"({engine.MAX_VALUE_CHARS * 3:,} characters in all)")
    assert len(changes) == count
    assert not changes[-1].attributes and changes[-1].values_omitted
    kept = json.dumps([change.to_dict() for change in changes])
    # The bound is on values; each resource adds its address, action and flags.
    assert len(kept) < engine.MAX_CHANGES_CHARS + 200 * count

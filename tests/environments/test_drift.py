"""Drift: a refresh-only plan finds what changed behind Terraform's back, the environment says "drifted" until it
is reconciled, and nothing is ever applied by the check itself.

The comparison is tested on plan JSON shaped as Terraform 1.0 writes it; the whole story (apply a sandbox,
change it with boto3, find the drift, reconcile) runs against the emulator in the slow test at the end.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.activity.models import ActivityEntry
from portal.environments.models import DriftCheck, Environment
from portal.environments.services import request_drift_check
from portal.environments.tasks import check_drift, schedule_drift_checks
from portal.jobs.tasks import reap_lost_jobs
from portal.runs.models import Run
from portal.runs.tasks import execute_run
from provisioning import aws, engine
from tests.conftest import ARTIFACTS
from tests.factories import api_client, make_environment, make_run, make_user, record_enqueued_runs

# --- the comparison (no Django, no Terraform) ----------------------------------------------------


def drift_entry(address: str, before: dict | None, after: dict | None, actions=("update",), **extra) -> dict:
    resource_type = address.split(".")[-2]
    return {
        "address": address,
        "mode": "managed",
        "type": resource_type,
        "change": {"actions": list(actions), "before": before, "after": after, **extra},
    }


def plan_with(*drift: dict, state: tuple[dict, ...] = ()) -> dict:
    resources = [{"mode": "managed", **resource} for resource in state]
    return {"resource_drift": list(drift), "prior_state": {"values": {"root_module": {"resources": resources}}}}


def test_a_changed_attribute_is_drift_with_its_values_before_and_after():
    plan = plan_with(
        drift_entry(
            "module.queues.aws_sqs_queue.this",
            {"name": "q", "visibility_timeout_seconds": 30, "tags": {"Tier": "dev"}},
            {"name": "q", "visibility_timeout_seconds": 99, "tags": {"Tier": "dev", "Owner": "console"}},
        )
    )

    [resource] = engine.drifted_resources(plan)

    assert resource["address"] == "module.queues.aws_sqs_queue.this"
    assert resource["action"] == "update"
    assert resource["attributes"] == [
        {"name": "tags.Owner", "before": None, "after": "console"},
        {"name": "visibility_timeout_seconds", "before": 30, "after": 99},
    ]


def test_null_against_an_empty_or_zero_value_is_not_drift():
    # What hashicorp/aws 3.39 reports right after an apply, on AWS as on the emulator.
    plan = plan_with(
        drift_entry(
            "module.observability.aws_cloudwatch_metric_alarm.this",
            {"alarm_actions": None, "ok_actions": None, "threshold": 80},
            {"alarm_actions": [], "ok_actions": [], "threshold": 80},
        ),
        drift_entry(
            "module.audio_storage.aws_s3_bucket.this",
            {"lifecycle_rule": [{"id": "expire", "tags": None, "enabled": True}]},
            {"lifecycle_rule": [{"id": "expire", "tags": {}, "enabled": True}]},
        ),
        drift_entry(
            "module.ecs.aws_ecs_cluster.this",
            {"default_capacity_provider_strategy": [{"base": None, "weight": 1}]},
            {"default_capacity_provider_strategy": [{"base": 0, "weight": 1}]},
        ),
        drift_entry("module.api.aws_api_gateway_stage.this", {"variables": None}, {"variables": {}}),
        drift_entry("aws_sqs_queue.untagged", {"name": "q", "tags": None}, {"name": "q", "tags": {}}),
    )

    assert engine.drifted_resources(plan) == []


def test_values_aws_moves_on_its_own_are_not_drift():
    plan = plan_with(
        drift_entry(
            "module.database.aws_db_instance.this",
            {"latest_restorable_time": "2026-11-24T12:54:26Z", "instance_class": "db.t3.micro"},
            {"latest_restorable_time": "2026-11-24T12:59:26Z", "instance_class": "db.t3.micro"},
        )
    )

    assert engine.drifted_resources(plan) == []


SG = "sg-0001"
RULE = {
    "security_group_id": SG,
    "type": "ingress",
    "protocol": "tcp",
    "from_port": 443,
    "to_port": 443,
    "cidr_blocks": ["0.0.0.0/0"],
    "self": False,
    "source_security_group_id": None,
}
BLOCK = {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "security_groups": []}


def test_rules_made_by_their_own_resources_are_not_drift_of_the_security_group():
    plan = plan_with(
        drift_entry("module.sg.aws_security_group.api", {"id": SG, "ingress": []}, {"id": SG, "ingress": [BLOCK]}),
        state=(
            {"address": "module.sg.aws_security_group_rule.https", "type": "aws_security_group_rule", "values": RULE},
        ),
    )

    assert engine.drifted_resources(plan) == []


def test_a_rule_added_in_the_console_is_drift_of_the_security_group():
    opened = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"], "security_groups": []}
    plan = plan_with(
        drift_entry(
            "module.sg.aws_security_group.api", {"id": SG, "ingress": []}, {"id": SG, "ingress": [BLOCK, opened]}
        ),
        state=(
            {"address": "module.sg.aws_security_group_rule.https", "type": "aws_security_group_rule", "values": RULE},
        ),
    )

    [resource] = engine.drifted_resources(plan)

    assert resource["attributes"] == [
        {"name": "ingress", "before": None, "after": [{k: v for k, v in opened.items() if v}]}
    ]


EGRESS_RULE = {**RULE, "type": "egress"}
GROUP = {"address": "module.sg.aws_security_group.tasks", "type": "aws_security_group"}
OWNED_RULE = {"address": "module.sg.aws_security_group_rule.https", "type": "aws_security_group_rule"}


def test_an_egress_rule_no_resource_owns_stays_drift_after_an_apply_wrote_it_into_the_state():
    # The group's egress is made of separate rules, so an apply kept the hand-made rule (port 25) in the state:
    # Terraform's refresh-only plan reports nothing, the rule is still not Terraform's.
    smtp = {"protocol": "tcp", "from_port": 25, "to_port": 25, "cidr_blocks": ["0.0.0.0/0"], "security_groups": []}
    plan = plan_with(
        state=(
            {**GROUP, "values": {"id": SG, "ingress": [], "egress": [BLOCK, smtp]}},
            {**OWNED_RULE, "values": EGRESS_RULE},
        )
    )

    [resource] = engine.drifted_resources(plan)

    assert resource["address"] == "module.sg.aws_security_group.tasks" and resource["action"] == "update"
    assert resource["attributes"] == [
        {"name": "egress", "before": None, "after": [{k: v for k, v in smtp.items() if v}]}
    ]


def test_a_group_whose_rules_are_all_owned_has_no_standing_drift():
    plan = plan_with(
        state=(
            {**GROUP, "values": {"id": SG, "ingress": [BLOCK], "egress": [BLOCK]}},
            {**OWNED_RULE, "values": EGRESS_RULE},
        )
    )

    assert engine.drifted_resources(plan) == []


def test_routes_policies_and_addresses_made_by_other_resources_are_not_drift():
    plan = plan_with(
        drift_entry(
            "module.network.aws_route_table.public",
            {"id": "rtb-1", "route": []},
            {"id": "rtb-1", "route": [{"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "nat_gateway_id": ""}]},
        ),
        drift_entry(
            "module.iam.aws_iam_role.web_api",
            {"name": "web-api", "inline_policy": [{"name": "", "policy": ""}]},
            {"name": "web-api", "inline_policy": [{"name": "web-api", "policy": "{}"}]},
        ),
        drift_entry(
            "module.network.aws_eip.nat",
            {"id": "eipalloc-1", "association_id": "", "private_ip": ""},
            {"id": "eipalloc-1", "association_id": "eipassoc-1", "private_ip": "10.0.0.9"},
        ),
        state=(
            {
                "address": "module.network.aws_route.public",
                "type": "aws_route",
                "values": {"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
            },
            {
                "address": "module.iam.aws_iam_role_policy.web_api",
                "type": "aws_iam_role_policy",
                "values": {"role": "web-api", "name": "web-api"},
            },
            {
                "address": "module.network.aws_nat_gateway.this",
                "type": "aws_nat_gateway",
                "values": {"allocation_id": "eipalloc-1"},
            },
        ),
    )

    assert engine.drifted_resources(plan) == []


def test_a_resource_deleted_outside_terraform_is_drift():
    plan = plan_with(drift_entry("module.queues.aws_sqs_queue.dlq", {"name": "dlq"}, None, actions=("delete",)))

    assert engine.drifted_resources(plan) == [
        {"address": "module.queues.aws_sqs_queue.dlq", "type": "aws_sqs_queue", "action": "delete", "attributes": []}
    ]


def test_sensitive_values_and_secrets_never_appear_in_the_drift():
    plan = plan_with(
        drift_entry(
            "module.secrets.aws_ssm_parameter.key",
            {"value": "old-secret-value-123", "description": "a"},
            {"value": "new-secret-value-456", "description": "b: launchpad-generated-secret"},
            before_sensitive={"value": True},
            after_sensitive={"value": True},
        )
    )

    [resource] = engine.drifted_resources(plan, engine.Redactor(["launchpad-generated-secret"]))

    assert resource["attributes"] == [
        {"name": "description", "before": "a", "after": "b: [redacted]"},
        {"name": "value", "before": "(sensitive)", "after": "(sensitive)"},
    ]


# --- drift checks in the portal ------------------------------------------------------------------


@pytest.fixture
def queued_checks(monkeypatch) -> list[int]:
    """The drift check ids given to ``check_drift.delay`` (no broker); runs are recorded the same way."""
    record_enqueued_runs(monkeypatch)
    queued: list[int] = []
    monkeypatch.setattr("portal.environments.tasks.check_drift.delay", queued.append)
    return queued


def ready_environment(**kwargs) -> Environment:
    environment = make_environment(**kwargs)
    Environment.objects.filter(pk=environment.pk).update(status="ready")
    environment.refresh_from_db()
    return environment


@pytest.mark.django_db(transaction=True)
def test_the_owner_asks_for_a_drift_check_through_the_api_and_it_is_queued(queued_checks):
    environment = ready_environment(name="checked")

    response = api_client(environment.owner).post("/api/v1/environments/checked/drift-checks/")

    assert response.status_code == 202, response.content
    check = DriftCheck.objects.get()
    assert response.json()["id"] == check.pk and response.json()["status"] == "queued"
    assert queued_checks == [check.pk]
    assert ActivityEntry.objects.filter(action="drift_check.requested", object_id=str(check.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_drift_check_is_refused_while_a_run_is_under_way_or_before_the_first_apply(queued_checks):
    busy = ready_environment(name="busy")
    make_run(busy, kind="apply", status="running")
    fresh = make_environment(name="fresh")
    owner_of = {environment.name: api_client(environment.owner) for environment in (busy, fresh)}

    during_run = owner_of["busy"].post("/api/v1/environments/busy/drift-checks/")
    never_applied = owner_of["fresh"].post("/api/v1/environments/fresh/drift-checks/")

    assert during_run.status_code == 409 and "under way" in during_run.json()["detail"]
    assert never_applied.status_code == 409 and "applied environments" in never_applied.json()["detail"]
    assert queued_checks == []


@pytest.mark.django_db
def test_only_the_owner_or_an_admin_asks_for_a_drift_check_but_everyone_reads_them(queued_checks):
    environment = ready_environment(name="guarded")
    check = DriftCheck.objects.create(environment=environment, status="clean")
    engineer = api_client(make_user())

    assert engineer.post("/api/v1/environments/guarded/drift-checks/").status_code == 403
    listed = engineer.get("/api/v1/environments/guarded/drift-checks/").json()["results"]
    assert [item["id"] for item in listed] == [check.pk]
    assert engineer.get(f"/api/v1/environments/guarded/drift-checks/{check.pk}/").json()["log"] == ""


@pytest.mark.django_db
def test_the_schedule_checks_ready_and_drifted_environments_with_no_run_under_way(queued_checks):
    ready = ready_environment(name="sched-ready")
    drifted = ready_environment(name="sched-drifted")
    Environment.objects.filter(pk=drifted.pk).update(status="drifted")
    busy = ready_environment(name="sched-busy")
    make_run(busy, kind="plan", status="queued")
    recent = ready_environment(name="sched-recent")
    DriftCheck.objects.create(environment=recent, status="clean")
    make_environment(name="sched-new")

    with_checks = schedule_drift_checks()

    assert with_checks == 2
    assert set(DriftCheck.objects.filter(status="queued").values_list("environment__name", flat=True)) == {
        ready.name,
        drifted.name,
    }


@pytest.mark.django_db
def test_a_check_whose_worker_was_lost_is_failed_by_the_reaper(queued_checks):
    environment = ready_environment(name="lost-check")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    check = DriftCheck.objects.create(
        environment=environment, status="running", started_at=an_hour_ago, heartbeat_at=an_hour_ago
    )

    reap_lost_jobs()

    check.refresh_from_db()
    assert check.status == "failed" and "lost" in check.error


@pytest.mark.django_db
def test_the_environment_page_lists_the_drifted_resources_and_offers_a_plan_that_reconciles(client, queued_checks):
    environment = ready_environment(name="shown")
    Environment.objects.filter(pk=environment.pk).update(status="drifted")
    DriftCheck.objects.create(
        environment=environment,
        status="drifted",
        finished_at=timezone.now(),
        resources=[
            {
                "address": "module.queues.aws_sqs_queue.this",
                "type": "aws_sqs_queue",
                "action": "update",
                "attributes": [{"name": "visibility_timeout_seconds", "before": 30, "after": 99}],
            }
        ],
    )
    client.force_login(environment.owner)

    page = client.get("/environments/shown/").content.decode()

    assert 'id="drifted-resources"' in page
    assert "module.queues.aws_sqs_queue.this" in page and "visibility_timeout_seconds" in page
    assert 'id="reconcile-plan-button"' in page and 'id="reconcile-apply-button"' in page
    response = client.post("/environments/shown/runs/", {"kind": "plan"})
    assert Run.objects.get(environment=environment).kind == "plan"
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_check_drift_now_button_queues_a_check(client, queued_checks):
    environment = ready_environment(name="button")
    client.force_login(environment.owner)

    response = client.post("/environments/button/drift/")

    assert response.status_code == 302 and response["Location"].endswith("/environments/button/#drift")
    assert queued_checks == [DriftCheck.objects.get(environment=environment).pk]


# --- against the emulator ------------------------------------------------------------------------


def ssh_open_to_the_world() -> list[dict]:
    return [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def ingress_rules(group_id: str) -> list[dict]:
    """The group's ingress as AWS lists it now, one entry per port range and source."""
    [group] = aws.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return sorted(
        (
            {"port": f"{p.get('FromPort')}-{p.get('ToPort')}", "protocol": p["IpProtocol"], "from": source}
            for p in group["IpPermissions"]
            for source in [r["CidrIp"] for r in p["IpRanges"]] + [g["GroupId"] for g in p["UserIdGroupPairs"]]
        ),
        key=lambda rule: (rule["port"], rule["from"]),
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_port_opened_behind_terraforms_back_is_drift_until_apply_to_reconcile_closes_it(
    emulator, toolchain, settings, tmp_path, client, queued_checks
):
    """One sandbox, applied through a real run: clean right after the apply; SQS VisibilityTimeout changed and
    SSH opened to the world in the console are found with the right attributes; the environment is "drifted" and
    its owner told; the run the "Apply to reconcile" button asks for changes exactly those two resources, SSH is
    closed in AWS, and the next check is clean. The rules before and after go to artifacts/reconcile.json."""
    settings.AWS_ENDPOINT_URL = emulator.endpoint
    settings.LAUNCHPAD = {**settings.LAUNCHPAD, "WORK_DIR": tmp_path / "work"}
    owner = make_user(username="drift-owner")
    owner.email = "drift-owner@spotmusic.invalid"
    owner.save()
    environment = make_environment(owner=owner, name="drift-e2e", vpc_cidr="10.91.0.0/16")
    client.force_login(owner)

    def executed(queued: Run) -> Run:
        execute_run(queued.pk)
        queued.refresh_from_db()
        assert queued.status == "succeeded", queued.error
        return queued

    def check() -> DriftCheck:
        requested = request_drift_check(Environment.objects.get(pk=environment.pk), owner)
        check_drift(requested.pk)
        requested.refresh_from_db()
        assert requested.status in ("clean", "drifted"), requested.error
        return requested

    executed(Run.objects.create(environment=environment, kind="apply", requested_by=owner))
    assert Environment.objects.get(pk=environment.pk).status == "ready"

    clean = check()
    assert clean.status == "clean", clean.resources
    assert clean.reported_by_terraform > 0, "Terraform's own report carries representation noise; none is drift"

    outputs = Environment.objects.get(pk=environment.pk).outputs
    aws.client("sqs").set_queue_attributes(QueueUrl=outputs["work_queue_url"], Attributes={"VisibilityTimeout": "99"})
    ec2 = aws.client("ec2")
    [group] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["spotmusic-drift-e2e-ecs-tasks"]}]
    )["SecurityGroups"]
    defined = ingress_rules(group["GroupId"])
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ssh_open_to_the_world())
    opened = ingress_rules(group["GroupId"])
    assert {"port": "22-22", "protocol": "tcp", "from": "0.0.0.0/0"} in opened

    drifted = check()

    found = {resource["address"]: resource for resource in drifted.resources}
    assert drifted.status == "drifted"
    queue = found["module.environment.module.queues.aws_sqs_queue.this"]
    assert queue["attributes"] == [{"name": "visibility_timeout_seconds", "before": 300, "after": 99}]
    ingress = found["module.environment.module.security_groups.aws_security_group.ecs_tasks"]["attributes"]
    assert [attribute["name"] for attribute in ingress] == ["ingress"]
    added = [rule for rule in ingress[0]["after"] if rule not in ingress[0]["before"]]
    assert [(rule["from_port"], rule["cidr_blocks"]) for rule in added] == [(22, ["0.0.0.0/0"])]
    assert set(found) == {
        "module.environment.module.queues.aws_sqs_queue.this",
        "module.environment.module.security_groups.aws_security_group.ecs_tasks",
    }
    assert Environment.objects.get(pk=environment.pk).status == "drifted"
    assert [message.subject for message in mail.outbox] == [
        "[Launchpad] drift-e2e drifted: 2 resources changed outside Terraform"
    ]
    listed = api_client(owner).get("/api/v1/environments/drift-e2e/").json()["last_drift_check"]
    assert listed["status"] == "drifted" and len(listed["resources"]) == 2

    # The owner presses "Apply to reconcile" (the form on the environment page); a worker carries the run out.
    page = client.get("/environments/drift-e2e/").content.decode()
    assert 'id="reconcile-apply-button"' in page
    response = client.post("/environments/drift-e2e/runs/", {"kind": "apply"})
    assert response.status_code == 302
    reconcile = executed(Run.objects.filter(environment=environment).latest("pk"))

    assert reconcile.kind == "apply"
    assert sorted((r["address"], r["action"]) for r in reconcile.plan_summary["resources"]) == [
        ("module.environment.module.queues.aws_sqs_queue.this", "update"),
        ("module.environment.module.security_groups.aws_security_group.ecs_tasks", "update"),
    ]
    reconciled = ingress_rules(group["GroupId"])
    assert reconciled == defined, "SSH is closed again and the tasks still admit the load balancer"
    visibility = aws.client("sqs").get_queue_attributes(
        QueueUrl=outputs["work_queue_url"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"]
    assert visibility == "300"
    assert check().status == "clean"
    assert Environment.objects.get(pk=environment.pk).status == "ready"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    evidence = {
        "group": "spotmusic-drift-e2e-ecs-tasks",
        "defined": defined,
        "opened_in_the_console": opened,
        "after_apply_to_reconcile": reconciled,
    }
    (ARTIFACTS / "reconcile.json").write_text(json.dumps(evidence, indent=2) + "\n")
    print("\n" + json.dumps(evidence))

    # The tasks' egress is made of separate rules (inline, it would close a cycle with the data stores' ingress):
    # a hand-made egress rule is not removed by an apply, and so it stays drift, before and after one.
    smtp = [{"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_egress(GroupId=group["GroupId"], IpPermissions=smtp)
    tasks = "module.environment.module.security_groups.aws_security_group.ecs_tasks"
    for when in ("before", "after"):
        if when == "after":
            client.post("/environments/drift-e2e/runs/", {"kind": "apply"})
            executed(Run.objects.filter(environment=environment).latest("pk"))
        standing = check()
        assert standing.status == "drifted", when
        [resource] = standing.resources
        assert resource["address"] == tasks
        assert [(r["from_port"], r["cidr_blocks"]) for r in resource["attributes"][0]["after"]] == [(25, ["0.0.0.0/0"])]
    ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=smtp)

    # Leave the emulator as it was: the owner destroys their dev sandbox alone.
    executed(Run.objects.create(environment=environment, kind="destroy", requested_by=owner))
    assert Environment.objects.get(pk=environment.pk).status == "destroyed"

"""Each blueprint against the emulator, through the S3 backend with DynamoDB locking:
apply → a second plan shows no changes → destroy leaves nothing behind; and the state lock holds."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time

import pytest

from provisioning import aws
from provisioning.terraform import StateLockedError, TerraformRunner
from provisioning.workspace import BackendConfig, render_workspace
from tests.conftest import ARTIFACTS
from tests.support.emulator import REGION, apply_state_store
from tests.support.inventory import leftovers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state_store(emulator, toolchain, tmp_path_factory):
    """The bootstrap root applied once: the state bucket and lock table every blueprint uses."""
    # Its own names: the session's emulator may already hold the store Launchpad's runs bootstrapped.
    return apply_state_store(emulator.endpoint, toolchain, tmp_path_factory.mktemp("bootstrap"), "blueprint-tests")


def secret_variables() -> dict[str, str]:
    """Generated secrets, given to Terraform only through the environment."""
    return {
        "TF_VAR_db_password": secrets.token_urlsafe(24),
        "TF_VAR_app_secret_key": secrets.token_urlsafe(40),
    }


def prepare(blueprint, environment, emulator, toolchain, state_store, directory, env, **variables):
    backend = BackendConfig(
        bucket=state_store["bucket"],
        key=f"environments/{environment}.tfstate",
        region=REGION,
        dynamodb_table=state_store["dynamodb_table"],
        endpoint=emulator.endpoint,
    )
    workspace = render_workspace(
        blueprint,
        directory,
        {"environment": environment, "aws_endpoint_url": emulator.endpoint, "region": REGION, **variables},
        backend,
    )
    runner = TerraformRunner(workspace.root, toolchain, env={**os.environ, **env})
    runner.init(backend_config=workspace.backend_file)
    return workspace, runner


def apply_with_timings(runner: TerraformRunner, workspace) -> dict:
    """Plan and apply; return wall-clock seconds and each resource's apply time from the -json events."""
    started = time.perf_counter()
    assert runner.plan(workspace.plan_file, var_file=workspace.var_file) is True
    elapsed: dict[str, float] = {}

    def collect(stream: str, line: str) -> None:
        if stream == "stdout" and line.startswith("{"):
            event = json.loads(line)
            if event.get("type") == "apply_complete":
                elapsed[event["hook"]["resource"]["addr"]] = event["hook"]["elapsed_seconds"]

    runner.apply(workspace.plan_file, on_line=collect)
    return {"seconds": round(time.perf_counter() - started, 1), "resources": elapsed}


def destroy(runner: TerraformRunner, workspace) -> float:
    started = time.perf_counter()
    destroy_plan = workspace.root / "destroy.tfplan"
    runner.plan(destroy_plan, var_file=workspace.var_file, destroy=True)
    runner.apply(destroy_plan)
    return round(time.perf_counter() - started, 1)


def record(blueprint: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "blueprint-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    slowest = sorted(figures["apply"]["resources"].items(), key=lambda item: -item[1])[:5]
    data[blueprint] = {
        "apply_seconds": figures["apply"]["seconds"],
        "resources": len(figures["apply"]["resources"]),
        "slowest": slowest,
        "destroy_seconds": figures["destroy_seconds"],
    }
    path.write_text(json.dumps(data, indent=2))
    print(f"\n{blueprint}: {json.dumps(data[blueprint])}")


def assert_least_privilege(prefix: str) -> None:
    """Our roles' inline policies: no '*' or 'service:*' action, no '*' resource on a write action."""
    iam = aws.client("iam")
    roles = [
        r["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for r in page["Roles"]
        if r["RoleName"].startswith(prefix)
    ]
    assert len(roles) >= 3, roles
    read_only_on_star = {"ecr:GetAuthorizationToken"}
    for role in roles:
        assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], role
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            if isinstance(document, str):
                document = json.loads(document)
            for statement in document["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert all(a != "*" and not a.endswith(":*") for a in actions), (role, statement)
                if "*" in resources:
                    assert set(actions) <= read_only_on_star, (role, statement)


@pytest.mark.parametrize(
    ("blueprint", "extra"),
    [
        ("sandbox", {}),
        (
            "full",
            {
                "cdn_wait_for_deployment": False,
                "force_destroy_data": True,
                "db_skip_final_snapshot": True,
                "secret_recovery_window_days": 0,
            },
        ),
    ],
)
def test_blueprint_applies_converges_and_destroys_completely(
    blueprint, extra, emulator, toolchain, state_store, tmp_path
):
    environment = f"bp-{blueprint}"
    prefix = f"spotmusic-{environment}"
    env = secret_variables()
    workspace, runner = prepare(blueprint, environment, emulator, toolchain, state_store, tmp_path / "ws", env, **extra)

    applied = apply_with_timings(runner, workspace)
    outputs = runner.outputs()
    assert outputs["ecs_cluster_name"]["value"] == prefix
    assert aws.client("ecs").describe_services(
        cluster=prefix, services=list(outputs["ecs_service_names"]["value"].values())
    )["services"], "both ECS services exist"
    assert leftovers(prefix), "the environment's resources are visible in the account"
    assert_least_privilege(prefix)
    state_object = aws.client("s3").get_object(Bucket=state_store["bucket"], Key=f"environments/{environment}.tfstate")
    assert state_object["ServerSideEncryption"] in ("AES256", "aws:kms")
    # The generated password reaches Terraform only through the environment, never the workspace files.
    assert env["TF_VAR_db_password"] not in workspace.var_file.read_text()

    second_plan = workspace.root / "second.tfplan"
    changes = runner.plan(second_plan, var_file=workspace.var_file)
    if changes:
        pending = [
            (c["address"], c["change"]["actions"])
            for c in runner.show_plan(second_plan).get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"]
        ]
        pytest.fail(f"a second plan right after apply wants changes: {pending}")

    destroy_seconds = destroy(runner, workspace)
    assert leftovers(prefix) == []
    assert (
        json.loads(
            aws.client("s3")
            .get_object(Bucket=state_store["bucket"], Key=f"environments/{environment}.tfstate")["Body"]
            .read()
        )["resources"]
        == []
    )
    record(blueprint, {"apply": applied, "destroy_seconds": destroy_seconds})


def test_second_concurrent_plan_fails_on_the_state_lock_with_a_clear_message(
    emulator, toolchain, state_store, tmp_path
):
    environment = "bp-locking"
    env = secret_variables()
    first_ws, first = prepare("sandbox", environment, emulator, toolchain, state_store, tmp_path / "one", env)
    second_ws, second = prepare("sandbox", environment, emulator, toolchain, state_store, tmp_path / "two", env)
    lock_id = f"{state_store['bucket']}/environments/{environment}.tfstate"
    dynamodb = aws.client("dynamodb")

    def lock_held() -> bool:
        item = dynamodb.get_item(TableName=state_store["dynamodb_table"], Key={"LockID": {"S": lock_id}})
        return "Item" in item

    outcome: dict[str, object] = {}

    def first_plan() -> None:
        try:
            outcome["changes"] = first.plan(first_ws.plan_file, var_file=first_ws.var_file, lock_timeout="60s")
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=first_plan)
    thread.start()
    deadline = time.monotonic() + 60
    while not lock_held() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_held(), f"the first plan never took the lock: {outcome}"

    with pytest.raises(StateLockedError) as failure:
        second.plan(second_ws.plan_file, var_file=second_ws.var_file, lock_timeout="0s")
    thread.join()
    assert "Error acquiring the state lock" in failure.value.output
    assert "ConditionalCheckFailedException" in failure.value.output
    assert "state lock" in str(failure.value)
    assert outcome.get("changes") is True, outcome
    assert not lock_held(), "the first plan released the lock"

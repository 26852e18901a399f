"""Each blueprint against the emulator, through the S3 backend with DynamoDB locking:
apply → a second plan shows no changes → destroy leaves nothing behind; the state lock holds; and an environment
applied with the library's previous layout keeps its resources when planned with the current one."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from provisioning import aws, engine
from provisioning.state_moves import STATE_MOVES_FILE, state_moves
from provisioning.terraform import StateLockedError, TerraformRunner
from provisioning.workspace import MODULE_LIBRARY, BackendConfig, render_workspace
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


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=MODULE_LIBRARY.parent, capture_output=True, check=True).stdout


def previous_library(directory: Path) -> Path:
    """The module library as it was before the composition module (the last commit with the shared core.tf), its
    symlinks kept (``git archive``), extracted under ``directory``."""
    removed = git(
        "log", "-1", "--format=%H", "--no-renames", "--diff-filter=D", "--", "terraform_modules/shared/core.tf"
    ).decode()
    return library_at(f"{removed.strip()}^", directory)


def library_before_inline_ingress(directory: Path) -> Path:
    """The module library as it was while the security groups' ingress rules were separate resources."""
    changed = git(
        "log",
        "-1",
        "--format=%H",
        "-S",
        '"api_ingress_http"',
        "--",
        "terraform_modules/modules/security_groups/main.tf",
    ).decode()
    return library_at(f"{changed.strip()}^", directory)


def library_at(commit: str, directory: Path) -> Path:
    archive = git("archive", commit, "terraform_modules")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="tar")
    return directory / "terraform_modules"


HANDED_OVER = [move for move in state_moves("full", STATE_MOVES_FILE) if move.handed_over]


def run_request(blueprint: str, variables: dict, state_store: dict, emulator, run_id: int) -> engine.RunRequest:
    """What Launchpad's run of ``variables["environment"]`` would ask the engine for, with generated secrets."""
    return engine.RunRequest(
        run_id=run_id,
        blueprint=blueprint,
        environment=variables["environment"],
        region=REGION,
        variables=variables,
        secret_environment=secret_variables(),
        endpoint=emulator.endpoint,
        state_store=engine.StateStore(state_store["bucket"], state_store["dynamodb_table"]),
        state_key=f"environments/{variables['environment']}/terraform.tfstate",
    )


def apply_layout(root: Path, request: engine.RunRequest, toolchain) -> TerraformRunner:
    """Apply the blueprint ``root`` of an earlier library as it was, into the state ``request`` plans from."""
    (root / "terraform.tfvars.json").write_text(json.dumps(request.variables))
    store = request.state_store
    backend = BackendConfig(store.bucket, request.state_key, REGION, store.lock_table, request.endpoint)
    runner = TerraformRunner(root, toolchain, env={**os.environ, **request.secret_environment})
    runner.init(backend_config=backend.settings())
    runner.plan(root / "old.tfplan", var_file=root / "terraform.tfvars.json")
    runner.apply(root / "old.tfplan")
    return runner


def test_an_environment_applied_with_the_previous_layout_is_planned_with_the_current_one_without_losing_a_resource(
    emulator, toolchain, state_store, tmp_path
):
    environment = "bp-moved"
    extra = {
        "cdn_wait_for_deployment": False,
        "force_destroy_data": True,
        "db_skip_final_snapshot": True,
        "secret_recovery_window_days": 0,
    }
    variables = {"environment": environment, "aws_endpoint_url": emulator.endpoint, "region": REGION, **extra}
    request = run_request("full", variables, state_store, emulator, run_id=1)
    # The previous layout applied as it was: its own blueprint root, modules and shared files (symlinks).
    old_root = previous_library(tmp_path / "old") / "blueprints" / "full"
    assert (old_root / "core.tf").is_symlink(), "the previous layout is the one with the shared files"
    old = apply_layout(old_root, request, toolchain)
    before = set(old.state_addresses())
    assert "module.ecs.aws_ecs_service.web_api" in before and "module.network.aws_vpc.this" in before

    lines: list[str] = []
    outcome = engine.plan(request, toolchain, tmp_path / "work", lambda stream, line: lines.append(line))

    moves = state_moves("full", STATE_MOVES_FILE)
    for move in moves:
        if move.handed_over:
            assert f"Handed {move.source} over to {move.destination}: gone from the state, unchanged in AWS." in lines
        else:
            assert f"Moved {move.source} to {move.destination}." in lines
    after = set(old.state_addresses())
    assert len(after) == len(before) - len(HANDED_OVER)
    assert "module.environment.module.network.aws_vpc.this" in after
    assert 'module.environment.module.ecs.aws_ecs_service.this["web-api"]' in after
    assert not any(address.startswith(("module.network.", "module.ecs.")) for address in after)
    changed = [(c["address"], c["action"]) for c in outcome.summary["resources"]]
    assert outcome.summary["destroy"] == 0 and outcome.summary["replace"] == 0, changed
    assert outcome.has_changes is False, f"the moved environment still wants changes: {changed}"

    lines.clear()
    again = engine.plan(request, toolchain, tmp_path / "work", lambda stream, line: lines.append(line))
    assert not again.has_changes
    assert not [line for line in lines if line.startswith("Moved ")], "a second plan moves nothing"

    destroy_request = dataclasses.replace(request, destroy=True)
    destroying = engine.plan(destroy_request, toolchain, tmp_path / "work", lambda stream, line: None)
    engine.apply(destroy_request, destroying.plan, toolchain, tmp_path / "work", lambda stream, line: None)
    assert leftovers(f"spotmusic-{environment}") == []


def security_group_rules(prefix: str) -> dict[str, list]:
    """Every rule of the environment's groups as AWS lists them, by group name."""
    groups = aws.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{prefix}-*"]}])
    return {
        group["GroupName"]: sorted(
            json.dumps(permission, sort_keys=True)
            for permission in group["IpPermissions"] + [{"egress": True, **p} for p in group["IpPermissionsEgress"]]
        )
        for group in groups["SecurityGroups"]
    }


def test_an_environment_whose_ingress_rules_were_separate_resources_keeps_every_rule_and_then_owns_them_exclusively(
    emulator, toolchain, state_store, tmp_path
):
    environment = "bp-inline"
    prefix = f"spotmusic-{environment}"
    variables = {"environment": environment, "aws_endpoint_url": emulator.endpoint, "region": REGION}
    request = run_request("sandbox", variables, state_store, emulator, run_id=2)
    old_root = library_before_inline_ingress(tmp_path / "old") / "blueprints" / "sandbox"
    assert "aws_security_group_rule" in (old_root.parent.parent / "modules/security_groups/main.tf").read_text()
    old = apply_layout(old_root, request, toolchain)
    rules_before = security_group_rules(prefix)
    assert len(rules_before) == 4 and all(rules_before.values())

    lines: list[str] = []
    outcome = engine.plan(request, toolchain, tmp_path / "work", lambda stream, line: lines.append(line))

    assert [line for line in lines if line.startswith("Handed ")] == [
        f"Handed {move.source} over to {move.destination}: gone from the state, unchanged in AWS."
        for move in HANDED_OVER
    ]
    assert not any(".aws_security_group_rule." in a and "_ingress_" in a for a in old.state_addresses())
    changed = [(c["address"], c["action"]) for c in outcome.summary["resources"]]
    assert outcome.has_changes is False, f"the migrated environment wants changes: {changed}"
    assert security_group_rules(prefix) == rules_before, "no rule was revoked or added"

    # From now on a rule opened in the console is Terraform's to remove.
    [tasks] = aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{prefix}-ecs-tasks"]}]
    )["SecurityGroups"]
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=tasks["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    reconcile = engine.plan(request, toolchain, tmp_path / "work", lambda stream, line: None)
    assert [(c["address"], c["action"]) for c in reconcile.summary["resources"]] == [
        ("module.environment.module.security_groups.aws_security_group.ecs_tasks", "update")
    ]
    engine.apply(request, reconcile.plan, toolchain, tmp_path / "work", lambda stream, line: None)
    assert security_group_rules(prefix) == rules_before

    destroy_request = dataclasses.replace(request, destroy=True)
    destroying = engine.plan(destroy_request, toolchain, tmp_path / "work", lambda stream, line: None)
    engine.apply(destroy_request, destroying.plan, toolchain, tmp_path / "work", lambda stream, line: None)
    assert leftovers(prefix) == []

"""Plans of real roots for the audit's tests: `terraform show -json` of a plan made against the emulator.

The saved fixtures (tests/audit/fixtures/*.json) are such plans, reduced to what the audit reads: both
blueprints as Launchpad renders them, and the insecure root next to them. Regenerate them with
``.venv/bin/python -m tests.audit.plans`` after a blueprint or module changes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from provisioning import engine
from provisioning.audit.from_plan import READ_TYPES
from provisioning.terraform import TerraformRunner
from provisioning.toolchain import Toolchain
from provisioning.workspace import BackendConfig, Workspace, render_workspace
from tests.support.emulator import REGION, write_root

FIXTURES = Path(__file__).resolve().parent / "fixtures"
INSECURE_ROOT = FIXTURES / "insecure" / "main.tf"
# Stand-ins for the generated secrets: plans hold variable values, so fixtures never get real ones.
SECRETS = {
    "TF_VAR_db_password": "fixture-db-password-0000",
    "TF_VAR_app_secret_key": "fixture-app-secret-key-not-a-real-one-0000",
}
BLUEPRINT_VARIABLES = {"sandbox": {}, "full": {"cdn_wait_for_deployment": False}}


def reduced(plan: dict) -> dict:
    """The parts of a plan the audit reads: the resource types it reads (from_plan.READ_TYPES), the modules'
    variables and outputs (references are followed through them), and only the actions and unknown markers
    of resource changes."""
    changes = [
        {
            **{
                key: change[key]
                for key in ("address", "module_address", "mode", "type", "name", "index")
                if key in change
            },
            "change": {
                "actions": change["change"]["actions"],
                "after_unknown": change["change"].get("after_unknown") or {},
            },
        }
        for change in plan.get("resource_changes") or []
        if change["type"] in READ_TYPES
    ]
    planned = plan.get("planned_values") or {}
    prior = (plan.get("prior_state") or {}).get("values") or {}
    return {
        "format_version": plan.get("format_version"),
        "terraform_version": plan.get("terraform_version"),
        "variables": {
            name: {"value": "(sensitive)" if f"TF_VAR_{name}" in SECRETS else body.get("value")}
            for name, body in (plan.get("variables") or {}).items()
        },
        "planned_values": {"root_module": _values(planned.get("root_module") or {}, data_only=False)},
        "resource_changes": changes,
        "prior_state": {"values": {"root_module": _values(prior.get("root_module") or {}, data_only=True)}},
        "configuration": {"root_module": _configuration((plan.get("configuration") or {}).get("root_module") or {})},
    }


def _values(module: dict, data_only: bool) -> dict:
    return {
        **({"address": module["address"]} if "address" in module else {}),
        "resources": [
            resource
            for resource in module.get("resources") or []
            if resource["type"] in READ_TYPES and (resource.get("mode") == "data" or not data_only)
        ],
        "child_modules": [_values(child, data_only) for child in module.get("child_modules") or []],
    }


def _configuration(module: dict) -> dict:
    return {
        "resources": [r for r in module.get("resources") or [] if r.get("type") in READ_TYPES],
        "outputs": module.get("outputs") or {},
        "module_calls": {
            name: {"expressions": call.get("expressions") or {}, "module": _configuration(call.get("module") or {})}
            for name, call in (module.get("module_calls") or {}).items()
        },
    }


def blueprint_workspace(
    blueprint: str, endpoint: str, toolchain: Toolchain, work_dir: Path, environment: str = ""
) -> tuple[Workspace, TerraformRunner]:
    """A new environment of ``blueprint``, rendered and initialised as Launchpad does it for runs."""
    environment = environment or f"audit-{blueprint}"
    store = engine.ensure_state_store(
        REGION, endpoint, toolchain, work_dir, lambda stream, line: None, name_prefix="spotmusic"
    )
    backend = BackendConfig(
        bucket=store.bucket,
        key=f"environments/{environment}.tfstate",
        region=REGION,
        dynamodb_table=store.lock_table,
        endpoint=endpoint,
    )
    variables = {
        "environment": environment,
        "tier": "dev",
        "region": REGION,
        "aws_endpoint_url": endpoint,
        **BLUEPRINT_VARIABLES[blueprint],
    }
    workspace = render_workspace(blueprint, Path(tempfile.mkdtemp(dir=work_dir)) / "ws", variables, backend)
    runner = TerraformRunner(workspace.root, toolchain, env={**os.environ, **SECRETS})
    runner.init(backend_config=workspace.backend_file)
    return workspace, runner


def blueprint_plan(blueprint: str, endpoint: str, toolchain: Toolchain, work_dir: Path) -> dict:
    """The plan of a new environment of ``blueprint``."""
    workspace, runner = blueprint_workspace(blueprint, endpoint, toolchain, work_dir)
    runner.plan(workspace.plan_file, var_file=workspace.var_file)
    return runner.show_plan(workspace.plan_file)


def insecure_plan(endpoint: str, toolchain: Toolchain, work_dir: Path) -> dict:
    """The plan of the insecure root (local state, nothing applied)."""
    root = write_root(Path(tempfile.mkdtemp(dir=work_dir)), endpoint, INSECURE_ROOT.read_text())
    runner = TerraformRunner(root, toolchain)
    runner.init()
    plan_file = root / "insecure.tfplan"
    runner.plan(plan_file)
    return runner.show_plan(plan_file)


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def regenerate() -> None:
    """Plan every fixture against a fresh emulator and save them."""
    from provisioning import toolchain as toolchain_module
    from provisioning.emulator import EmulatorProcess

    with tempfile.TemporaryDirectory() as work, EmulatorProcess() as emulator:
        os.environ.update(
            AWS_ENDPOINT_URL=emulator.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        chain = toolchain_module.prepare()
        plans = {name: blueprint_plan(name, emulator.endpoint, chain, Path(work)) for name in BLUEPRINT_VARIABLES}
        plans["insecure"] = insecure_plan(emulator.endpoint, chain, Path(work))
    for name, plan in plans.items():
        text = json.dumps(reduced(plan), indent=1, sort_keys=True) + "\n"
        for secret in SECRETS.values():  # stand-ins, but a plan shows them in clear: keep them out anyway
            text = text.replace(json.dumps(secret), json.dumps("(sensitive)"))
        (FIXTURES / f"{name}.json").write_text(text)
        print(f"{FIXTURES / name}.json")


if __name__ == "__main__":
    regenerate()

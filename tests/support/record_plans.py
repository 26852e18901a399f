"""Record the plans the plan review's tests read (tests/provisioning/data/plans/), with Terraform against the emulator.

``python -m tests.support.record_plans http://127.0.0.1:4566``: a small root is planned from nothing (creates, a
sensitive variable, values known after apply), applied, then planned again with every kind of change (update,
replace, delete, create, a sensitive value changed) and for its destroy; the sandbox blueprint is planned with
planted secrets, applied, and planned again untouched (the plan of a clean environment, with its -json log).
Only what the plan review reads is kept of each ``terraform show -json`` (never ``variables``, which holds every
value in clear).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from provisioning import toolchain as toolchain_module
from provisioning.terraform import TerraformRunner
from provisioning.workspace import BackendConfig, render_workspace
from tests.support.emulator import REGION, apply_state_store, write_root, write_tfvars

PLANS = Path(__file__).resolve().parents[1] / "provisioning" / "data" / "plans"
KEPT = ("format_version", "terraform_version", "resource_changes", "resource_drift", "prior_state")
# The secrets planted in the recorded plans: a test checks none of them reaches what Launchpad stores.
PLANTED = {
    "api_token": "planted-api-token-v1-8d2f",
    "api_token_v2": "planted-api-token-v2-51c9",
    "db_password": "planted-db-password-7e41a-b2c9d0e3f4",
    "app_secret_key": "planted-app-secret-key-93bd0-4c1e7a2f9b8d6e5a",
}

ROOT = """
variable "api_token" {
  type      = string
  sensitive = true
}
variable "group_description" { type = string }
variable "visibility_timeout" { type = number }
variable "keep_old_logs" { type = bool }
variable "with_bucket" { type = bool }
variable "principal" { type = string }

resource "aws_security_group" "web" {
  name        = "plan-review-web"
  description = var.group_description
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  tags = { Owner = "alice" }
}

resource "aws_ssm_parameter" "token" {
  name  = "/plan-review/token"
  type  = "SecureString"
  value = var.api_token
}

resource "aws_sqs_queue" "jobs" {
  name                       = "plan-review-jobs"
  visibility_timeout_seconds = var.visibility_timeout
}

resource "aws_cloudwatch_log_group" "old" {
  count             = var.keep_old_logs ? 1 : 0
  name              = "/plan-review/old"
  retention_in_days = 7
}

resource "aws_s3_bucket" "new" {
  count  = var.with_bucket ? 1 : 0
  bucket = "plan-review-new"
}

resource "aws_iam_role" "app" {
  name = "plan-review-app"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = var.principal } }]
  })
}
"""
FIRST = {
    "group_description": "Web traffic",
    "visibility_timeout": 30,
    "keep_old_logs": True,
    "with_bucket": False,
    "principal": "ecs-tasks.amazonaws.com",
}
SECOND = {
    "group_description": "Web traffic, TLS only",
    "visibility_timeout": 60,
    "keep_old_logs": False,
    "with_bucket": True,
    "principal": "lambda.amazonaws.com",
}


def keep(shown: dict) -> dict:
    return {key: shown[key] for key in KEPT if key in shown}


def save(name: str, document: dict | list) -> None:
    PLANS.mkdir(parents=True, exist_ok=True)
    (PLANS / name).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


def plan(runner: TerraformRunner, var_file: Path, destroy: bool = False, log: list | None = None) -> dict:
    plan_file = runner.working_dir / "review.tfplan"

    def collect(stream: str, line: str) -> None:
        if log is not None and stream == "stdout":
            log.append(line)

    runner.plan(plan_file, var_file=var_file, destroy=destroy, on_line=collect)
    return runner.show_plan(plan_file)


def record_small_root(endpoint: str, chain, directory: Path) -> None:
    root = write_root(directory / "root", endpoint, ROOT)
    runner = TerraformRunner(root, chain, env={**os.environ, "TF_VAR_api_token": PLANTED["api_token"]})
    runner.init()
    first = write_tfvars(directory / "first.tfvars.json", FIRST)
    save("create.json", keep(plan(runner, first)))
    runner.apply(root / "review.tfplan")
    second = write_tfvars(directory / "second.tfvars.json", SECOND)
    runner = TerraformRunner(root, chain, env={**os.environ, "TF_VAR_api_token": PLANTED["api_token_v2"]})
    save("changes.json", keep(plan(runner, second)))
    save("destroy.json", keep(plan(runner, first, destroy=True)))
    runner.apply(root / "review.tfplan")


def record_sandbox(endpoint: str, chain, directory: Path) -> None:
    store = apply_state_store(endpoint, chain, directory / "bootstrap", f"record-plans-{os.getpid()}")
    backend = BackendConfig(
        bucket=store["bucket"],
        key="environments/review-sandbox.tfstate",
        region=REGION,
        dynamodb_table=store["dynamodb_table"],
        endpoint=endpoint,
    )
    workspace = render_workspace(
        "sandbox",
        directory / "sandbox",
        {"environment": "review-sandbox", "aws_endpoint_url": endpoint, "region": REGION, "vpc_cidr": "10.77.0.0/16"},
        backend,
    )
    secrets = {"TF_VAR_db_password": PLANTED["db_password"], "TF_VAR_app_secret_key": PLANTED["app_secret_key"]}
    runner = TerraformRunner(workspace.root, chain, env={**os.environ, **secrets})
    runner.init(backend_config=workspace.backend_file)
    save("sandbox-create.json", keep(plan(runner, workspace.var_file)))
    runner.apply(workspace.root / "review.tfplan")
    log: list[str] = []
    save("sandbox-clean.json", keep(plan(runner, workspace.var_file, log=log)))
    (PLANS / "sandbox-clean.log.jsonl").write_text("\n".join(log) + "\n")
    plan(runner, workspace.var_file, destroy=True)
    runner.apply(workspace.root / "review.tfplan")


def main(endpoint: str) -> None:
    chain = toolchain_module.prepare()
    with tempfile.TemporaryDirectory(prefix="record-plans-") as directory:
        if "--sandbox-only" not in sys.argv:
            record_small_root(endpoint, chain, Path(directory))
        record_sandbox(endpoint, chain, Path(directory))


if __name__ == "__main__":
    main(sys.argv[1])

"""Test helpers around the emulator and Terraform roots that point at it."""

from __future__ import annotations

import json
from pathlib import Path

from provisioning.terraform import TerraformRunner
from provisioning.toolchain import Toolchain
from provisioning.workspace import MODULE_LIBRARY, render_workspace

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / "terraform_modules" / "modules"
BLUEPRINTS = REPO / "terraform_modules" / "blueprints"
REGION = "eu-west-1"

# Every endpoint key hashicorp/aws 3.39 accepts that our modules use.
ENDPOINT_KEYS = [
    "apigateway",
    "cloudfront",
    "cloudwatch",
    "cloudwatchlogs",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "elasticache",
    "iam",
    "kms",
    "rds",
    "s3",
    "secretsmanager",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
]


def provider_block(endpoint: str, region: str = REGION) -> str:
    """A provider "aws" block sending every call to ``endpoint`` (for ad-hoc test roots)."""
    endpoints = "\n".join(f'    {key} = "{endpoint}"' for key in ENDPOINT_KEYS)
    return f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "3.39.0" }}
  }}
}}
provider "aws" {{
  region                      = "{region}"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_force_path_style         = true
  endpoints {{
{endpoints}
  }}
}}
"""


def write_root(directory: Path, endpoint: str, body: str) -> Path:
    """Write a root module (provider block + ``body``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(provider_block(endpoint) + "\n" + body)
    return directory


def write_tfvars(path: Path, variables: dict) -> Path:
    path.write_text(json.dumps(variables))
    return path


def apply_root(runner: TerraformRunner, var_file: Path | None = None) -> dict:
    """plan + apply ``runner``'s directory; return the outputs."""
    plan = runner.working_dir / "apply.tfplan"
    runner.plan(plan, var_file=var_file)
    runner.apply(plan)
    return runner.outputs()


def runner_for(directory: Path, toolchain: Toolchain) -> TerraformRunner:
    return TerraformRunner(directory, toolchain)


def apply_state_store(endpoint: str, toolchain: Toolchain, directory: Path, name: str) -> dict:
    """Apply the bootstrap root (a state bucket and lock table named after ``name``); its backend_config output."""
    workspace = render_workspace(
        MODULE_LIBRARY / "bootstrap", directory, {"aws_endpoint_url": endpoint, "region": REGION, "name": name}
    )
    runner = TerraformRunner(workspace.root, toolchain)
    runner.init()
    runner.plan(workspace.plan_file, var_file=workspace.var_file)
    runner.apply(workspace.plan_file)
    return runner.outputs()["backend_config"]["value"]

"""The database module planned without AWS: what its instance would be created with."""

from __future__ import annotations

import json
import shutil

from python_terraform import IsFlagged

from provisioning.terraform import TerraformRunner
from provisioning.workspace import MODULE_LIBRARY

# A root calling the module with literal inputs; the provider never reaches AWS for a plan without refresh.
ROOT = """
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_get_ec2_platforms      = true
  max_retries                 = 1
}

variable "security_group_id" {
  type = string
}

module "database" {
  source             = "./modules/database"
  environment        = "alice-sandbox"
  subnet_ids         = ["subnet-0a", "subnet-0b"]
  security_group_ids = [var.security_group_id]
  password           = "0123456789abcdefgh"
}
"""


def test_each_database_instance_leaves_its_final_snapshot_under_a_name_of_its_own(toolchain, tmp_path):
    """An environment re-created under its name gets a new database; at its destroy, its final snapshot must not
    take the name of the earlier one's, which AWS keeps (and refuses a second of)."""
    shutil.copytree(MODULE_LIBRARY / "modules", tmp_path / "modules")
    (tmp_path / "main.tf").write_text(ROOT)
    runner = TerraformRunner(tmp_path, toolchain)
    runner.run("init", input=False, backend=False)

    names = []
    for security_group in ("sg-0123abcd", "sg-0fedcba9"):  # each environment's own, given by AWS
        runner.run("plan", input=False, out="plan.tfplan", refresh=False, var={"security_group_id": security_group})
        plan = json.loads(runner.run("show", "plan.tfplan", json=IsFlagged).stdout)
        instance = next(change for change in plan["resource_changes"] if change["type"] == "aws_db_instance")
        names.append(instance["change"]["after"]["final_snapshot_identifier"])

    assert names == ["spotmusic-alice-sandbox-final-0123abcd", "spotmusic-alice-sandbox-final-0fedcba9"]

"""The AWS variables every root declares (region, aws_endpoint_url, aws_max_retries) are the same in each, and take
what Launchpad and a person at the command line give them, refusing the rest with their own message. No AWS: a root
with only a blueprint's variables."""

from __future__ import annotations

import json
import shutil

import pytest

from provisioning.hcl import labelled, load_directory
from provisioning.terraform import TerraformError, TerraformRunner
from provisioning.workspace import MODULE_LIBRARY

ROOTS = ["blueprints/full", "blueprints/sandbox", "bootstrap"]
AWS_VARIABLES = ("region", "aws_endpoint_url", "aws_max_retries")
# The sandbox's required variables, given so that a plan gets as far as aws_max_retries.
REQUIRED = {"environment": "alice-dev", "db_password": "p" * 16, "app_secret_key": "k" * 32}


def test_every_root_declares_the_same_aws_variables_and_provider():
    parsed = {root: load_directory(MODULE_LIBRARY / root) for root in ROOTS}
    variables = {root: labelled(blocks["variable"]) for root, blocks in parsed.items()}
    for name in AWS_VARIABLES:
        assert (
            variables["blueprints/full"][name] == variables["blueprints/sandbox"][name] == variables["bootstrap"][name]
        )
    assert (
        parsed["blueprints/full"]["provider"]
        == parsed["blueprints/sandbox"]["provider"]
        == parsed["bootstrap"]["provider"]
    )


@pytest.fixture(scope="module")
def root(toolchain, tmp_path_factory):
    directory = tmp_path_factory.mktemp("aws-variables")
    shutil.copyfile(MODULE_LIBRARY / "blueprints" / "sandbox" / "variables.tf", directory / "variables.tf")
    (directory / "outputs.tf").write_text('output "max_retries" {\n  value = var.aws_max_retries\n}\n')
    runner = TerraformRunner(directory, toolchain)
    runner.run("init", input=False, backend=False)
    return runner


def planned_max_retries(root: TerraformRunner, value: str, as_json: bool) -> str:
    """Plan with ``aws_max_retries`` from a tfvars.json file (as Launchpad passes it) or ``-var`` (by hand)."""
    if as_json:
        var_file = root.working_dir / "terraform.tfvars.json"
        var_file.write_text(json.dumps({**REQUIRED, "aws_max_retries": json.loads(value)}))
        options = {"var_file": str(var_file)}
    else:
        options = {"var": {**REQUIRED, "aws_max_retries": value}}
    try:
        return root.run("plan", input=False, **options).stdout
    finally:
        (root.working_dir / "terraform.tfvars.json").unlink(missing_ok=True)


@pytest.mark.parametrize("as_json", [True, False], ids=["tfvars-json", "command-line"])
@pytest.mark.parametrize("value", ["0", "2", "25", "100"])
def test_a_whole_number_of_retries_from_0_to_100_is_taken(root, value, as_json):
    assert f"max_retries = {value}" in planned_max_retries(root, value, as_json)


@pytest.mark.parametrize("as_json", [True, False], ids=["tfvars-json", "command-line"])
@pytest.mark.parametrize("value", ["101", "-1", "1.5"])
def test_other_numbers_of_retries_are_refused_with_the_reason(root, value, as_json):
    with pytest.raises(TerraformError) as refused:
        planned_max_retries(root, value, as_json)

    assert "The AWS max retries must be a whole number from 0 to 100." in refused.value.output

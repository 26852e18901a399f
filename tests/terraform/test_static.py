"""The module library without AWS: formatting, `terraform validate`, and the house rules of every module
(standard files, typed and described variables, described outputs, every taggable resource tagged)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from python_terraform import IsFlagged

from provisioning.hcl import labelled
from provisioning.hcl import load_directory as parse
from provisioning.terraform import TerraformRunner
from provisioning.workspace import MODULE_LIBRARY, render_workspace

MODULES = sorted(p.name for p in (MODULE_LIBRARY / "modules").iterdir() if p.is_dir())
BLUEPRINTS = sorted(p.name for p in (MODULE_LIBRARY / "blueprints").iterdir() if p.is_dir())
COMPONENTS = {
    "network",
    "iam",
    "security_groups",
    "state_backend",
    "secrets",
    "audio_storage",
    "cdn",
    "cache",
    "queues",
    "waf",
    "observability",
    "database",
    "api_gateway",
    "container_registry",
    "ecs",
}
SANDBOX_COMPONENTS = {
    "network",
    "iam",
    "security_groups",
    "secrets",
    "audio_storage",
    "queues",
    "observability",
    "container_registry",
    "ecs",
}


# The composition module: the components every environment has, which each blueprint calls.
COMPOSITION = "environment"


def module_calls(directory: Path) -> set[str]:
    """The component modules a root or module composes: those it calls, and those its composition module calls."""
    calls = parse(directory).get("module", [])
    names = {Path(body["source"]).name for call in calls for body in call.values()}
    if COMPOSITION in names:
        names = (names - {COMPOSITION}) | module_calls(MODULE_LIBRARY / "modules" / COMPOSITION)
    return names


def test_library_has_one_module_per_component_a_composition_module_and_the_two_blueprints():
    assert set(MODULES) == COMPONENTS | {COMPOSITION}
    assert BLUEPRINTS == ["full", "sandbox"]


def test_full_blueprint_composes_every_component_and_sandbox_the_cheap_set():
    assert module_calls(MODULE_LIBRARY / "blueprints" / "full") == COMPONENTS
    assert module_calls(MODULE_LIBRARY / "blueprints" / "sandbox") == SANDBOX_COMPONENTS


def test_every_blueprint_composes_the_components_through_the_composition_module():
    assert module_calls(MODULE_LIBRARY / "modules" / COMPOSITION) == SANDBOX_COMPONENTS
    for blueprint in BLUEPRINTS:
        calls = parse(MODULE_LIBRARY / "blueprints" / blueprint).get("module", [])
        assert COMPOSITION in {name for call in calls for name in call}, f"{blueprint} does not call {COMPOSITION}"


def test_terraform_files_are_formatted(toolchain, tmp_path):
    result = TerraformRunner(MODULE_LIBRARY, toolchain).run(
        "fmt", "-check", "-recursive", "-diff", ".", ok_codes=(0, 3)
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


@pytest.mark.parametrize("module", MODULES)
def test_module_has_the_standard_files(module):
    directory = MODULE_LIBRARY / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{module}/{name} is missing"
    assert not parse(directory).get("provider"), "modules take their provider from the root"


@pytest.mark.parametrize(
    "directory", [f"modules/{m}" for m in MODULES] + [f"blueprints/{b}" for b in BLUEPRINTS] + ["bootstrap"]
)
def test_every_variable_is_typed_and_described_and_every_output_described(directory):
    blocks = parse(MODULE_LIBRARY / directory)
    for variable in blocks.get("variable", []):
        ((name, body),) = variable.items()
        assert "type" in body, f"{directory}: variable {name} has no type"
        assert body.get("description"), f"{directory}: variable {name} has no description"
    for output in blocks.get("output", []):
        ((name, body),) = output.items()
        assert body.get("description"), f"{directory}: output {name} has no description"


@pytest.mark.parametrize("module", MODULES)
def test_name_inputs_are_validated(module):
    variables = {
        name: body for v in parse(MODULE_LIBRARY / "modules" / module).get("variable", []) for name, body in v.items()
    }
    for name in ("environment", "name_prefix"):
        assert variables[name].get("validation"), f"{module}: {name} has no validation"
    assert "tags" in variables


@pytest.fixture(scope="module")
def taggable_resource_types(toolchain, tmp_path_factory) -> set[str]:
    """Resource types whose hashicorp/aws 3.39 schema has a `tags` argument."""
    workdir = tmp_path_factory.mktemp("schema")
    (workdir / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "3.39.0" }\n  }\n}\n'
    )
    runner = TerraformRunner(workdir, toolchain)
    runner.init()
    schema = json.loads(runner.run("providers schema", json=IsFlagged, no_color=None).stdout)
    resources = schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    return {name for name, body in resources.items() if "tags" in body["block"].get("attributes", {})}


@pytest.mark.parametrize("module", MODULES)
def test_every_taggable_resource_is_tagged(module, taggable_resource_types):
    for resource in parse(MODULE_LIBRARY / "modules" / module).get("resource", []):
        for resource_type, instances in resource.items():
            for name, body in instances.items():
                if resource_type in taggable_resource_types:
                    assert "tags" in body, f"{module}: {resource_type}.{name} is not tagged"


@pytest.mark.parametrize("module", MODULES)
def test_module_validates(module, toolchain, tmp_path):
    # The whole folder: the composition module calls its siblings (../network, ...).
    shutil.copytree(MODULE_LIBRARY / "modules", tmp_path / "modules")
    runner = TerraformRunner(tmp_path / "modules" / module, toolchain)
    runner.run("init", input=False, backend=False)
    runner.run("validate")


@pytest.mark.parametrize("root", BLUEPRINTS + ["bootstrap"])
def test_root_composition_validates(root, toolchain, tmp_path):
    source = MODULE_LIBRARY / ("bootstrap" if root == "bootstrap" else f"blueprints/{root}")
    workspace = render_workspace(source, tmp_path / "ws", {})
    runner = TerraformRunner(workspace.root, toolchain)
    runner.run("init", input=False, backend=False)
    runner.run("validate")


@pytest.mark.parametrize("block", ["variable", "output"])
def test_what_both_blueprints_declare_they_declare_alike(block):
    # Terraform roots cannot share declarations (no more symlinks): the inputs and outputs the two blueprints have
    # in common are written in each, and must not drift apart (type, description, default, value).
    full, sandbox = (labelled(parse(MODULE_LIBRARY / "blueprints" / name).get(block, [])) for name in BLUEPRINTS)
    # A sandbox is short-lived: its data goes with it by default. Every other common declaration is the same.
    common = full.keys() & sandbox.keys() - {"force_destroy_data", "secret_recovery_window_days"}
    assert len(common) >= 10, common
    assert {name: full[name] for name in common} == {name: sandbox[name] for name in common}

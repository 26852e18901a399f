"""Check a blueprint's variable values against its `validation` rules by letting Terraform evaluate them.

A blueprint's values meet rules in two places: the ``validation`` blocks of its own variables, and those of the
module variables it passes them to (``web_api_desired_count = var.web_api_desired_count``), down every module
call. Rather than imitate Terraform's expression language, Launchpad hands the rules to Terraform itself, on a
*rules configuration*: no resource, no provider, no backend, only the variable blocks that carry or pass on a
rule, copied byte for byte, wired as in the blueprint:

    <rules>/variables.tf                 the blueprint's variables (their rules cut out): the defaulted ones
                                         and the required ones given a value
    <rules>/rules.tf                     module "blueprint" (the blueprint's own rules) and each module call,
                                         with the arguments that pass a variable on as it is
    <rules>/blueprint/variables.tf       the blueprint's variables that have rules, as written
    <rules>/modules/<call path>/*.tf     a called module's variables that have or pass on rules, as written,
                                         and its own calls that pass them on

Every rule thus sits on a module variable, so one ``terraform plan`` evaluates them all at once (Terraform stops
at the first failing *root* variable rules, before the modules') and reports each broken rule as a diagnostic
whose range is the argument that passed the value: that is how a message finds its variable. A rule inside a
module is reached when no rule of the module passing the value on refuses it first, as in a run. The
configuration holds no value: it is made once per library text (and per set of required variables given: in
practice one per blueprint) under the cache directory, and ``terraform init`` (local modules only: no plugin,
no network) runs once on it. A check then is one plan, a few tenths of a second (docs/benchmarks.md).

Values never rest on disk longer than the check: non-sensitive ones go in a tfvars JSON file, the way a run
passes them (so Terraform converts them to their types exactly as it will in the run), in a private (0700)
temporary directory, the file 0600, both removed at once; sensitive ones go as ``TF_VAR_*`` in Terraform's
environment, as a run passes secrets, and are never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from provisioning.hcl import SourceBlock, labelled, load_directory, source_blocks
from provisioning.terraform import json_lines, rule_message
from provisioning.toolchain import ToolchainError, default_home, find_terraform
from provisioning.workspace import blueprint_dir, make_private_dirs, write_private

RULES_FILE = "rules.tf"
ARGUMENTS_FILE = "arguments.json"
VALUES_FILE = "values.tfvars.json"
_GIVEN_FOR_VARIABLE = re.compile(r'variable "(?P<name>[A-Za-z0-9_-]+)"')
_PASSED_ON = re.compile(r"^\$\{var\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)\}$")
# Far more than a check takes (well under a second): only a Terraform that hangs reaches it.
TIMEOUT_SECONDS = 60


class VariableRulesError(RuntimeError):
    """Terraform could not check the rules (not: a value broke one); the message says what it printed."""


@dataclass(frozen=True)
class BrokenRule:
    """A value that breaks a rule: the blueprint variable given it, and the rule's own error message."""

    variable: str
    message: str


@dataclass(frozen=True)
class VariableRule:
    """One ``validation`` block a blueprint variable's value meets: where it is written, and what it says."""

    variable: str
    module: str  # "" for the blueprint's own variables, else the module call path ("environment.ecs")
    module_variable: str
    condition: str
    error_message: str


@dataclass(frozen=True)
class _Module:
    """A module call a value reaches: the module's directory, the call path, and for each argument that passes a
    value on as it is, the caller's variable passed (``passes``) and the blueprint variable it holds (``fed``)."""

    directory: Path
    path: str
    passes: dict[str, str]
    fed: dict[str, str]

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.tf")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=64)
def _loaded(directory: Path, digest: str) -> dict[str, list[dict]]:
    return load_directory(directory)


@lru_cache(maxsize=64)
def _written(directory: Path, digest: str, block_type: str) -> dict[str, SourceBlock]:
    return source_blocks(directory, block_type)


def _blocks(directory: Path, block_type: str) -> dict[str, dict]:
    """``directory``'s ``block_type`` blocks by label, parsed once for each text of its files (parsing is slow)."""
    return labelled(_loaded(directory, _digest(directory)).get(block_type, []))


def _sources(directory: Path, block_type: str) -> dict[str, SourceBlock]:
    """``directory``'s ``block_type`` blocks by label as written, read once for each text of its files."""
    return _written(directory, _digest(directory), block_type)


def _local_calls(directory: Path) -> dict[str, dict]:
    """The module calls of ``directory`` whose source is a local path: {call name: arguments}."""
    calls = _blocks(directory, "module")
    return {name: body for name, body in calls.items() if str(body.get("source", "")).startswith(("./", "../"))}


def _reached_modules(blueprint: Path, names: Iterable[str]) -> list[_Module]:
    """Every module call (at every depth) a variable of ``names`` is passed to as it is, callers first."""
    found: list[_Module] = []

    def visit(directory: Path, path: str, given: dict[str, str]) -> None:
        for call, arguments in _local_calls(directory).items():
            passes = {}
            for argument, expression in arguments.items():
                match = _PASSED_ON.match(str(expression))
                if match and match["name"] in given:
                    passes[argument] = match["name"]
            if passes:
                child = (directory / arguments["source"]).resolve()
                fed = {argument: given[variable] for argument, variable in passes.items()}
                module = _Module(child, f"{path}.{call}" if path else call, passes, fed)
                found.append(module)
                visit(child, module.path, fed)

    visit(blueprint, "", {name: name for name in names})
    return found


def _rules_of(body: dict) -> list[dict]:
    return [rule for rule in body.get("validation", []) if isinstance(rule, dict)]


def blueprint_rules(blueprint: str | Path) -> list[VariableRule]:
    """Every validation rule a value given to ``blueprint``'s variables meets, in the blueprint or a module."""
    directory = blueprint if isinstance(blueprint, Path) else blueprint_dir(blueprint)
    declared = _blocks(directory, "variable")
    rules = [
        VariableRule(name, "", name, str(rule["condition"]), str(rule["error_message"]))
        for name, body in declared.items()
        for rule in _rules_of(body)
    ]
    for module in _reached_modules(directory, declared):
        variables = _blocks(module.directory, "variable")
        for module_variable, variable in module.fed.items():
            for rule in _rules_of(variables.get(module_variable, {})):
                rules.append(
                    VariableRule(
                        variable, module.path, module_variable, str(rule["condition"]), str(rule["error_message"])
                    )
                )
    return rules


@dataclass(frozen=True)
class RulesConfiguration:
    """A rendered rules configuration: its files, and which blueprint variable each argument line passes on."""

    files: dict[str, str]
    # {(file, line): blueprint variable} for each argument line of a module call.
    arguments: dict[tuple[str, int], str]


_OWN_RULES = "blueprint"  # the call holding the blueprint's own rules


def _module_dir(path: str) -> str:
    return f"modules/{path}"


def _calls_text(calls: list[tuple[str, str, dict[str, str], dict[str, str]]], file: str, arguments: dict) -> str:
    """Module blocks, each (name, source, {argument: variable passed}, {argument: blueprint variable}); the line
    of each argument is noted in ``arguments``."""
    lines: list[str] = []
    for name, source, passes, fed in calls:
        lines += [f'module "{name}" {{', f"  source = {json.dumps(source)}"]
        for argument in sorted(passes):
            arguments[(file, len(lines) + 1)] = fed[argument]
            lines.append(f"  {argument} = var.{passes[argument]}")
        lines += ["}", ""]
    return "\n".join(lines)


def render_rules_configuration(blueprint: Path, names: Iterable[str]) -> RulesConfiguration:
    """The rules configuration of ``blueprint`` for its variables given a value, ``names``, and those defaulted.

    A required variable not given (a secret made later) is left out with the rules it would feed, rather than
    refused for its missing value.
    """
    blocks = _sources(blueprint, "variable")
    declared = _blocks(blueprint, "variable")
    given = set(names)
    checked = [name for name, body in declared.items() if name in given or "default" in body]
    ruled = [name for name in checked if _rules_of(declared[name])]
    modules = _reached_modules(blueprint, checked)
    files = {
        "variables.tf": "\n\n".join(blocks[name].without("validation") for name in checked) + "\n",
        f"{_OWN_RULES}/variables.tf": "\n\n".join(blocks[name].text for name in ruled) + "\n",
    }
    arguments: dict[tuple[str, int], str] = {}
    own = [(_OWN_RULES, f"./{_OWN_RULES}", {name: name for name in ruled}, {name: name for name in ruled})]
    for parent in ["", *(module.path for module in modules)]:
        calls = [
            (
                module.name,
                f"./{_module_dir(module.path)}" if not parent else f"../{module.path}",
                module.passes,
                module.fed,
            )
            for module in modules
            if module.parent == parent
        ]
        file = RULES_FILE if not parent else f"{_module_dir(parent)}/calls.tf"
        if calls or not parent:
            files[file] = _calls_text((own if ruled and not parent else []) + calls, file, arguments)
    for module in modules:
        module_blocks = _sources(module.directory, "variable")
        files[f"{_module_dir(module.path)}/variables.tf"] = (
            "\n\n".join(module_blocks[name].text for name in sorted(module.fed)) + "\n"
        )
    return RulesConfiguration(files=files, arguments=arguments)


def _terraform_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Terraform's environment for a check: nothing of this process's own (no TF_VAR_ of another run), no CLI
    configuration, no network call."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR") if key in os.environ}
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0", TF_CLI_CONFIG_FILE=os.devnull)
    env.update(extra or {})
    return env


def _terraform(terraform: Path, directory: Path, *args: str, env: Mapping[str, str] | None = None):
    try:
        return subprocess.run(
            [str(terraform), *args],
            cwd=directory,
            env=_terraform_environment(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise VariableRulesError(
            f"terraform {args[0]} took more than {TIMEOUT_SECONDS} s to check the rules."
        ) from error


def _library_digest(blueprint: Path) -> str:
    """A digest of the Terraform text a rules configuration of ``blueprint`` is made from: the blueprint's and
    every module's (a changed rule anywhere makes a new configuration)."""
    library = blueprint.parent.parent
    digest = hashlib.sha256()
    for path in sorted([*blueprint.glob("*.tf"), *(library / "modules").glob("*/*.tf")]):
        digest.update(str(path.relative_to(library)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepared_configuration(
    blueprint: Path, names: frozenset[str], cache_dir: Path, terraform: Path
) -> tuple[Path, dict[tuple[str, int], str]]:
    """The initialised rules configuration of ``blueprint`` for its required variables ``names`` (and every
    defaulted one) under ``cache_dir``, and its argument lines ({(file, line): blueprint variable}).

    Made the first time it is asked for, in any process (another may make it at the same moment: the first to
    finish is kept), and found again from the library's text and ``names``.
    """
    key = hashlib.sha256("\0".join([_library_digest(blueprint), *sorted(names)]).encode()).hexdigest()[:24]
    directory = cache_dir / f"{blueprint.name}-{key}"
    if (directory / ARGUMENTS_FILE).is_file():  # written last, before the directory got its name
        found = json.loads((directory / ARGUMENTS_FILE).read_text())
        return directory, {(file, line): variable for file, line, variable in found}
    configuration = render_rules_configuration(blueprint, names)
    make_private_dirs(cache_dir)
    building = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=cache_dir))
    try:
        for name, text in configuration.files.items():
            make_private_dirs((building / name).parent)
            write_private(building / name, text)
        result = _terraform(terraform, building, "init", "-backend=false", "-input=false", "-no-color")
        if result.returncode != 0:
            raise VariableRulesError(
                f"terraform init of the rules configuration failed: {result.stdout}{result.stderr}"
            )
        arguments = [[file, line, variable] for (file, line), variable in sorted(configuration.arguments.items())]
        write_private(building / ARGUMENTS_FILE, json.dumps(arguments))
        try:
            building.rename(directory)
        except OSError:
            if not (directory / ARGUMENTS_FILE).is_file():  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return directory, configuration.arguments


def broken_rules(output: str, arguments: Mapping[tuple[str, int], str]) -> list[BrokenRule]:
    """The rules ``plan -json`` reports broken, each by the blueprint variable that was given the value.

    Raises :class:`VariableRulesError` for an error that is about no variable (Terraform itself failing).
    """
    found: list[BrokenRule] = []
    for _line, event in json_lines(output):
        diagnostic = (event or {}).get("diagnostic") or {}
        if diagnostic.get("severity") != "error":
            continue
        place = diagnostic.get("range") or {}
        variable = arguments.get((place.get("filename"), (place.get("start") or {}).get("line")))
        detail = str(diagnostic.get("detail", ""))
        if variable is None:
            # A value Terraform cannot convert to its variable's type is reported on the values file.
            named = _GIVEN_FOR_VARIABLE.search(detail)
            if place.get("filename", "").endswith(VALUES_FILE) and named:
                variable = named["name"]
        if variable is None:
            raise VariableRulesError(f"{diagnostic.get('summary', 'Terraform failed')}: {detail}".strip())
        rule = BrokenRule(variable, rule_message(detail))
        if rule not in found:
            found.append(rule)
    return found


def check_rules(
    blueprint: str | Path,
    values: Mapping[str, object],
    sensitive: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> list[BrokenRule]:
    """The validation rules ``values`` break, as Terraform judges them; an empty list when they break none.

    ``values`` are the blueprint variables' values (decoded JSON) as a run gives them in its tfvars file;
    ``sensitive`` the secret ones, passed as a run passes secrets (``TF_VAR_*``), never written. A variable given
    neither, and without a default, is left out with the rules it feeds. ``cache_dir`` (default: under
    ``LAUNCHPAD_HOME``) keeps the rules configurations.
    """
    try:
        return _check_rules(blueprint, values, dict(sensitive or {}), cache_dir)
    except (ToolchainError, OSError) as error:
        # No Terraform to run, one that cannot be started, a cache or temporary directory that cannot be written:
        # the rules could not be checked, like Terraform failing (the caller answers "try again", not a crash).
        raise VariableRulesError(f"Terraform could not be run to check the rules: {error}") from error


def _check_rules(
    blueprint: str | Path, values: Mapping[str, object], sensitive: dict[str, str], cache_dir: Path | None
) -> list[BrokenRule]:
    directory = blueprint if isinstance(blueprint, Path) else blueprint_dir(blueprint)
    given = {name: value for name, value in values.items() if name not in sensitive}
    terraform = find_terraform()
    # The configuration depends only on which required variables are given (every defaulted one is in it): the
    # same one or two serve every check, whatever the user sets.
    declared = _blocks(directory, "variable")
    required = frozenset(name for name in [*given, *sensitive] if "default" not in declared.get(name, {"default": 0}))
    root, arguments = prepared_configuration(
        directory, required, cache_dir or default_home() / "variable-rules", terraform
    )
    private = Path(tempfile.mkdtemp(prefix="variable-rules-"))  # 0700
    try:
        values_file = private / VALUES_FILE
        write_private(values_file, json.dumps(given))
        result = _terraform(
            terraform,
            root,
            "plan",
            "-json",
            "-input=false",
            "-lock=false",
            "-refresh=false",
            f"-var-file={values_file}",
            env={f"TF_VAR_{name}": value for name, value in sensitive.items()},
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
    broken = broken_rules(result.stdout, arguments)
    if result.returncode != 0 and not broken:
        raise VariableRulesError(f"terraform plan could not check the rules: {(result.stdout + result.stderr)[-2000:]}")
    return broken

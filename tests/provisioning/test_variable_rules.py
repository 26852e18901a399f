"""Every validation rule of both blueprints, walked with a good and a bad value: Launchpad's check refuses exactly
what Terraform refuses, with the rule's own message, before anything is saved."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provisioning.terraform import TerraformError, TerraformRunner, json_lines
from provisioning.variable_rules import (
    BrokenRule,
    VariableRule,
    VariableRulesError,
    blueprint_rules,
    broken_rules,
    check_rules,
)
from provisioning.workspace import render_workspace, write_private

BLUEPRINTS = ("sandbox", "full")
SENSITIVE = ("db_password", "app_secret_key")

# (variable, the rule's error message) -> (a value every rule of the variable accepts, a value this rule refuses).
# A rule added to a blueprint or to a module a blueprint passes a value to has no case here until one is written:
# test_every_rule_has_a_good_and_a_bad_case fails meanwhile.
CASES: dict[tuple[str, str], tuple[object, object]] = {
    ("region", "The region must be an AWS region name such as eu-west-1."): ("eu-west-1", "Europe"),
    # Good values that also make a real plan's provider give up at once (nothing listens on port 9).
    ("aws_endpoint_url", "The AWS endpoint must be empty (real AWS) or an http(s) URL."): (
        "http://127.0.0.1:9",
        "ftp://emulator",
    ),
    ("aws_max_retries", "The AWS max retries must be a whole number from 0 to 100."): (0, 101),
    (
        "environment",
        "The environment must be 3-20 characters: lowercase letters, digits and hyphens, starting with a letter.",
    ): ("alice-sandbox", "Alice"),
    (
        "name_prefix",
        "The name prefix must be 2-16 characters: lowercase letters, digits and hyphens, starting with a letter.",
    ): ("spotmusic", "x"),
    (
        "name_prefix",
        "The name_prefix must be 2-16 characters: lowercase letters, digits and hyphens, starting with a letter.",
    ): ("spotmusic", "Spot_Music"),
    ("tier", "The tier must be dev, staging or prod."): ("dev", "qa"),
    ("vpc_cidr", "The VPC CIDR must be a valid IPv4 CIDR block with a prefix from /16 to /24."): (
        "10.42.0.0/16",
        "10.42.0.0/8",
    ),
    (
        "vpc_cidr",
        "The vpc_cidr must be an IPv4 CIDR block in network form (host bits zero) with a prefix from /16 to /24, "
        "e.g. 10.20.0.0/16.",
    ): ("10.42.0.0/16", "10.42.0.1/16"),
    (
        "db_password",
        "The database password must be at least 16 characters and contain no '/', '@', '\"' or space.",
    ): ("a-good-password-of-30-chars-xx", "a-password-with/a-slash"),
    ("db_password", "The db_password must be at least 16 characters long."): ("a-good-password-of-30", "short"),
    (
        "db_password",
        'The password must be 16-41 printable ASCII characters and must not contain /, @, " or spaces.',
    ): ("a-good-password-of-30", "a-password-longer-than-forty-one-characters"),
    ("app_secret_key", "The application secret key must be at least 32 characters."): ("k" * 40, "short"),
    ("secret_recovery_window_days", "The secret recovery window must be 0 or from 7 to 30 days."): (7, 3),
    (
        "secret_recovery_window_days",
        "The recovery_window_in_days must be 0 (delete at once) or a whole number from 7 to 30.",
    ): (0, 7.5),
    (
        "image_tag",
        "The image tag must be 1-128 characters: letters, digits, '_', '.' and '-', not starting with '.' or '-'.",
    ): ("v1.2.3", ".hidden"),
    ("web_api_desired_count", "The web-api task count must be a whole number from 0 to 100."): (2, -1),
    ("web_api_desired_count", "The web_api_desired_count must be a whole number from 0 to 100."): (0, 1.5),
    ("workers_desired_count", "The workers task count must be a whole number from 0 to 100."): (1, 101),
    ("workers_desired_count", "The workers_desired_count must be a whole number from 0 to 100."): (100, 2.5),
    ("container_port", "The container port must be from 1024 to 65535."): (8080, 80),
    ("container_port", "The app_port must be a whole number from 1 to 65535."): (8080, 99999),
    ("container_port", "The container_port must be a whole number from 1 to 65535."): (65535, 8080.5),
    ("log_level", "The log level must be debug, info, warning or error."): ("warning", "verbose-nonsense"),
    (
        "log_retention_days",
        "The log retention must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
        "545, 731, 1827 or 3653 days.",
    ): (30, 8),
    (
        "log_retention_days",
        "The log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
        "365, 400, 545, 731, 1827, 3653.",
    ): (3653, 0),
    (
        "db_name",
        "The database name must start with a letter and hold only letters, digits and underscores (at most 64).",
    ): ("spotmusic", "1db"),
    ("db_name", "The db_name must be 1-64 letters, digits or underscores, starting with a letter."): (
        "Spot_Music",
        "spot-music",
    ),
    (
        "db_username",
        "The database user name must start with a letter and hold only letters, digits and underscores (at most 16).",
    ): ("spotmusic", "1user"),
    (
        "db_username",
        "The username must be 1-32 letters, digits or underscores, start with a letter, and not be a reserved name "
        "(rdsadmin, rdsrepladmin, root, mysql).",
    ): ("app_user", "root"),
    ("db_instance_class", "The database instance class must look like db.t3.micro."): ("db.t3.micro", "t3.micro"),
    ("db_instance_class", "The instance_class must be an RDS instance class such as db.t3.micro."): (
        "db.r6g.large",
        "db.t3",
    ),
    ("db_allocated_storage", "The database storage must be from 20 to 65536 GiB."): (20, 10),
    ("db_allocated_storage", "The allocated_storage must be a whole number of GiB from 20 to 65536."): (100, 20.5),
    ("cache_node_type", "The cache node type must look like cache.t3.micro."): ("cache.t3.micro", "t3.micro"),
    ("cache_node_type", "The node_type must be an ElastiCache node type such as cache.t3.micro."): (
        "cache.m5.large",
        "cache.t3",
    ),
    ("cache_nodes", "The number of cache nodes must be a whole number from 1 to 6."): (2, 7),
    ("cdn_price_class", "The CDN price class must be PriceClass_100, PriceClass_200 or PriceClass_All."): (
        "PriceClass_200",
        "PriceClass_1",
    ),
    ("cdn_price_class", "The price_class must be one of PriceClass_100, PriceClass_200, PriceClass_All."): (
        "PriceClass_All",
        "priceclass_all",
    ),
    ("api_backend_url", "The API backend URL must be empty or an http(s) URL."): ("", "ftp://web-api"),
    (
        "api_backend_url",
        'The backend_url must be "" or an http(s) URL without query or fragment, e.g. https://web-api.dev.example.com.',
    ): ("https://web-api.dev.example.com/v1", "https://web-api.dev.example.com/?debug=1"),
    ("waf_rate_limit", "The WAF rate limit must be from 100 to 2000000000 requests per 5 minutes."): (2000, 10),
    ("waf_rate_limit", "The rate_limit must be a whole number from 100 to 2000000000."): (100, 150.5),
}


@pytest.fixture(scope="module")
def rules_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("variable-rules")


def _split(values: dict) -> tuple[dict, dict]:
    """Values as a run gives them: secrets apart (``TF_VAR_*``), the rest in the tfvars file."""
    return (
        {name: value for name, value in values.items() if name not in SENSITIVE},
        {name: value for name, value in values.items() if name in SENSITIVE},
    )


def good_values(blueprint: str) -> dict:
    """A value for every variable a rule reaches, each accepted by every rule of the variable."""
    values = {rule.variable: CASES[(rule.variable, rule.error_message)][0] for rule in blueprint_rules(blueprint)}
    return {
        **values,
        "environment": "alice-sandbox",
        "db_password": "a-good-password-of-30",
        "vpc_cidr": "10.42.0.0/16",
    }


def bad_rounds(blueprint: str, only: set[str] | None = None) -> list[dict[str, object]]:
    """Bad values in rounds, one per variable a round: every case of the blueprint's rules is in one round."""
    cases: dict[str, list] = {}
    for rule in blueprint_rules(blueprint):
        bad = CASES[(rule.variable, rule.error_message)][1]
        if (only is None or rule.variable in only) and bad not in cases.setdefault(rule.variable, []):
            cases[rule.variable].append(bad)
    return [
        {variable: bads[index] for variable, bads in cases.items() if index < len(bads)}
        for index in range(max(map(len, cases.values())))
    ]


def test_every_rule_has_a_good_and_a_bad_case():
    missing = [
        f"{blueprint}: {rule.variable} ({rule.module or 'the blueprint'}): {rule.error_message}"
        for blueprint in BLUEPRINTS
        for rule in blueprint_rules(blueprint)
        if (rule.variable, rule.error_message) not in CASES
    ]
    assert not missing, "rules without a good and a bad value in CASES:\n" + "\n".join(missing)


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_values_every_rule_accepts_are_refused_by_none(blueprint, rules_cache):
    values, secrets = _split(good_values(blueprint))
    assert check_rules(blueprint, values, secrets, cache_dir=rules_cache) == []


def refusals(blueprint: str, rule: VariableRule) -> set[str]:
    """The messages a bad value of ``rule`` may be refused with: its own, or that of a rule on the same value in a
    module that passes it on to the rule's module (Terraform stops there, as it does in a run)."""
    return {
        other.error_message
        for other in blueprint_rules(blueprint)
        if other.variable == rule.variable
        and (other == rule or (other.module and rule.module.startswith(f"{other.module}.")))
    }


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_each_rule_refuses_its_bad_value_with_its_own_message_naming_the_variable(blueprint, rules_cache):
    checked = []
    for bad in bad_rounds(blueprint):
        values, secrets = _split({**good_values(blueprint), **bad})
        broken = check_rules(blueprint, values, secrets, cache_dir=rules_cache)
        assert {rule.variable for rule in broken} == set(bad)  # a good value is never blamed
        for rule in blueprint_rules(blueprint):
            if rule.variable in bad and CASES[(rule.variable, rule.error_message)][1] == bad[rule.variable]:
                messages = {found.message for found in broken if found.variable == rule.variable}
                assert messages & refusals(blueprint, rule), (rule, messages)
                checked.append(rule)
    assert len(checked) == len(blueprint_rules(blueprint))


def test_the_reported_case_gets_one_message_per_variable_and_no_file_position(rules_cache):
    broken = check_rules(
        "sandbox",
        {
            "environment": "alice-sandbox",
            "web_api_desired_count": -1,
            "container_port": 99999,
            "log_level": "verbose-nonsense",
            "log_retention_days": 8,
        },
        cache_dir=rules_cache,
    )
    by_variable: dict[str, list[str]] = {}
    for rule in broken:
        by_variable.setdefault(rule.variable, []).append(rule.message)
    assert by_variable["web_api_desired_count"][0] == "The web-api task count must be a whole number from 0 to 100."
    assert by_variable["log_level"] == ["The log level must be debug, info, warning or error."]
    assert set(by_variable) == {"web_api_desired_count", "container_port", "log_level", "log_retention_days"}
    assert not any(".tf" in rule.message or "validation rule at" in rule.message for rule in broken)


def test_a_required_variable_nobody_gave_is_left_out_with_its_rules(rules_cache):
    # The portal checks a definition before its secrets exist: they are generated afterwards.
    assert check_rules("full", {"environment": "alice-sandbox"}, cache_dir=rules_cache) == []


def test_a_value_terraform_cannot_convert_is_refused_naming_its_variable(rules_cache):
    broken = check_rules(
        "sandbox", {"environment": "alice-sandbox", "tags": {"team": ["audio"]}}, cache_dir=rules_cache
    )
    assert [rule.variable for rule in broken] == ["tags"]


def test_no_value_stays_on_disk_and_secrets_are_never_written(rules_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    secret = "short-secret-value"
    broken = check_rules(
        "sandbox",
        {"environment": "alice-sandbox", "image_tag": "tag-seen-once"},
        {"app_secret_key": secret},
        cache_dir=rules_cache,
    )
    assert broken == [BrokenRule("app_secret_key", "The application secret key must be at least 32 characters.")]
    assert list(tmp_path.iterdir()) == []  # the private directory of the values is gone
    for path in rules_cache.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"tag-seen-once" not in text and secret.encode() not in text


def test_an_error_about_no_variable_is_terraform_failing_not_a_refusal():
    output = json.dumps(
        {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "Failed to load plugin", "detail": "x"}}
    )
    with pytest.raises(VariableRulesError, match="Failed to load plugin"):
        broken_rules(output, {})


# --- the same verdicts as Terraform planning the blueprint itself ----------------------------------------------


def _real_plan_messages(blueprint: str, values: dict, toolchain, directory: Path) -> set[str]:
    """The rule messages of ``terraform plan`` on the blueprint itself (its modules, its provider)."""
    plain, secrets = _split(values)
    workspace = render_workspace(blueprint, directory, plain)
    # The state's place does not matter to variable rules: a local backend, no state store needed.
    write_private(workspace.root / "backend_override.tf", 'terraform {\n  backend "local" {}\n}\n')
    env = {**os.environ, **{f"TF_VAR_{name}": value for name, value in secrets.items()}}
    runner = TerraformRunner(workspace.root, toolchain, env=env)
    runner.init()
    try:
        output = runner.run(
            "plan", input=False, json=True, lock="false", refresh="false", var_file=str(workspace.var_file)
        ).output
    except TerraformError as error:
        output = error.output
    found = set()
    for _line, event in json_lines(output):
        diagnostic = (event or {}).get("diagnostic") or {}
        if diagnostic.get("summary") == "Invalid value for variable":
            found.add(diagnostic["detail"].split("\n\nThis was checked by")[0])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_launchpad_refuses_exactly_what_terraform_planning_the_blueprint_refuses(
    blueprint, toolchain, rules_cache, tmp_path
):
    # Terraform stops at the blueprint's own rules before it reaches the modules': the variables with a rule of
    # the blueprint's own go in rounds of their own, compared on those rules.
    own = {rule.variable for rule in blueprint_rules(blueprint) if not rule.module}
    passed_on = {rule.variable for rule in blueprint_rules(blueprint)} - own
    own_messages = {rule.error_message for rule in blueprint_rules(blueprint) if not rule.module}
    rounds = [(bad, True) for bad in bad_rounds(blueprint, own)] + [
        (bad, False) for bad in bad_rounds(blueprint, passed_on)
    ]
    for index, (bad, stops_at_own) in enumerate([({}, False), *rounds]):
        values = {**good_values(blueprint), **bad}
        terraform = _real_plan_messages(blueprint, values, toolchain, tmp_path / str(index))
        plain, secrets = _split(values)
        launchpad = {rule.message for rule in check_rules(blueprint, plain, secrets, cache_dir=rules_cache)}
        if stops_at_own:
            launchpad &= own_messages
        assert launchpad == terraform, bad

"""Blueprint variables read from the blueprints' own .tf files, and values checked against their types."""

from __future__ import annotations

import re
import shutil

import pytest

from provisioning.blueprints import VariableValueError, check_value, list_blueprints, read_blueprint
from provisioning.workspace import BLUEPRINTS_DIR


def test_both_blueprints_are_listed():
    assert list_blueprints() == ["full", "sandbox"]


def test_variables_carry_type_default_description_and_sensitivity():
    full = read_blueprint("full")
    cidr = full.variable("vpc_cidr")
    assert (cidr.type, cidr.default, cidr.required) == ("string", "10.20.0.0/16", False)
    assert "CIDR" in cidr.description
    password = full.variable("db_password")
    assert password.sensitive and password.required and password.managed
    assert full.description.startswith("A complete Spotmusic environment")


def test_users_set_neither_launchpad_managed_nor_sensitive_variables():
    names = {v.name for v in read_blueprint("sandbox").user_variables}
    assert "vpc_cidr" in names and "image_tag" in names
    assert not names & {"environment", "tier", "region", "aws_endpoint_url", "db_password", "app_secret_key"}


def test_a_new_blueprint_variable_appears_without_code_changes(tmp_path):
    copy = tmp_path / "sandbox"
    shutil.copytree(BLUEPRINTS_DIR / "sandbox", copy, symlinks=False)
    (copy / "extra.tf").write_text(
        'variable "audio_retention_days" {\n  type        = number\n  description = "Days to keep audio."\n'
        "  default     = 365\n}\n"
    )
    spec = read_blueprint(copy)
    assert spec.variable("audio_retention_days").default == 365


@pytest.mark.parametrize(
    ("type_expr", "value"),
    [
        ("string", "a"),
        ("number", 3),
        ("number", 2.5),
        ("bool", False),
        ("list(string)", ["a"]),
        ("map(string)", {"a": "b"}),
        ("map(list(number))", {"a": [1, 2]}),
        ("any", None),
    ],
)
def test_values_of_the_right_type_pass(type_expr, value):
    check_value(type_expr, value)


@pytest.mark.parametrize(
    ("type_expr", "value", "message"),
    [
        ("string", 3, "must be a string"),
        ("number", True, "must be a number"),
        ("number", "3", "must be a number"),
        ("bool", "true", "true or false"),
        ("list(string)", "a", "list of string"),
        ("map(string)", {"a": 1}, "value.a must be a string"),
        ("map(list(number))", {"a": ["x"]}, r"value.a\[0\]"),
    ],
)
def test_values_of_the_wrong_type_are_refused_with_the_path(type_expr, value, message):
    with pytest.raises(VariableValueError, match=message):
        check_value(type_expr, value)


@pytest.mark.parametrize("name", list_blueprints())
def test_a_blueprints_description_says_what_it_is_not_where_its_files_are(name):
    description = read_blueprint(name).description

    assert description.startswith("A ") and description.endswith(".")
    assert not re.search(r"\.tf\b|modules/|blueprints/", description), description

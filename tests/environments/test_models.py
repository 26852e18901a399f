"""Environment definitions: validation before anything is written, and generated secrets kept encrypted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from portal.environments.models import Environment
from tests.factories import blueprint, make_environment, make_user

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_generated_secrets_are_stored_encrypted_and_reach_terraform_only_as_tf_var():
    environment = make_environment()
    secrets = environment.secrets()
    assert set(secrets) == {"db_password", "app_secret_key"}
    assert all(value not in environment.encrypted_secrets for value in secrets.values())
    assert environment.secret_environment()["TF_VAR_db_password"] == secrets["db_password"]
    assert "db_password" not in environment.terraform_variables()


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.0.0.0/25", "10.0.0.1/16", "not-a-cidr"])
def test_a_bad_vpc_cidr_is_refused_and_nothing_is_written(cidr):
    with pytest.raises(ValidationError) as error:
        make_environment(vpc_cidr=cidr)
    assert "vpc_cidr" in error.value.message_dict
    assert not Environment.objects.exists()


def test_an_overlapping_cidr_in_the_same_region_is_refused():
    make_environment(name="first", vpc_cidr="10.50.0.0/16")
    with pytest.raises(ValidationError, match="overlaps first"):
        make_environment(name="second", vpc_cidr="10.50.128.0/20")


def test_variables_are_checked_against_the_blueprint():
    with pytest.raises(ValidationError) as error:
        make_environment(web_api_desired_count="two", db_password="mine-mine-mine-mine", no_such_thing=1)
    messages = " ".join(error.value.message_dict["variables"])
    assert "web_api_desired_count must be a number" in messages
    assert "db_password: set by Launchpad" in messages
    assert "no_such_thing: the sandbox blueprint has no such variable" in messages


@pytest.mark.parametrize("name", ["ab", "Upper", "1abc", "a" * 21, "has_underscore", "semi;colon"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValidationError, match="lowercase letters"):
        make_environment(name=name)


def test_names_are_unique():
    make_environment(name="taken")
    with pytest.raises(ValidationError, match="already exists"):
        make_environment(name="taken", owner=make_user())
    assert blueprint().environments.count() == 1


def test_a_name_with_a_trailing_newline_is_refused():
    with pytest.raises(ValidationError, match="lowercase letters"):
        make_environment(name="abc\n")


@pytest.mark.django_db
@pytest.mark.parametrize("blueprint_name", ["sandbox", "full"])
def test_generated_secrets_keep_to_the_rules_of_the_modules_they_are_passed_to(blueprint_name):
    """The database password goes to RDS through the database module, whose validation is read here, not copied:
    a generated value the module refuses fails every plan of the blueprint (it did: 43 characters for 16-41)."""
    text = (REPO / "terraform_modules" / "modules" / "database" / "variables.tf").read_text()
    block = text[text.index('variable "password"') :]
    rule = re.compile(re.search(r'regex\("(.+?)", var\.password\)', block).group(1).replace("\\\\", "\\"))
    for _ in range(20):
        secrets = make_environment(blueprint_name=blueprint_name).secrets()
        assert rule.fullmatch(secrets["db_password"]), secrets["db_password"]
        assert len(secrets["app_secret_key"]) >= 32

"""One bound on AWS retries (LAUNCHPAD_AWS_MAX_RETRIES): Terraform's provider gets it as the root variable
aws_max_retries (never a user's to set), Launchpad's boto3 clients at most 5 of it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import settings as launchpad_settings
from provisioning import aws, engine
from provisioning.blueprints import read_blueprint
from provisioning.workspace import MODULE_LIBRARY


@pytest.mark.parametrize(("value", "expected"), [(None, 25), ("0", 0), ("2", 2), ("100", 100)])
def test_the_bound_is_read_from_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("LAUNCHPAD_AWS_MAX_RETRIES", raising=False)
    else:
        monkeypatch.setenv("LAUNCHPAD_AWS_MAX_RETRIES", value)

    assert aws.max_retries() == expected
    assert launchpad_settings.aws_max_retries() == expected


@pytest.mark.parametrize("value", ["-1", "101", "1.5", "many", "²"])
def test_a_bound_that_is_not_a_whole_number_from_0_to_100_is_refused(monkeypatch, value):
    monkeypatch.setenv("LAUNCHPAD_AWS_MAX_RETRIES", value)

    with pytest.raises(ValueError, match="LAUNCHPAD_AWS_MAX_RETRIES=.* must be a whole number from 0 to 100"):
        aws.max_retries()
    with pytest.raises(ImproperlyConfigured, match="must be a whole number from 0 to 100"):
        launchpad_settings.aws_max_retries()


@pytest.mark.parametrize(("value", "attempts"), [("2", 3), ("0", 1), ("25", 6)])
def test_boto3_clients_retry_as_often_as_the_bound_says_but_never_more_than_5_times(monkeypatch, value, attempts):
    monkeypatch.setenv("LAUNCHPAD_AWS_MAX_RETRIES", value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    client = aws.client("s3", "eu-west-1", "http://127.0.0.1:1")

    assert client.meta.config.retries["total_max_attempts"] == attempts  # the first attempt and the retries


@pytest.mark.parametrize("root", ["sandbox", "full", MODULE_LIBRARY / "bootstrap"])
def test_every_root_declares_the_bound_and_launchpad_sets_it_not_the_user(root):
    variable = read_blueprint(root).variable("aws_max_retries")

    assert variable.type == "number" and variable.default == 25
    assert variable.managed
    assert "aws_max_retries" not in {v.name for v in read_blueprint(root).user_variables}


def test_the_bootstrap_root_gets_the_bound_too(monkeypatch, tmp_path):
    monkeypatch.setenv("LAUNCHPAD_AWS_MAX_RETRIES", "4")
    monkeypatch.setattr(engine, "_state_store_exists", lambda *args: False)
    rendered = {}

    class Rendered(Exception):
        pass

    def render(root, directory, variables, backend=None):
        rendered.update(variables)
        raise Rendered

    monkeypatch.setattr(engine, "render_workspace", render)
    with pytest.raises(Rendered):
        engine.ensure_state_store(
            "eu-west-1", "http://127.0.0.1:1", None, tmp_path, lambda *line: None, name_prefix="x"
        )

    assert rendered["aws_max_retries"] == 4

"""The check of a definition against the blueprint's variable rules (provisioning.variable_rules): once per request,
outside the region's network lock, on the values a run gives Terraform, and a 503 with a sentence when Terraform
cannot be run."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from portal.activity.models import ActivityEntry
from portal.environments import models
from portal.environments.models import Environment, NetworkPool
from portal.jobs.terraform import terraform_request
from portal.runs.models import Run
from provisioning.engine import StateStore
from tests.environments.test_views import sandbox_form
from tests.factories import api_client, make_environment, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db

ENVIRONMENTS = "/api/v1/environments/"
UNAVAILABLE = "Launchpad could not check the values against the sandbox blueprint's rules, so nothing was saved"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    return record_enqueued_runs(monkeypatch)


def definition(**changes) -> dict:
    body = {"name": "feature-x", "blueprint": "sandbox", "tier": "dev", "region": "eu-west-1"}
    body["variables"] = {"vpc_cidr": "172.20.0.0/16"}
    body.update(changes)
    return body


def assert_unavailable_and_nothing_written(response) -> None:
    assert response.status_code == 503, response.content
    assert UNAVAILABLE in response.content.decode()
    assert not Environment.objects.exists()
    assert not Run.objects.exists()
    assert not ActivityEntry.objects.exists()


# --- once per request, and never under the region's network lock ------------------------------------------------


def network_pool_is_free(region: str) -> bool:
    """Whether another request could take ``region``'s network pool right now (lock_networks not held)."""
    answer = []

    def try_to_take() -> None:
        try:
            with transaction.atomic():
                NetworkPool.objects.select_for_update(nowait=True).get(region=region)
            answer.append(True)
        except DatabaseError:
            answer.append(False)
        finally:
            connection.close()

    thread = threading.Thread(target=try_to_take)
    thread.start()
    thread.join()
    return answer[0]


@pytest.fixture
def rule_checks(monkeypatch):
    """Each Terraform check of the variable rules (the real one, run), with whether the region's network pool was
    free while it ran."""
    NetworkPool.objects.get_or_create(region="eu-west-1")
    checks, check_rules = [], models.check_rules

    def counted(blueprint, values, *args, **kwargs):
        checks.append({"pool_free": network_pool_is_free(values["region"])})
        return check_rules(blueprint, values, *args, **kwargs)

    monkeypatch.setattr(models, "check_rules", counted)
    return checks


@pytest.mark.django_db(transaction=True)
def test_a_form_create_checks_the_rules_once_without_holding_the_network_pool(rule_checks):
    client = Client()
    client.force_login(make_user())

    response = client.post("/environments/new/?blueprint=sandbox", sandbox_form(apply=None))

    assert response.status_code == 302, response.content
    assert Environment.objects.filter(name="feature-x").exists()
    assert rule_checks == [{"pool_free": True}]


@pytest.mark.django_db(transaction=True)
def test_an_api_create_checks_the_rules_once_without_holding_the_network_pool(rule_checks):
    response = api_client(make_user()).post(ENVIRONMENTS, definition(apply=False), format="json")

    assert response.status_code == 201, response.content
    assert rule_checks == [{"pool_free": True}]


@pytest.mark.django_db(transaction=True)
def test_a_settings_change_checks_the_rules_once_without_holding_the_network_pool(rule_checks):
    owner = make_user()
    page, api = make_environment(owner=owner, vpc_cidr="10.61.0.0/16"), make_environment(owner=owner)
    rule_checks.clear()
    client = Client()
    client.force_login(owner)
    form = {key: value for key, value in sandbox_form(var_vpc_cidr="10.61.0.0/16").items() if key.startswith("var_")}

    from_page = client.post(f"/environments/{page.name}/settings/", {**form, "var_log_level": "debug"})
    from_api = api_client(owner).patch(
        f"{ENVIRONMENTS}{api.name}/", {"variables": {"log_level": "debug"}}, format="json"
    )

    assert (from_page.status_code, from_api.status_code) == (302, 202), (from_page.content, from_api.content)
    assert rule_checks == [{"pool_free": True}, {"pool_free": True}]


# --- the values a run gives Terraform ------------------------------------------------------------------------


def test_the_rules_judge_the_operators_endpoint_and_retry_bound_as_a_run_gets_them(settings):
    settings.AWS_ENDPOINT_URL = "ftp://emulator"
    settings.LAUNCHPAD = {**settings.LAUNCHPAD, "AWS_MAX_RETRIES": 101}

    response = api_client(make_user()).post(ENVIRONMENTS, definition(), format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {
        "aws_endpoint_url": ["The AWS endpoint must be empty (real AWS) or an http(s) URL."],
        "aws_max_retries": ["The AWS max retries must be a whole number from 0 to 100."],
    }
    assert not Environment.objects.exists()


def test_a_run_gives_terraform_the_values_the_rules_were_checked_on(monkeypatch, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.LAUNCHPAD = {**settings.LAUNCHPAD, "AWS_MAX_RETRIES": 3}
    checked, check_rules = [], models.check_rules
    monkeypatch.setattr(
        models, "check_rules", lambda blueprint, values: checked.append(values) or check_rules(blueprint, values)
    )

    environment = make_environment(log_level="debug")
    request = terraform_request(environment, 1, StateStore("bucket", "locks"))

    assert checked == [request.variables]
    assert request.variables["aws_endpoint_url"] == "http://127.0.0.1:9" and request.variables["aws_max_retries"] == 3


# --- Terraform that cannot be run: a 503 with a sentence, never a 500 --------------------------------------------


def test_a_terraform_that_is_not_executable_is_a_503_and_nothing_is_written(monkeypatch, tmp_path):
    not_executable = tmp_path / "terraform"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o644)
    monkeypatch.setenv("LAUNCHPAD_TERRAFORM_BIN", str(not_executable))

    assert_unavailable_and_nothing_written(api_client(make_user()).post(ENVIRONMENTS, definition(), format="json"))


def test_a_launchpad_home_that_cannot_be_written_is_a_503_and_nothing_is_written(monkeypatch, tmp_path):
    # A home under a file: no directory can be made there, whoever runs the portal (root included).
    a_file = tmp_path / "home"
    a_file.write_text("")
    monkeypatch.setenv("LAUNCHPAD_HOME", str(a_file / "launchpad"))

    assert_unavailable_and_nothing_written(api_client(make_user()).post(ENVIRONMENTS, definition(), format="json"))


def test_a_terraform_that_cannot_be_started_is_a_503_and_nothing_is_written(monkeypatch, tmp_path):
    # Executable, but no program the system can start (no interpreter line, not a binary).
    unstartable = tmp_path / "terraform"
    unstartable.write_bytes(b"\x00\x01\x02 not a program")
    unstartable.chmod(0o755)
    monkeypatch.setenv("LAUNCHPAD_TERRAFORM_BIN", str(unstartable))
    monkeypatch.setenv("LAUNCHPAD_HOME", str(tmp_path / "launchpad"))

    assert_unavailable_and_nothing_written(api_client(make_user()).post(ENVIRONMENTS, definition(), format="json"))

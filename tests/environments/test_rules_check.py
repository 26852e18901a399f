"""The check of a definition against the blueprint's variable rules (provisioning.variable_rules): once per request,
outside the region's network lock, on the values a run gives Terraform, and a 503 with a sentence when Terraform
cannot be run."""

from __future__ import annotations

import pytest

from portal.activity.models import ActivityEntry
from portal.environments.models import Environment
from portal.runs.models import Run
from tests.factories import api_client, make_user, record_enqueued_runs

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

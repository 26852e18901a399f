"""The environment's page and its API show the security audit's open high-severity findings on its resources."""

from __future__ import annotations

import pytest

from tests.factories import api_client, make_environment, make_finding, make_user

pytestmark = pytest.mark.django_db


def test_the_environment_page_shows_its_open_high_finding_to_its_owner(client):
    environment = make_environment(name="exposed")
    make_finding(environment)
    make_finding(environment, "s3.unencrypted", severity="medium")
    client.force_login(environment.owner)

    page = client.get("/environments/exposed/").content.decode()

    assert 'id="high-findings"' in page
    assert "sg.open-ingress" in page and "Security group spotmusic-exposed-ecs-tasks lets in TCP port 22" in page
    assert "s3.unencrypted" not in page
    # The owner is no admin: the audit's pages are not theirs, the finding is not a link there.
    assert "/audit/findings/" not in page


def test_an_environment_without_open_high_findings_shows_no_findings_card(client):
    environment = make_environment(name="calm")
    make_finding(environment, status="resolved")
    client.force_login(environment.owner)

    assert 'id="high-findings"' not in client.get("/environments/calm/").content.decode()


def test_the_api_gives_the_open_high_findings_of_an_environment_and_of_each_in_a_list():
    environment = make_environment(name="exposed-api")
    make_finding(environment)
    make_environment(name="calm-api", owner=environment.owner)
    client = api_client(environment.owner)

    detail = client.get("/api/v1/environments/exposed-api/").json()
    listed = {row["name"]: row for row in client.get("/api/v1/environments/").json()["results"]}

    [finding] = detail["open_high_findings"]
    assert (finding["rule_id"], finding["severity"], finding["resource_id"]) == (
        "sg.open-ingress",
        "high",
        "spotmusic-exposed-api-ecs-tasks",
    )
    assert listed["exposed-api"]["open_high_findings"] == detail["open_high_findings"]
    assert listed["calm-api"]["open_high_findings"] == []


def test_an_environment_gives_each_open_finding_as_the_audits_api_does():
    """One representation of a finding: the environment's API reuses the audit's, field for field."""
    environment = make_environment(name="exposed-same")
    finding = make_finding(environment)

    detail = api_client(environment.owner).get("/api/v1/environments/exposed-same/").json()
    audits = api_client(make_user("admin")).get("/api/v1/audit/findings/").json()["results"]

    assert detail["open_high_findings"] == [row for row in audits if row["id"] == finding.pk]

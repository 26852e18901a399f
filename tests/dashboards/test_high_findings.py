"""An environment's open high-severity findings (the security audit's) count against its health: on its dashboard
and in the fleet, a healthy environment with one is degraded, and the reason names the finding."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.audit.models import open_high_findings
from tests.dashboards.test_views import FLEET, dashboard_url, rows
from tests.factories import api_client, make_environment, make_finding, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    client = Client()
    client.force_login(make_user())
    return client


def test_only_open_high_findings_of_the_environments_own_resources_count():
    mine, other = make_environment(), make_environment()
    counted = make_finding(mine)
    make_finding(mine, "sg.datastore-exposed", severity="medium")
    make_finding(mine, "s3.unencrypted", status="suppressed")
    make_finding(mine, "rds.public", status="resolved")
    make_finding(other, "iam.open-trust")
    make_finding(None, "iam.wildcard-action", resource_id="account-role")

    assert list(open_high_findings(mine)) == [counted]
    assert set(open_high_findings([mine, other]).values_list("rule_id", flat=True)) == {
        "sg.open-ingress",
        "iam.open-trust",
    }


def test_the_fleet_says_degraded_not_healthy_with_a_high_finding_open_and_names_it(browser, ready_environment):
    calm, exposed = ready_environment(), ready_environment()
    make_finding(exposed)

    page = browser.get(FLEET).content.decode()

    listed = rows(page)
    assert (calm.name, "healthy") in listed
    assert (exposed.name, "degraded") in listed
    assert f"1 high-severity security finding is open: sg.open-ingress on spotmusic-{exposed.name}-ecs-tasks." in page


def test_the_fleet_api_gives_the_finding_among_the_health_reasons(ready_environment):
    exposed = ready_environment()
    for rule in ("sg.open-ingress", "iam.open-trust", "rds.public", "s3.unencrypted"):
        make_finding(exposed, rule)

    body = api_client(make_user()).get("/api/v1/status/").json()
    entries = {entry["environment"]: entry for entry in body["environments"]}

    health = entries[exposed.name]["health"]
    assert health["level"] == "degraded"
    assert health["reason"].startswith("4 high-severity security findings are open: sg.open-ingress on ")
    assert health["reason"].endswith(" and 1 more.")
    assert health["reasons"][1].startswith("Every task wanted is running")


def test_the_dashboard_lists_the_finding_and_is_degraded(browser, ready_environment):
    exposed = ready_environment()
    make_finding(exposed)

    page = browser.get(dashboard_url(exposed)).content.decode()

    assert 'data-health="degraded"' in page
    assert f"1 high-severity security finding is open: sg.open-ingress on spotmusic-{exposed.name}-ecs-tasks." in page


def test_a_resolved_finding_leaves_the_environment_healthy_again(browser, ready_environment):
    exposed = ready_environment()
    finding = make_finding(exposed)
    finding.status = "resolved"
    finding.save()

    assert 'data-health="healthy"' in browser.get(dashboard_url(exposed)).content.decode()

"""In a real browser: the owner of an environment with an open high-severity finding sees it on the environment's
page (a card above the drift panel, no wider than the page), and the fleet gives it as the environment's reason.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest

from portal.environments.models import Environment
from tests.dashboards.resources import build_sandbox, unique_name
from tests.factories import make_environment, make_finding, make_user
from tests.ui.chromium import CHROMIUM, MISSING
from tests.ui.test_browser import SCREENSHOTS, log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]


def test_the_owner_sees_the_open_high_finding_on_the_environment_page_and_in_the_fleet(
    live_server, browser, plain_http_cookies
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    owner = make_user(username="finding-owner")
    environment = make_environment(owner=owner, name="exposed-ui")
    Environment.objects.filter(pk=environment.pk).update(status="ready")
    make_finding(environment)
    violations: list = []
    page = log_in(browser, live_server.url, "finding-owner", violations=violations)

    page.goto(f"{live_server.url}/environments/exposed-ui/")
    card = page.locator("#high-findings")
    card.wait_for()
    page.screenshot(path=SCREENSHOTS / "environment-high-findings.png", full_page=True)

    assert "sg.open-ingress" in card.inner_text()
    assert "spotmusic-exposed-ui-ecs-tasks lets in TCP port 22" in card.inner_text()
    # Above the drift panel, and within the page's width.
    assert card.bounding_box()["y"] < page.locator("#drift").bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    page.goto(f"{live_server.url}/fleet/")
    row = page.locator('tr[data-environment="exposed-ui"]')
    page.screenshot(path=SCREENSHOTS / "fleet-high-findings.png")
    assert "1 high-severity security finding is open: sg.open-ingress on spotmusic-exposed-ui-ecs-tasks." in (
        row.inner_text()
    )
    assert violations == []


def test_a_running_environment_with_a_high_finding_is_degraded_on_its_dashboard_and_in_the_fleet(
    live_server, browser, plain_http_cookies, emulator
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    owner = make_user(username="running-owner")
    name = unique_name("exposed")
    environment = make_environment(owner=owner, name=name)
    Environment.objects.filter(pk=environment.pk).update(status="ready", outputs=build_sandbox(name))
    make_finding(environment)
    page = log_in(browser, live_server.url, "running-owner")

    page.goto(f"{live_server.url}/environments/{name}/dashboard/")
    page.screenshot(path=SCREENSHOTS / "dashboard-high-findings.png")
    banner = page.locator("#health")
    assert "1 high-severity security finding is open: sg.open-ingress" in banner.inner_text()
    assert "Every task wanted is running" in banner.inner_text()
    assert page.locator("#health [data-health]").first.get_attribute("data-health") == "degraded"

    page.goto(f"{live_server.url}/fleet/")
    page.screenshot(path=SCREENSHOTS / "fleet-degraded-by-finding.png")
    row = page.locator(f'tr[data-environment="{name}"]')
    assert row.locator("[data-health]").first.get_attribute("data-health") == "degraded"

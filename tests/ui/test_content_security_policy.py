"""Every kind of page, in chromium, under the Content-Security-Policy: nothing it refuses is attempted.

The pages run their own scripts (the live parts that replace themselves, the run log, Chart.js drawing the
dashboard's charts from demo metrics in the emulator, Redoc rendering the API docs and searching them) and
chromium reports each violation in the console. Screenshots: artifacts/screenshots/csp-*.png.
"""

from __future__ import annotations

import re

import pytest

from portal.dashboards import demo
from portal.environments.choices import EnvironmentStatus
from portal.runs.models import RunEvent
from tests.conftest import ARTIFACTS
from tests.dashboards.resources import build_sandbox, unique_name
from tests.factories import blueprint, make_environment, make_run, make_user
from tests.runs.test_views import SUMMARY, apply_complete
from tests.ui.chromium import CHROMIUM, MISSING, policy_violations

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]

SCREENSHOTS = ARTIFACTS / "screenshots"
# Redoc's footer shows Redocly's logo from its CDN: the policy refuses it, as Launchpad loads nothing from outside
# (the image hides itself when it fails). The only violation expected, and only on the docs page.
REDOC_LOGO = re.compile(r"/api/v1/docs/: Loading the image 'https://cdn\.redoc\.ly/redoc/logo-mini\.svg' violates")


@pytest.fixture
def world(emulator):
    """An admin, a ready environment with a day of demo metrics, and a run half applied."""
    blueprint("sandbox")
    admin = make_user("admin", "ada")
    name = unique_name("csp")
    environment = make_environment(owner=admin, name=name)
    environment.status, environment.outputs = EnvironmentStatus.READY, build_sandbox(name)
    environment.save()
    demo.send(environment)
    run = make_run(environment, status="applying", plan_summary=SUMMARY, has_changes=True)
    RunEvent.append(run, [("launchpad", "Applying the plan.", None), apply_complete("module.network.aws_vpc.this")])
    return {"admin": admin, "environment": environment, "run": run}


def test_no_page_does_anything_the_content_security_policy_refuses(live_server, browser, plain_http_cookies, world):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base, name = live_server.url, world["environment"].name
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    violations = policy_violations(page)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw-123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")

    pages = {
        "/": None,
        "/fleet/": None,
        f"/environments/{name}/": "csp-environment.png",
        f"/environments/{name}/dashboard/": "csp-dashboard.png",
        f"/runs/{world['run'].pk}/": "csp-run.png",
        "/environments/new/?blueprint=sandbox": None,
        "/notifications/": None,
        "/accounts/tokens/": None,
        "/audit/": None,
        "/activity/": None,
        "/admin/": None,
        "/api/v1/docs/": "csp-api-docs.png",
    }
    for path, screenshot in pages.items():
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if path.endswith("/dashboard/"):
            # Chart.js draws into every chart's canvas (a drawn canvas has a size set by Chart.js's own styles).
            page.wait_for_function(
                "() => { const c = document.querySelectorAll('[data-chart] canvas');"
                " return c.length > 0 && [...c].every((canvas) => canvas.style.height !== ''); }"
            )
        if path.startswith("/runs/"):
            assert page.locator("progress.progress").get_attribute("value") == "1"
            page.wait_for_timeout(2_000)  # the live panel replaces itself at least once (launchpad.js)
        if path == "/api/v1/docs/":
            page.locator("#redoc-container, redoc").first.wait_for()
            page.get_by_role("heading", name=re.compile("Launchpad API")).wait_for()
            page.fill("input[placeholder='Search...']", "approve")  # Redoc searches in a worker (blob:)
            page.locator("ul[data-role='search:results'] li").first.wait_for()
        if screenshot:
            page.screenshot(path=SCREENSHOTS / screenshot, full_page=path != "/api/v1/docs/")  # docs: 40 000 px

    unexpected = [violation for violation in violations if not REDOC_LOGO.search(violation)]
    assert unexpected == [], "\n".join(unexpected)

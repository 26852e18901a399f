"""In a real browser: a destroyed environment's page offers nothing to plan, apply or extend, and the destroy page
of a full environment names the data its resources hold (its databases and caches among them)."""

from __future__ import annotations

import pytest

from portal.environments.models import Environment
from tests.factories import applied, make_environment, make_user
from tests.ui.chromium import CHROMIUM, MISSING
from tests.ui.test_browser import SCREENSHOTS, log_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]


def test_a_destroyed_environment_s_page_offers_no_plan_apply_or_expiry_and_a_destroy_names_the_data_lost(
    live_server, browser, plain_http_cookies
):
    owner = make_user("engineer", "olga")
    gone = applied(make_environment(owner=owner, name="bob-two"))
    gone.destroyed()
    applied(make_environment(owner=owner, name="gamma-full", blueprint_name="full"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = log_in(browser, live_server.url, "olga")

    page.goto(f"{live_server.url}/environments/bob-two/")
    page.screenshot(path=SCREENSHOTS / "destroyed-environment.png")
    assert page.locator("#environment-status").get_attribute("data-status") == "destroyed"
    assert Environment.objects.get(pk=gone.pk).expires_at is not None  # it had a lifetime: the page no longer says so
    for gone_part in ("#plan-button", "#apply-button", "#destroy-button", "#environment-expires", "#extend-form"):
        assert page.locator(gone_part).count() == 0, gone_part

    page.goto(f"{live_server.url}/environments/gamma-full/destroy/")
    page.screenshot(path=SCREENSHOTS / "destroy-full-environment.png")
    assert "and the data they hold: its databases, stored files (S3 buckets), caches, queues, secrets, parameters" in (
        page.locator(".notice.danger").first.inner_text()
    )

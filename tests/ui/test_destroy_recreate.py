"""In a real browser against the real stack (live server, Celery worker, emulator): the owner of a dev sandbox, the
only admin there is, creates it with the network left empty, destroys it with the typed confirmation alone (no
approver: its queues and secrets are its own), sees the list hide it unless asked for, and creates it again under
the same name, the earlier one's history one link away."""

from __future__ import annotations

import re

import pytest

from portal.environments.models import Environment
from portal.runs.models import Run
from tests.factories import blueprint, make_user
from tests.support.inventory import leftovers
from tests.ui.chromium import CHROMIUM, MISSING, policy_violations
from tests.ui.test_browser import SCREENSHOTS, log_in, wait_for_status

pytest_plugins = ["tests.support.stack"]

NAME = "ui-recreate"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]


def listed(page) -> list[str]:
    return page.locator("#environments td.name").all_inner_texts() if page.locator("#environments").count() else []


def test_the_owner_destroys_their_dev_sandbox_alone_and_creates_it_again_under_the_same_name(
    live_server, stack, browser, plain_http_cookies
):
    blueprint("sandbox")
    make_user("admin", "olga")  # the only admin: nobody else could approve
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = log_in(browser, base, "olga")
    violations = policy_violations(page)

    # The network is left empty: Launchpad takes a free block of the region's pool.
    page.goto(f"{base}/environments/new/?blueprint=sandbox")
    assert page.input_value("#id_var_vpc_cidr") == ""
    assert (
        "Leave empty to get a free block" in page.locator(".field", has=page.locator("#id_var_vpc_cidr")).inner_text()
    )
    page.fill("#id_name", NAME)
    page.get_by_role("button", name="Create environment").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    created = Run.objects.get(environment__name=NAME)
    assert wait_for_status(page, "#environment-status", ("ready", "failed"), timeout_s=900) == "ready", Run.objects.get(
        pk=created.pk
    ).error
    first = Environment.objects.get(name=NAME)
    assert first.vpc_cidr == "10.0.0.0/16"

    # Destroy: the page says beforehand that the owner destroys it alone; the typed name is all it takes.
    page.goto(f"{base}/environments/{NAME}/")
    page.locator("#destroy-button").click()
    assert "You destroy it alone" in page.locator("#destroy-outlook").inner_text()
    page.screenshot(path=SCREENSHOTS / "destroy-recreate-1-confirmation.png", full_page=True)
    page.fill("#id_confirm_name", NAME)
    page.get_by_role("button", name=f"Destroy {NAME}").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    destroy = Run.objects.get(environment=first, kind="destroy")
    outcome = wait_for_status(page, "#run-status", ("succeeded", "failed", "awaiting_approval"), timeout_s=900)
    assert outcome == "succeeded", (
        Run.objects.get(pk=destroy.pk).error or Run.objects.get(pk=destroy.pk).approval_reasons
    )
    assert page.locator("#stateful-losses").is_visible()  # its data went, and no approver was needed for it
    destroy.refresh_from_db()
    assert (destroy.needs_approval, destroy.approved_by) == (False, None)
    assert wait_for_status(page, "#environment-status", ("destroyed",), timeout_s=60) == "destroyed"
    page.screenshot(path=SCREENSHOTS / "destroy-recreate-2-destroyed.png", full_page=True)
    assert leftovers(f"spotmusic-{NAME}") == []

    # The list hides it unless asked for.
    page.goto(base + "/")
    assert NAME not in listed(page)
    page.locator("#id_include_destroyed").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*include_destroyed=on.*"))
    assert NAME in listed(page)
    page.screenshot(path=SCREENSHOTS / "destroy-recreate-3-list-with-destroyed.png", full_page=True)

    # The same name again, with the same free block; the earlier one's runs one link away.
    page.goto(f"{base}/environments/new/?blueprint=sandbox")
    page.fill("#id_name", NAME)
    page.locator("#id_apply").uncheck()
    page.get_by_role("button", name="Create environment").click()
    page.wait_for_url(f"{base}/environments/{NAME}/")
    second = Environment.objects.get(name=NAME, status="new")
    assert second.vpc_cidr == "10.0.0.0/16" and second.state_key != first.state_key
    page.locator("#history-link").click()
    page.wait_for_url(f"{base}/environments/{NAME}/history/")
    assert page.locator(".history-entry").count() == 2
    assert page.locator(f'a[href="/runs/{destroy.pk}/"]').count() == 1
    page.screenshot(path=SCREENSHOTS / "destroy-recreate-4-history.png", full_page=True)
    assert violations == [], "the pages did something the Content-Security-Policy refuses"

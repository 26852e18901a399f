"""In a real browser (Debian's chromium driven by Playwright) against the real stack (live server, Celery worker,
emulator): an engineer logs in, creates a sandbox from the generated form, watches its run stream to "ready"
without reloading the page, sees its outputs, and destroys it after typing its name: the destroy deletes stored
data and an admin, not the owner, asked for it, so an approver approves it in their own browser (the owner
destroys alone: tests/ui/test_destroy_recreate.py). Screenshots of the main pages go to artifacts/screenshots/."""

from __future__ import annotations

import json
import re
import time

import pytest

from portal.environments.models import Environment
from portal.runs.models import Run
from tests.conftest import ARTIFACTS
from tests.factories import blueprint, make_user
from tests.support.inventory import leftovers
from tests.ui.chromium import CHROMIUM, MISSING, policy_violations

# The `stack` fixture (a Celery worker and beat) lives in tests/support/stack.py, shared with tests/integration.
pytest_plugins = ["tests.support.stack"]

SCREENSHOTS = ARTIFACTS / "screenshots"
PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user
NAME = "ui-sandbox"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]


def log_in(browser, base_url: str, username: str, screenshot: str | None = None, violations: list | None = None):
    """A new browser context signed in as ``username``; ``violations`` collects its Content-Security-Policy
    violations (tests/ui/chromium.py)."""
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    if violations is not None:
        policy_violations(page, into=violations)
    page.set_default_timeout(30_000)
    page.goto(base_url + "/")
    assert page.url.startswith(base_url + "/accounts/login/")
    if screenshot:
        page.screenshot(path=SCREENSHOTS / screenshot)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page


def status_of(page, selector: str) -> str:
    return page.locator(selector).get_attribute("data-status")


def wait_for_status(page, selector: str, statuses: tuple[str, ...], timeout_s: float) -> str:
    """Wait (in the browser, no reload) until the badge at ``selector`` shows one of ``statuses``."""
    pattern = "|".join(re.escape(status) for status in statuses)
    page.wait_for_function(
        f"() => {{ const badge = document.querySelector({json.dumps(selector)});"
        f" return badge && /^({pattern})$/.test(badge.dataset.status); }}",
        timeout=timeout_s * 1000,
        polling=500,
    )
    return status_of(page, selector)


def log_lines(page) -> int:
    return page.locator("#run-log .log-line").count()


def test_an_engineer_creates_a_sandbox_watches_it_become_ready_and_destroys_it(
    live_server, stack, browser, plain_http_cookies
):
    blueprint("sandbox")
    make_user("engineer", "erin")
    make_user("approver", "rita")
    make_user("admin", "adam")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    started = time.perf_counter()

    # Log in; the list is empty, and there is no admin navigation for an engineer.
    violations: list[str] = []  # of the Content-Security-Policy, by every page of both users
    page = log_in(browser, base, "erin", screenshot="01-login.png", violations=violations)
    assert page.get_by_role("link", name="Activity").count() == 0

    # New environment → blueprint → the form generated from its variables.
    page.get_by_role("link", name="New environment").first.click()
    page.locator("#choose-sandbox").click()
    assert page.input_value("#id_var_vpc_cidr") == ""  # empty: a free block of the region's pool
    assert (
        "must not overlap another environment"
        in page.locator(".field", has=page.locator("#id_var_vpc_cidr")).inner_text()
    )
    page.screenshot(path=SCREENSHOTS / "03-new-environment.png", full_page=True)

    # A bad name is refused next to the field, and nothing is created.
    page.fill("#id_name", "UI Sandbox")
    page.fill("#id_var_vpc_cidr", "10.81.0.0/16")
    page.get_by_role("button", name="Create environment").click()
    assert "lowercase letters" in page.locator("#id_name_error").inner_text()
    assert not Environment.objects.exists()
    page.screenshot(path=SCREENSHOTS / "03b-new-environment-errors.png", full_page=True)

    page.fill("#id_name", NAME)
    page.get_by_role("button", name="Create environment").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    run = Run.objects.get(environment__name=NAME)
    # Marks this page: still there at the end only if nothing reloaded it.
    page.evaluate("window.launchpadNoReload = true")

    # The log streams and the progress bar appears once Terraform has planned.
    first_lines = log_lines(page)
    page.wait_for_function(
        f"() => document.querySelectorAll('#run-log .log-line').length > {first_lines + 20}", timeout=300_000
    )
    page.locator("#run-progress").wait_for(timeout=300_000)
    page.wait_for_function(
        "() => { const done = document.querySelector('#run-progress');"
        " return done !== null && !done.textContent.startsWith('0 of'); }",
        timeout=300_000,
        polling=200,
    )
    page.screenshot(path=SCREENSHOTS / "04-run-live.png", full_page=True)

    outcome = wait_for_status(page, "#environment-status", ("ready", "failed"), timeout_s=600)
    assert outcome == "ready", Run.objects.get(pk=run.pk).error
    assert wait_for_status(page, "#run-status", ("succeeded",), timeout_s=30) == "succeeded"
    assert page.evaluate("window.launchpadNoReload === true"), "the run page reloaded itself"
    assert "(100%)" in page.locator("#run-progress").inner_text()
    ready_seconds = round(time.perf_counter() - started, 1)

    # The environment page shows the outputs Terraform returned.
    environment = Environment.objects.get(name=NAME)
    page.get_by_role("link", name="Environment page").click()
    outputs = page.locator("#outputs")
    assert environment.outputs["ecs_cluster_name"] in outputs.inner_text()
    assert "work_queue_url" in outputs.inner_text()
    page.screenshot(path=SCREENSHOTS / "05-environment.png", full_page=True)

    page.goto(base + "/")
    assert "Ready" in page.locator("#environments").inner_text()
    page.screenshot(path=SCREENSHOTS / "02-environment-list.png", full_page=True)

    # Destroy, asked for by an admin: a wrong name destroys nothing; the right one queues the destroy.
    page = log_in(browser, base, "adam", violations=violations)
    page.goto(f"{base}/environments/{NAME}/")
    page.locator("#destroy-button").click()
    page.screenshot(path=SCREENSHOTS / "06-destroy-confirmation.png", full_page=True)
    page.fill("#id_confirm_name", "ui-sandbo")
    page.get_by_role("button", name=f"Destroy {NAME}").click()
    assert "type ui-sandbox exactly" in page.locator("#id_confirm_name_error").inner_text()
    assert not Run.objects.filter(kind="destroy").exists()
    page.fill("#id_confirm_name", NAME)
    page.get_by_role("button", name=f"Destroy {NAME}").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    destroy = Run.objects.get(environment__name=NAME, kind="destroy")
    page.evaluate("window.launchpadNoReload = true")

    # The destroy deletes someone else's stored data: it waits for an approver; the admin who asked cannot approve.
    assert (
        wait_for_status(page, "#run-status", ("awaiting_approval", "failed"), timeout_s=300) == "awaiting_approval"
    ), Run.objects.get(pk=destroy.pk).error
    assert page.locator("#stateful-losses").is_visible()  # in red, with the resources that hold data
    assert page.locator("#approve-button").count() == 0
    page.screenshot(path=SCREENSHOTS / "07-destroy-awaiting-approval.png", full_page=True)

    reviewer = log_in(browser, base, "rita", violations=violations)
    reviewer.goto(f"{base}/runs/{destroy.pk}/")
    reviewer.fill("#id_comment", "Sandbox done, data can go.")
    reviewer.screenshot(path=SCREENSHOTS / "08-approver-review.png", full_page=True)
    reviewer.locator("#approve-button").click()
    assert "approved" in reviewer.locator(".messages").inner_text()

    # The asker's page follows the destroy to the end, still without a reload.
    outcome = wait_for_status(page, "#environment-status", ("destroyed", "failed"), timeout_s=600)
    assert outcome == "destroyed", Run.objects.get(pk=destroy.pk).error
    assert page.evaluate("window.launchpadNoReload === true"), "the run page reloaded itself"
    assert Environment.objects.get(name=NAME).status == "destroyed"
    assert leftovers(f"spotmusic-{NAME}") == []
    assert violations == [], "the pages did something the Content-Security-Policy refuses"

    total_seconds = round(time.perf_counter() - started, 1)
    (ARTIFACTS / "ui-timings.json").write_text(
        json.dumps({"sandbox_browser_to_ready_seconds": ready_seconds, "browser_test_seconds": total_seconds})
    )
    print(f"\nbrowser: sandbox ready in {ready_seconds} s, whole journey {total_seconds} s")

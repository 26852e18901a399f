"""In chromium: the owner edits an environment's settings from its page. A value the blueprint's rules refuse is
shown under its field with the rule's own message and changes nothing; a good one is saved and the run that
plans the change is queued. Screenshots: artifacts/screenshots/settings-*.png."""

from __future__ import annotations

import pytest

from portal.environments.models import Environment
from portal.runs.models import Run
from tests.conftest import ARTIFACTS
from tests.factories import blueprint, make_environment, make_user, record_enqueued_runs
from tests.ui.chromium import CHROMIUM, MISSING, policy_violations

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]

SCREENSHOTS = ARTIFACTS / "screenshots"


def test_the_owner_edits_a_setting_sees_a_refused_value_under_its_field_and_then_the_run_queued(
    live_server, browser, plain_http_cookies, monkeypatch
):
    enqueued = record_enqueued_runs(monkeypatch)  # no worker: the run stays queued
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    blueprint("sandbox")
    owner = make_user(username="olivia")
    environment = make_environment(owner=owner, name="olivia-sandbox", vpc_cidr="10.70.0.0/16")
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    violations = policy_violations(page)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "pw-123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(f"{live_server.url}/environments/{environment.name}/")
    page.locator("section.card", has=page.locator("#variables")).screenshot(
        path=SCREENSHOTS / "settings-environment-page.png"
    )
    page.click("#edit-settings-button")
    page.wait_for_url(f"**/environments/{environment.name}/settings/")
    assert page.input_value("#id_var_container_port") == "8080"
    assert page.locator("#id_var_db_password").count() == 0
    page.screenshot(path=SCREENSHOTS / "settings-form.png", full_page=True)

    page.fill("#id_var_container_port", "80")
    page.click("#save-settings")
    error = page.locator("#id_var_container_port_error")
    error.wait_for()
    assert error.inner_text() == "The container port must be from 1024 to 65535."
    page.screenshot(path=SCREENSHOTS / "settings-refused.png", full_page=True)
    assert not Run.objects.exists()

    page.fill("#id_var_container_port", "9090")
    page.click("#save-settings")
    page.wait_for_url("**/runs/*/")
    run = Run.objects.get()
    assert (run.kind, run.status, enqueued) == ("apply", "queued", [run.pk])
    assert Environment.objects.get(pk=environment.pk).variables == {"vpc_cidr": "10.70.0.0/16", "container_port": 9090}
    assert "the run that plans the change is queued" in page.inner_text("body")
    page.screenshot(path=SCREENSHOTS / "settings-run-queued.png", full_page=True)

    # While that run is under way the settings cannot change: the page says why and offers no save.
    page.goto(f"{live_server.url}/environments/{environment.name}/settings/")
    assert page.inner_text("#settings-refusal") == (
        f"Apply run #{run.pk} of olivia-sandbox is queued: change the settings once it has ended."
    )
    assert page.locator("#save-settings").is_disabled()
    page.screenshot(path=SCREENSHOTS / "settings-while-a-run-is-queued.png")
    assert violations == []


def test_the_blueprint_cards_say_what_each_blueprint_gives_not_where_its_files_are(
    live_server, browser, plain_http_cookies
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    blueprint("sandbox"), blueprint("full")
    make_user(username="olivia")
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "pw-123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/environments/new/")
    cards = page.locator(".choice").all_inner_texts()
    page.screenshot(path=SCREENSHOTS / "settings-blueprint-cards.png", full_page=True)

    assert len(cards) == 2
    assert not any(".tf" in card or "modules/" in card for card in cards), cards

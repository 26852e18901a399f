"""In chromium: an approver reviews a real plan of the sandbox blueprint (recorded by tests/support/record_plans.py)
and a plan with every kind of change, reading the values of each resource, grouped by module, with long values
inside their card. Screenshots: artifacts/screenshots/plan-review-*.png."""

from __future__ import annotations

import pytest

from provisioning.engine import SENSITIVE, plan_changes, summarise_plan
from tests.conftest import ARTIFACTS
from tests.factories import make_environment, make_run, make_user
from tests.provisioning.test_plan_changes import load
from tests.ui.chromium import CHROMIUM, MISSING, policy_violations

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]

SCREENSHOTS = ARTIFACTS / "screenshots"
VPC = "module.environment.module.network.aws_vpc.this"
BUCKET = "module.environment.module.audio_storage.aws_s3_bucket.this"
PASSWORD = "module.environment.module.secrets.aws_secretsmanager_secret_version.database"


def awaiting_review(environment, recorded: str):
    plan = load(recorded)
    return make_run(
        environment,
        status="awaiting_approval",
        needs_approval=True,
        approval_reasons=["A staging plan waits for an approver."],
        has_changes=True,
        plan_summary=summarise_plan(plan),
        plan_changes=[change.to_dict() for change in plan_changes(plan)],
    )


def signed_in(browser, base: str, username: str, violations: list[str]):
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    policy_violations(page, into=violations)
    page.set_default_timeout(30_000)
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")
    return page


def card(page, address: str):
    return page.locator(f'#plan-review article[data-address="{address}"]')


def inside(inner: dict, outer: dict) -> bool:
    return inner["x"] >= outer["x"] - 1 and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1


def test_an_approver_reads_each_resources_values_grouped_by_module(live_server, browser, plain_http_cookies):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    environment = make_environment(owner=make_user(username="erin"), name="review-ui", vpc_cidr="10.77.0.0/16")
    sandbox = awaiting_review(environment, "sandbox-create")
    changes = awaiting_review(environment, "changes")
    make_user("approver", "rita")
    violations: list[str] = []
    page = signed_in(browser, live_server.url, "rita", violations)

    page.goto(f"{live_server.url}/runs/{sandbox.pk}/")
    network = page.locator('#plan-review .plan-module[data-module="module.environment.module.network"]')
    assert network.locator("h3").inner_text().endswith(f"{network.locator('article').count()} changes")
    vpc = card(page, VPC)
    assert vpc.locator("code.address").inner_text() == "aws_vpc.this"
    assert "cidr_block\n10.77.0.0/16" in vpc.locator("table").inner_text().replace("\t", "\n")
    assert "Known after apply:" in vpc.inner_text()
    assert card(page, PASSWORD).locator("td.after").all_inner_texts() == [SENSITIVE, SENSITIVE]
    # Nested blocks of a create start collapsed, and open pretty-printed, inside their card.
    lifecycle = card(page, BUCKET).locator("tr", has_text="lifecycle_rule").locator("details")
    assert not lifecycle.locator("pre").is_visible()
    lifecycle.locator("summary").click()
    assert '"storage_class": "GLACIER"' in lifecycle.locator("pre").inner_text()
    assert inside(lifecycle.locator("pre").bounding_box(), card(page, BUCKET).bounding_box())
    card(page, BUCKET).screenshot(path=SCREENSHOTS / "plan-review-create.png")

    page.goto(f"{live_server.url}/runs/{changes.pk}/")
    queue = card(page, "aws_sqs_queue.jobs")
    assert queue.locator("td.before").inner_text() == "30" and queue.locator("td.after").inner_text() == "60"
    group = card(page, "aws_security_group.web")
    assert "Replaced because description cannot change in place." in group.inner_text()
    assert group.locator("tr.forces-replacement td.after").inner_text() == "Web traffic, TLS only"
    long_arn = group.locator("tr", has_text="arn").locator("td.before")
    assert inside(long_arn.bounding_box(), group.bounding_box())
    # An update's JSON (an IAM policy held as a string) is shown open and indented, before and after.
    policy = card(page, "aws_iam_role.app").locator("td.after pre")
    assert policy.is_visible() and '"Service": "lambda.amazonaws.com"' in policy.inner_text()
    page.locator("#plan-review").screenshot(path=SCREENSHOTS / "plan-review-changes.png")
    assert violations == []

"""The smaller things, in chromium against the live server: the new-environment message and the run page say
where a run really stands; a waiting plan names its approvers and a rejection asks for a reason; the drift table
stays inside its card; the webhook URL and suppression date look like every input; the navigation keeps one line
at 1280, 1400 and 1920 px; every page has an icon and links to nothing missing; an unknown chart window is the
refusal page; chart axes are 24-hour UTC. Screenshots: artifacts/screenshots/polish-*.png."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from portal.audit.models import Finding
from portal.dashboards import demo
from portal.environments.choices import EnvironmentStatus
from portal.environments.models import DriftCheck, Environment
from portal.runs.models import Run
from tests.audit.documents import db_instance
from tests.audit.test_models import audit
from tests.conftest import ARTIFACTS
from tests.dashboards.resources import build_sandbox, unique_name
from tests.factories import blueprint, make_environment, make_user
from tests.runs.test_views import awaiting
from tests.ui.chromium import CHROMIUM, MISSING, sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING),
]

SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (1280, 1400, 1920)
# A security group's rules as Terraform writes them: a long value with few places to break.
RULES = [
    {"cidr_blocks": ["10.20.0.0/16"], "from_port": 8080, "to_port": 8080, "protocol": "tcp", "description": "lb"},
    {"cidr_blocks": ["0.0.0.0/0"], "from_port": 22, "to_port": 22, "protocol": "tcp", "description": "by hand"},
]
# A security group whose rules were changed in the console: the drift check's record of it.
OPENED = {
    "address": "module.environment.module.web_api.aws_security_group.service",
    "type": "aws_security_group",
    "action": "update",
    "attributes": [{"name": "ingress", "before": RULES[:1], "after": RULES}],
}


@pytest.fixture
def polish_world(emulator):
    blueprint("sandbox")
    make_user("admin", "ada")
    make_user("approver", "rita")
    make_user("engineer", "erin")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def signed_in(browser, base: str, username: str, width: int = 1400, **context):
    return sign_in(browser.new_context(viewport={"width": width, "height": 900}, **context).new_page(), base, username)


def ready(name: str, owner) -> Environment:
    environment = make_environment(owner=owner, name=name)
    environment.status, environment.outputs = EnvironmentStatus.READY, build_sandbox(name)
    environment.save()
    return environment


def test_the_new_environment_message_never_contradicts_the_run_page(
    live_server, browser, plain_http_cookies, polish_world
):
    base = live_server.url
    page = signed_in(browser, base, "erin")
    page.goto(base + "/environments/new/?blueprint=sandbox")
    page.fill("#id_name", "polish-new")
    page.fill("#id_var_vpc_cidr", "10.77.0.0/16")
    page.get_by_role("button", name="Create environment").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    run = Run.objects.get(environment__name="polish-new")

    Run.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())  # as a worker would end it
    page.wait_for_function("() => document.querySelector('#run-state').dataset.status === 'succeeded'")

    assert page.locator(".messages").inner_text() == "polish-new is defined. Its first run is below."
    assert page.locator("#run-state").inner_text() == "The run succeeded."
    assert "queued" not in page.locator("main").inner_text().lower()
    page.screenshot(path=SCREENSHOTS / "polish-first-run.png", full_page=True)


def test_a_waiting_plan_names_its_approvers_and_a_rejection_asks_for_a_reason(
    live_server, browser, plain_http_cookies, polish_world
):
    base = live_server.url
    environment = make_environment(owner=make_user("engineer", "olga"), name="polish-wait", tier="staging")
    run = awaiting(environment)
    page = signed_in(browser, base, "rita")
    page.goto(f"{base}/runs/{run.pk}/")

    assert page.locator("#approvers").inner_text() == "Who can approve it: ada, rita."
    assert not page.locator("#reject-form").is_visible()  # one click does not reject
    page.locator("#reject-button").click()
    page.screenshot(path=SCREENSHOTS / "polish-reject.png", full_page=True)
    page.locator("#confirm-reject-button").click()  # no reason: the browser holds the form back
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"

    page.fill("#id_reason", "Staging is frozen until Monday.")
    page.locator("#confirm-reject-button").click()
    page.wait_for_url(f"{base}/runs/{run.pk}/")

    assert Run.objects.get(pk=run.pk).status == "rejected"
    assert page.locator("#run-state").inner_text() == "The run was rejected."
    assert page.locator("#run-reviewer").inner_text() == "rita: “Staging is frozen until Monday.”"
    page.screenshot(path=SCREENSHOTS / "polish-rejected.png", full_page=True)


def test_the_drift_table_stays_inside_its_card(live_server, browser, plain_http_cookies, polish_world):
    base = live_server.url
    environment = make_environment(owner=make_user("engineer", "dora"), name="polish-drift")
    Environment.objects.filter(pk=environment.pk).update(status="drifted")
    DriftCheck.objects.create(environment=environment, status="drifted", finished_at=timezone.now(), resources=[OPENED])
    for width in WIDTHS:
        page = signed_in(browser, base, "ada", width)
        page.goto(f"{base}/environments/polish-drift/")

        overflow = page.evaluate(
            """() => { const card = document.querySelector('#drift').getBoundingClientRect();
                return [...document.querySelectorAll('#drifted-resources td, #drifted-resources th')]
                  .filter((cell) => cell.getBoundingClientRect().right > card.right + 0.5
                                    || cell.scrollWidth > cell.clientWidth).length; }"""
        )
        # Wrapped at word boundaries where there are some: no key of the rules is cut in two.
        cut_words = page.evaluate(
            """() => { const cell = document.querySelector('#drifted-resources td:last-child .value');
                const text = cell.firstChild, cut = [];
                for (const match of text.data.matchAll(/"[a-z_]+":/g)) {
                  const range = document.createRange();
                  range.setStart(text, match.index);
                  range.setEnd(text, match.index + match[0].length);
                  const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
                  if (lines.size > 1) cut.push(match[0]);
                }
                return cut; }"""
        )
        assert overflow == 0, width
        assert cut_words == [], width
        page.locator("#drift").screenshot(path=SCREENSHOTS / f"polish-drift-{width}.png")


def test_the_webhook_url_and_the_suppression_date_look_like_every_other_input(
    live_server, browser, plain_http_cookies, polish_world
):
    base = live_server.url
    audit(db_instance(PubliclyAccessible=True))
    finding = Finding.objects.get()
    page = signed_in(browser, base, "ada")
    look = """(selector) => { const s = getComputedStyle(document.querySelector(selector));
        return [s.borderTopWidth, s.borderTopColor, s.borderRadius, s.paddingLeft, s.fontSize, s.width !== 'auto']; }"""

    page.goto(base + "/notifications/")
    text_input, url_input = page.evaluate(look, "input[type=text]"), page.evaluate(look, "input[type=url]")
    page.goto(f"{base}/audit/findings/{finding.pk}/")
    date_input = page.evaluate(look, "input[type=datetime-local]")
    page.screenshot(path=SCREENSHOTS / "polish-suppression.png", full_page=True)

    assert url_input == text_input and date_input == text_input
    assert text_input[0] == "1px" and text_input[2] == "6px"


def test_the_navigation_keeps_to_one_line_at_common_widths(live_server, browser, plain_http_cookies, polish_world):
    base = live_server.url
    for width in WIDTHS:
        page = signed_in(browser, base, "ada", width)  # an admin: the most links
        bar = page.evaluate(
            """() => { const links = [...document.querySelectorAll('.nav a')].map((a) => a.getBoundingClientRect());
                const user = document.querySelector('.user').getBoundingClientRect();
                return {tops: new Set(links.map((r) => Math.round(r.top))).size,
                        tallest: Math.max(...links.map((r) => r.height)),
                        overlap: links[links.length - 1].right > user.left,
                        height: document.querySelector('.topbar').getBoundingClientRect().height}; }"""
        )
        page.locator(".topbar").screenshot(path=SCREENSHOTS / f"polish-nav-{width}.png")

        assert bar == {"tops": 1, "tallest": bar["tallest"], "overlap": False, "height": 56}, width
        assert bar["tallest"] < 40, width  # one line of text, not two


def test_every_page_has_an_icon_and_links_to_nothing_missing(live_server, browser, plain_http_cookies, polish_world):
    base = live_server.url
    ready(unique_name("icon"), make_user("engineer", "ivan"))
    page = signed_in(browser, base, "ada")
    failed: list[str] = []
    page.on("response", lambda response: response.status >= 400 and failed.append(f"{response.status} {response.url}"))

    for path in ("/", "/fleet/", "/environments/new/?blueprint=sandbox", "/notifications/", "/audit/", "/admin/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        links = page.evaluate(
            "() => [...document.querySelectorAll('link[href], script[src], img[src]')].map((e) => e.href || e.src)"
        )
        for link in links:
            assert page.request.get(link).status == 200, f"{path} links to {link}"
        if path != "/admin/":
            assert page.locator("link[rel=icon]").get_attribute("href").endswith(".svg"), path
    icon = page.request.get(base + "/favicon.ico")

    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert failed == []


def test_an_unknown_chart_window_is_the_refusal_page(live_server, browser, plain_http_cookies, polish_world):
    base = live_server.url
    name = unique_name("win")
    ready(name, make_user("engineer", "wendy"))
    page = signed_in(browser, base, "ada")

    response = page.goto(f"{base}/environments/{name}/dashboard/?window=7d")

    assert response.status == 400
    assert page.locator("h1").inner_text() == "Launchpad refused this"
    assert page.locator("#refusal").inner_text() == "Unknown window '7d': choose one of 1h, 24h."
    assert page.locator(".topbar").is_visible()  # the site's page, not bare text
    page.screenshot(path=SCREENSHOTS / "polish-window-refused.png", full_page=True)


def test_chart_axes_are_24_hour_utc_whatever_the_browsers_zone(live_server, browser, plain_http_cookies, polish_world):
    base = live_server.url
    name = unique_name("axes")
    demo.send(ready(name, make_user("engineer", "cleo")))
    # A browser in New York with a 12-hour locale: the axes must not follow it.
    page = signed_in(browser, base, "ada", locale="en-US", timezone_id="America/New_York")

    for window in ("1h", "24h"):
        page.goto(f"{base}/environments/{name}/dashboard/?window={window}")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-chart] canvas')].some((c) => window.Chart.getChart(c))"
        )
        axes = page.evaluate(
            """() => [...document.querySelectorAll('[data-chart] canvas')].map((c) => window.Chart.getChart(c))
                .filter(Boolean).map((chart) => ({title: chart.options.scales.x.title.text,
                                                  labels: chart.scales.x.ticks.map((tick) => tick.label)}))"""
        )
        page.screenshot(path=SCREENSHOTS / f"polish-chart-{window}.png", full_page=True)

        assert axes and all(axis["title"] == "Time (UTC)" for axis in axes)
        labels = [label for axis in axes for label in axis["labels"]]
        pattern = r"^\d\d:\d\d$" if window == "1h" else r"^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) \d\d:\d\d$"
        assert labels and all(re.match(pattern, label) for label in labels), labels

"""The fleet page and an environment's dashboard: widgets, badges, the cache, the refresh control, the charts."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from portal.dashboards import status as dashboards_status
from portal.dashboards.models import DemoTraffic
from portal.environments.choices import EnvironmentStatus
from provisioning import aws
from tests.factories import make_environment, make_user

pytestmark = pytest.mark.django_db

FLEET = "/fleet/"


def dashboard_url(environment, suffix: str = "") -> str:
    return f"/environments/{environment.name}/dashboard/{suffix}"


@pytest.fixture
def browser():
    client = Client()
    client.force_login(make_user())
    return client


def rows(page: str) -> list[tuple[str, str]]:
    """(environment, health) of each row of the fleet table, in order."""
    return re.findall(r'<tr data-environment="([^"]+)">.*?data-health="([^"]+)"', page, re.S)


def test_the_fleet_page_lists_every_environment_with_its_badge_worst_first(browser, ready_environment):
    calm = ready_environment()
    troubled = ready_environment()
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=f"spotmusic-{troubled.name}-queue-backlog-high", StateValue="ALARM", StateReason="Backlog"
    )
    new = make_environment()

    response = browser.get(FLEET)

    assert response.status_code == 200
    page = response.content.decode()
    listed = rows(page)
    assert (
        (troubled.name, "degraded") in listed and (calm.name, "healthy") in listed and (new.name, "not_ready") in listed
    )
    order = [name for name, _ in listed]
    assert order.index(troubled.name) < order.index(calm.name) < order.index(new.name)
    assert f"Alarm spotmusic-{troubled.name}-queue-backlog-high is firing" in page
    assert "New (never applied)" in page
    assert f'href="/environments/{calm.name}/dashboard/"' in page
    assert 'data-dashboard-refresh="/fleet/live/"' in page


def test_the_fleet_page_needs_a_login():
    response = Client().get(FLEET)

    assert response.status_code == 302
    assert response.url.startswith(settings.LOGIN_URL)


def test_the_navigation_links_to_the_fleet(browser):
    page = browser.get(FLEET).content.decode()

    assert re.search(r'<a href="/fleet/" class="active">Fleet</a>', page)


def test_the_dashboard_shows_services_alarms_queues_and_charts(browser, ready_environment):
    environment = ready_environment("full")

    response = browser.get(dashboard_url(environment))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-health="healthy"' in page
    for widget in ("widget-services", "widget-alarms", "widget-queues"):
        assert f'id="{widget}"' in page
    assert 'data-service="web-api"' in page and 'data-service="workers"' in page
    assert "Deployment completed" in page
    assert f"(service spotmusic-{environment.name}-web-api) has reached a steady state." in page
    assert f'data-alarm="spotmusic-{environment.name}-dead-letter-queue-not-empty"' in page
    charts = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert [chart["key"] for chart in charts] == [
        "ecs_cpu",
        "ecs_memory",
        "sqs_visible",
        "rds_cpu",
        "rds_connections",
        "cache_cpu",
        "cache_evictions",
        "api_errors",
        "api_latency",
        "cdn_requests",
        "waf_blocked",
    ]
    assert all(not chart["error"] for chart in charts)
    assert "widget-error" not in page


def test_charts_are_drawn_by_chart_js_served_by_launchpad_not_a_cdn(browser, ready_environment):
    page = browser.get(dashboard_url(ready_environment())).content.decode()

    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
    assert f"{settings.STATIC_URL}vendor/chartjs/chart.umd.min.js" in scripts
    for source in scripts:
        assert source.startswith(settings.STATIC_URL), source
        assert finders.find(source.removeprefix(settings.STATIC_URL)), source
    assert "cdn.jsdelivr" not in page and "unpkg" not in page


def test_a_second_view_is_served_from_the_cache_without_calling_aws(browser, ready_environment, aws_calls):
    environment = ready_environment()
    browser.get(dashboard_url(environment))
    first = aws_calls.total
    aws_calls.calls.clear()

    response = browser.get(dashboard_url(environment))

    assert first > 0
    assert aws_calls.total == 0
    assert "(from the cache)" in response.content.decode()


def test_the_refresh_control_reads_aws_again_and_comes_back_to_the_page(browser, ready_environment, aws_calls):
    environment = ready_environment()
    browser.get(dashboard_url(environment))
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=f"spotmusic-{environment.name}-workers-cpu-high", StateValue="ALARM", StateReason="Busy"
    )
    aws_calls.calls.clear()

    response = browser.post(dashboard_url(environment))

    assert response.status_code == 302 and response.url == dashboard_url(environment)
    assert aws_calls.calls["DescribeServices"] == 1 and aws_calls.calls["DescribeAlarms"] == 1
    page = browser.get(response.url).content.decode()
    assert 'data-health="degraded"' in page


def test_the_fleet_refresh_reads_every_environment_again(browser, ready_environment, aws_calls):
    environments = [ready_environment(), ready_environment()]
    browser.get(FLEET)
    aws_calls.calls.clear()

    assert browser.get(FLEET).status_code == 200
    assert aws_calls.total == 0
    response = browser.post(FLEET)

    assert response.status_code == 302 and response.url == FLEET
    assert aws_calls.calls["DescribeServices"] >= len(environments)


def test_the_pages_refresh_themselves_from_their_live_parts(browser, ready_environment):
    environment = ready_environment()

    page = browser.get(dashboard_url(environment, "?window=24h")).content.decode()
    live = browser.get(dashboard_url(environment, "live/?window=24h"))
    fleet_live = browser.get("/fleet/live/")

    assert f'data-dashboard-refresh="/environments/{environment.name}/dashboard/live/?window=24h"' in page
    assert f'data-interval="{settings.LAUNCHPAD_STATUS_TTL}"' in page
    assert live.status_code == 200
    assert live.content.decode().strip().startswith('<div id="dashboard-live"')
    assert fleet_live.status_code == 200 and 'id="fleet-live"' in fleet_live.content.decode()


def test_the_day_window_is_offered_and_an_unknown_one_is_refused(browser, ready_environment):
    environment = ready_environment()

    day = browser.get(dashboard_url(environment, "?window=24h"))
    unknown = browser.get(dashboard_url(environment, "?window=7d"))

    assert day.status_code == 200 and "Last 24h" in day.content.decode()
    assert unknown.status_code == 400
    assert "choose one of 1h, 24h" in unknown.content.decode()


def test_an_unknown_window_is_a_refusal_page_on_the_dashboard_and_its_live_part(browser, ready_environment):
    environment = ready_environment()

    for suffix in ("?window=7d", "live/?window=7d"):
        response = browser.get(dashboard_url(environment, suffix))

        assert response.status_code == 400
        assert response.templates[0].name == "refused.html"
        assert "Unknown window &#x27;7d&#x27;: choose one of 1h, 24h." in response.content.decode()


def test_the_window_is_checked_once_per_request(browser, ready_environment, monkeypatch):
    environment = ready_environment()
    checked = []
    monkeypatch.setattr(dashboards_status, "check_window", lambda name: checked.append(name) or name)

    browser.get(dashboard_url(environment, "?window=24h"))

    assert checked == ["24h"]


def test_a_widget_that_fails_shows_its_error_and_the_rest_of_the_page_renders(browser, ready_environment):
    environment = ready_environment()
    environment.outputs["ecs_cluster_name"] = f"gone-{environment.name}"
    environment.save()

    response = browser.get(dashboard_url(environment))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Could not read the services: ClusterNotFoundException" in page
    assert f'data-alarm="spotmusic-{environment.name}-web-api-cpu-high"' in page
    assert 'data-queue="dead-letter"' in page
    assert 'data-health="degraded"' in page


def test_an_environment_not_applied_yet_shows_its_lifecycle_and_reads_nothing(browser, aws_calls):
    environment = make_environment()
    environment.status = EnvironmentStatus.PROVISIONING
    environment.save()

    page = browser.get(dashboard_url(environment)).content.decode()

    assert aws_calls.total == 0
    assert 'data-health="not_ready"' in page and ">Provisioning</span>" in page
    assert "A run is building it" in page


def test_an_environment_with_demo_data_says_so(browser, ready_environment):
    environment = ready_environment()
    DemoTraffic.objects.create(environment=environment, endpoint=aws.endpoint_url())

    dashboard = browser.get(dashboard_url(environment)).content.decode()
    fleet = browser.get(FLEET).content.decode()

    assert 'id="demo-label"' in dashboard
    assert re.search(rf'{environment.name}</a> <span class="demo-label">demo data</span>', fleet)


def test_an_unknown_environment_is_not_found(browser):
    assert browser.get("/environments/nowhere/dashboard/").status_code == 404

"""GET /api/v1/environments/{name}/status/ and GET /api/v1/status/: the dashboards as JSON, documented in OpenAPI."""

from __future__ import annotations

import pytest
import yaml

from portal.environments.choices import EnvironmentStatus
from provisioning import aws
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db


def status_url(environment) -> str:
    return f"/api/v1/environments/{environment.name}/status/"


@pytest.fixture
def engineer_api():
    return api_client(make_user("engineer"))


def test_an_environment_status_has_its_health_widgets_and_charts(engineer_api, ready_environment):
    environment = ready_environment()

    response = engineer_api.get(status_url(environment))

    assert response.status_code == 200
    body = response.json()
    assert (body["environment"], body["status"], body["blueprint"]) == (environment.name, "ready", "sandbox")
    assert body["health"]["level"] == "healthy"
    assert body["health"]["reason"].startswith("Every task wanted is running")
    assert body["cached"] is False and body["demo"] is False and body["read_at"]
    web_api = body["services"]["services"][0]
    assert (web_api["key"], web_api["desired"], web_api["running"], web_api["rollout_state"]) == (
        "web-api",
        2,
        2,
        "COMPLETED",
    )
    assert web_api["events"][0]["message"].endswith("has reached a steady state.")
    assert body["services"]["error"] == ""
    assert len(body["alarms"]["alarms"]) == 5
    assert [queue["key"] for queue in body["queues"]["queues"]] == ["work", "dead-letter"]
    assert body["window"] == "1h" and body["metrics"]["period_seconds"] == 60
    assert [chart["key"] for chart in body["metrics"]["charts"]] == ["ecs_cpu", "ecs_memory", "sqs_visible"]


def test_a_second_read_comes_from_the_cache_and_refresh_reads_aws_again(engineer_api, ready_environment, aws_calls):
    environment = ready_environment()
    engineer_api.get(status_url(environment))
    aws_calls.calls.clear()

    cached = engineer_api.get(status_url(environment)).json()
    calls_when_cached = aws_calls.total
    fresh = engineer_api.get(status_url(environment) + "?refresh=1").json()

    assert cached["cached"] is True and calls_when_cached == 0
    assert fresh["cached"] is False
    assert aws_calls.calls["DescribeServices"] == 1 and aws_calls.calls["GetMetricData"] == 1


def test_the_day_window_and_an_unknown_window(engineer_api, ready_environment):
    environment = ready_environment()

    day = engineer_api.get(status_url(environment) + "?window=24h")
    unknown = engineer_api.get(status_url(environment) + "?window=7d")

    assert day.status_code == 200 and day.json()["metrics"]["period_seconds"] == 300
    assert unknown.status_code == 400
    assert unknown.json() == {"window": ["Unknown window '7d': choose one of 1h, 24h."]}


def test_an_environment_not_ready_has_its_lifecycle_and_no_widgets(engineer_api):
    environment = make_environment()
    environment.status = EnvironmentStatus.DESTROYED
    environment.save()

    body = engineer_api.get(status_url(environment)).json()

    assert body["health"] == {
        "level": "not_ready",
        "reason": "It has been destroyed: nothing runs.",
        "reasons": ["It has been destroyed: nothing runs."],
    }
    assert body["services"] is None and body["metrics"] is None and body["read_at"] is None


def test_the_fleet_lists_every_environment_worst_first_with_counts(engineer_api, ready_environment):
    calm = ready_environment()
    down = ready_environment()
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=f"spotmusic-{down.name}-web-api-no-running-tasks", StateValue="ALARM", StateReason="No task"
    )
    new = make_environment()

    response = engineer_api.get("/api/v1/status/")

    assert response.status_code == 200
    body = response.json()
    names = [entry["environment"] for entry in body["environments"]]
    assert names.index(down.name) < names.index(calm.name) < names.index(new.name)
    entries = {entry["environment"]: entry for entry in body["environments"]}
    assert entries[down.name]["health"]["level"] == "down"
    assert entries[calm.name]["health"]["level"] == "healthy"
    assert entries[new.name]["health"]["level"] == "not_ready"
    assert entries[calm.name]["dashboard_url"] == f"/environments/{calm.name}/dashboard/"
    assert body["counts"]["down"] >= 1 and body["counts"]["healthy"] >= 1 and body["counts"]["not_ready"] >= 1
    assert sum(body["counts"].values()) == len(body["environments"])


@pytest.mark.parametrize("url", ["/api/v1/status/", "/api/v1/environments/anything/status/"])
def test_the_status_api_needs_a_user(url):
    response = api_client().get(url)

    # 401, not 403: the API asks for a token (WWW-Authenticate) rather than refusing a known user.
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_any_authenticated_user_reads_any_environment_status(ready_environment):
    environment = ready_environment()  # owned by someone else
    approver = api_client(make_user("approver"))

    assert approver.get(status_url(environment)).status_code == 200
    assert approver.get("/api/v1/status/").status_code == 200


def test_an_unknown_environment_is_not_found(engineer_api):
    assert engineer_api.get("/api/v1/environments/nowhere/status/").status_code == 404


def test_the_schema_documents_both_status_endpoints():
    schema = yaml.safe_load(api_client().get("/api/v1/schema/").content)

    fleet = schema["paths"]["/api/v1/status/"]["get"]
    environment = schema["paths"]["/api/v1/environments/{name}/status/"]["get"]
    assert fleet["operationId"] == "fleet_status"
    assert environment["operationId"] == "environment_status"
    assert {parameter["name"] for parameter in environment["parameters"]} == {"name", "window", "refresh"}
    components = schema["components"]["schemas"]
    assert {"EnvironmentStatus", "Fleet", "Health", "Chart", "Service"} <= set(components)

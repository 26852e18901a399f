"""manage.py demo_traffic: made-up traffic written into the emulator, read back by the dashboards' own code."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from portal.dashboards import demo
from portal.dashboards.models import DemoTraffic
from portal.dashboards.status import environment_dashboard
from portal.launcher import demo_traffic_wanted
from provisioning import aws, status
from provisioning.status import Level
from tests.factories import make_environment

pytestmark = pytest.mark.django_db


def test_demo_traffic_refuses_to_run_against_real_aws(monkeypatch, ready_environment):
    environment = ready_environment()
    monkeypatch.delenv("AWS_ENDPOINT_URL")

    with pytest.raises(CommandError, match="runs only against the local emulator"):
        call_command("demo_traffic", "--once")

    assert not DemoTraffic.objects.filter(environment=environment).exists()


def test_one_round_writes_metrics_and_deployments_the_dashboard_then_shows(ready_environment):
    environment = ready_environment()
    out = io.StringIO()

    call_command("demo_traffic", "--environment", environment.name, "--once", stdout=out)

    assert out.getvalue().startswith(f"{environment.name}: ")
    assert DemoTraffic.objects.get(environment=environment).endpoint == aws.endpoint_url()
    dashboard = environment_dashboard(environment, "1h")
    assert dashboard.demo is True
    charts = {chart.key: chart for chart in dashboard.metrics.charts}
    for key in ("ecs_cpu", "ecs_memory", "sqs_visible"):
        assert not charts[key].error
        assert all(len(series.values) >= 55 for series in charts[key].series), key
    web_api = dashboard.summary.services.services[0]
    assert any("has started 2 tasks" in event.message for event in web_api.events)
    day = environment_dashboard(environment, "24h")
    assert len(day.metrics.charts[0].series[0].values) >= 280


def test_the_half_hour_story_sets_off_alarms_dead_letters_and_a_deployment_then_calms_down(ready_environment):
    environment = ready_environment()
    hour = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    targets = status.targets_from_outputs(environment.outputs, environment.region)
    demo.send(environment, now=hour.replace(minute=5))
    deployments_before = status.read_summary(targets).services.services[0].deployments[0].id

    incident = demo.send(environment, now=hour.replace(minute=21))
    during = status.read_summary(targets)
    calm = demo.send(environment, now=hour.replace(minute=28))
    after = status.read_summary(targets)

    assert (incident.phase, incident.alarms_changed, incident.dead_letters, incident.deployments) == (
        "incident",
        3,
        3,
        1,
    )
    assert during.services.services[0].deployments[0].id != deployments_before
    firing = sorted(alarm.name.removeprefix(targets.alarm_prefix) for alarm in during.alarms.firing)
    assert firing == ["dead-letter-queue-not-empty", "queue-backlog-high", "workers-cpu-high"]
    assert all(alarm.reason.startswith("Demo traffic: Threshold Crossed") for alarm in during.alarms.firing)
    assert during.queues.queues[1].visible == 3
    assert status.assess(during).level == Level.DEGRADED
    assert (calm.phase, calm.alarms_changed) == ("calm", 3)
    assert after.alarms.firing == [] and after.queues.queues[1].visible == 0
    assert status.assess(after).level == Level.HEALTHY


def test_an_environment_that_is_not_ready_is_refused_by_name(ready_environment):
    ready = ready_environment()
    never_applied = make_environment(name="never-applied")
    names = ["--environment", ready.name, "--environment", never_applied.name, "--environment", "nowhere"]

    with pytest.raises(CommandError) as refused:
        call_command("demo_traffic", *names, "--once", stdout=io.StringIO())

    assert str(refused.value) == "No ready environment called never-applied, nowhere (it must have been applied)."
    assert not DemoTraffic.objects.exists(), "nothing is sent when one of the names is refused"


def test_make_run_starts_demo_traffic_in_emulator_mode_unless_turned_off():
    emulator = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}

    assert demo_traffic_wanted(emulator) is True
    assert demo_traffic_wanted({**emulator, "LAUNCHPAD_DEMO_TRAFFIC": "off"}) is False
    assert demo_traffic_wanted({}) is False

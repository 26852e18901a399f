"""Reading an environment's health from AWS (the emulator): services, alarms, queues, charts, and the health rules."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest

from provisioning import aws, status
from provisioning.status import (
    AlarmsWidget,
    Deployment,
    Level,
    QueueDepth,
    QueuesWidget,
    ServiceStatus,
    ServicesWidget,
    Summary,
)
from tests.dashboards.resources import build_full, build_sandbox, unique_name


def read(outputs: dict, **options) -> Summary:
    return status.read_summary(status.targets_from_outputs(outputs, aws.default_region(), **options))


# --- what the outputs name -----------------------------------------------------------------------


def test_targets_name_every_resource_the_full_blueprint_outputs():
    outputs = {
        "ecs_cluster_name": "spotmusic-prod",
        "ecs_service_names": {"workers": "spotmusic-prod-workers", "web-api": "spotmusic-prod-web-api"},
        "dashboard_name": "spotmusic-prod",
        "work_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/spotmusic-prod-work",
        "dead_letter_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/spotmusic-prod-work-dlq",
        "database_endpoint": "spotmusic-prod-mysql.c9akciq32.eu-west-1.rds.amazonaws.com:3306",
        "redis_endpoint": "master.spotmusic-prod.abc123.euw1.cache.amazonaws.com",
        "api_invoke_url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/live",
        "waf_web_acl_arn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/spotmusic-prod-web-acl/0f1e2d",
        "cdn_domain_name": "d111111abcdef8.cloudfront.net",
    }

    targets = status.targets_from_outputs(outputs, "eu-west-1")

    assert targets.services == (("web-api", "spotmusic-prod-web-api"), ("workers", "spotmusic-prod-workers"))
    assert targets.alarm_prefix == "spotmusic-prod-"
    assert (targets.work_queue_name, targets.dead_letter_queue_name) == (
        "spotmusic-prod-work",
        "spotmusic-prod-work-dlq",
    )
    assert targets.db_instance_id == "spotmusic-prod-mysql"
    assert targets.replication_group_id == "spotmusic-prod"
    assert (targets.rest_api_id, targets.api_stage) == ("a1b2c3d4e5", "live")
    assert targets.web_acl_name == "spotmusic-prod-web-acl"


def test_an_environment_never_applied_has_nothing_to_read():
    with pytest.raises(status.NothingToRead, match="not been applied"):
        status.targets_from_outputs({}, "eu-west-1")


# --- services, alarms and queues from the emulator ----------------------------------------------------


def test_a_fresh_sandbox_reads_as_healthy_with_both_services_at_their_desired_count(emulator):
    outputs = build_sandbox(unique_name(), web_api_tasks=2, workers_tasks=1)

    summary = read(outputs)

    web_api, workers = summary.services.services
    assert (web_api.key, web_api.desired, web_api.running, web_api.pending) == ("web-api", 2, 2, 0)
    assert (workers.key, workers.desired, workers.running) == ("workers", 1, 1)
    assert web_api.rollout_state == "COMPLETED"
    assert web_api.events[0].message == f"(service {web_api.name}) has reached a steady state."
    assert len(summary.alarms.alarms) == 5
    assert {alarm.state for alarm in summary.alarms.alarms} == {"OK"}
    assert [(queue.key, queue.visible) for queue in summary.queues.queues] == [("work", 0), ("dead-letter", 0)]
    health = status.assess(summary)
    assert health.level == Level.HEALTHY
    assert health.reason == (
        "Every task wanted is running (web-api 2 of 2, workers 1 of 1); no alarm is firing; "
        "the dead-letter queue is empty."
    )


def test_an_alarm_in_alarm_makes_the_environment_degraded_and_says_which(emulator):
    name = unique_name()
    outputs = build_sandbox(name)
    alarm = f"spotmusic-{name}-workers-cpu-high"
    aws.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed")

    summary = read(outputs)

    assert summary.alarms.alarms[0].name == alarm  # firing alarms come first
    health = status.assess(summary)
    assert health.level == Level.DEGRADED
    assert health.reasons == [f"Alarm {alarm} is firing: workers-cpu-high of {name}"]


def test_the_alarm_on_running_tasks_makes_the_environment_down(emulator):
    name = unique_name()
    outputs = build_sandbox(name)
    alarm = f"spotmusic-{name}-web-api-no-running-tasks"
    aws.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="No datapoint")

    health = status.assess(read(outputs))

    assert health.level == Level.DOWN
    assert health.reason.startswith(f"Alarm {alarm} is firing")


def test_messages_in_the_dead_letter_queue_make_the_environment_degraded(emulator):
    outputs = build_sandbox(unique_name())
    sqs = aws.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=outputs["dead_letter_queue_url"], MessageBody="{}")

    summary = read(outputs)

    assert summary.queues.queues[1].visible == 2
    health = status.assess(summary)
    assert health.level == Level.DEGRADED
    assert health.reasons == ["2 messages in the dead-letter queue: jobs failed every retry."]


def test_a_missing_cluster_fails_only_the_services_widget(emulator):
    outputs = build_sandbox(unique_name())
    outputs["ecs_cluster_name"] = f"gone-{unique_name()}"

    summary = read(outputs)

    assert summary.services.error.startswith("ClusterNotFoundException")
    assert summary.services.services == []
    assert len(summary.alarms.alarms) == 5 and not summary.alarms.error
    assert [queue.visible for queue in summary.queues.queues] == [0, 0]
    health = status.assess(summary)
    assert health.level == Level.DEGRADED
    assert health.reason.startswith("Could not read the ECS services: ClusterNotFoundException")


def test_a_queue_that_cannot_be_read_shows_its_error_while_the_other_reads(emulator):
    outputs = build_sandbox(unique_name())
    outputs["dead_letter_queue_url"] = outputs["dead_letter_queue_url"] + "-gone"

    summary = read(outputs)

    work, dead_letter = summary.queues.queues
    assert (work.visible, work.error) == (0, "")
    assert dead_letter.visible is None and "NonExistentQueue" in dead_letter.error
    assert not summary.queues.error
    assert status.assess(summary).reasons == [f"Could not read the dead-letter queue: {dead_letter.error}"]


def test_a_service_deleted_from_its_cluster_makes_the_environment_down(emulator):
    outputs = build_sandbox(unique_name())
    ecs = aws.client("ecs")
    workers = outputs["ecs_service_names"]["workers"]
    ecs.delete_service(cluster=outputs["ecs_cluster_name"], service=workers, force=True)

    health = status.assess(read(outputs))

    assert health.level == Level.DOWN
    assert health.reason == f"The workers service ({workers}) was not found in its cluster."


def test_alarms_of_an_environment_whose_name_extends_this_one_are_left_out(emulator):
    name = unique_name()
    outputs = build_sandbox(name)
    build_sandbox(f"{name}-eu")
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=f"spotmusic-{name}-eu-web-api-cpu-high", StateValue="ALARM", StateReason="Not ours"
    )

    summary = read(outputs, foreign_alarm_prefixes=[f"spotmusic-{name}-eu-"])

    assert len(summary.alarms.alarms) == 5
    assert all(not alarm.name.startswith(f"spotmusic-{name}-eu-") for alarm in summary.alarms.alarms)
    assert status.assess(summary).level == Level.HEALTHY


# --- the health rules, on summaries the emulator cannot produce -----------------------------------------


def summary_with(services=(), alarms=(), queues=(), alarms_error="") -> Summary:
    return Summary(
        read_at=datetime.datetime.now(datetime.UTC),
        services=ServicesWidget(list(services)),
        alarms=AlarmsWidget(list(alarms), alarms_error),
        queues=QueuesWidget(list(queues)),
    )


def service(key="web-api", desired=2, running=2, rollout="COMPLETED", reason="") -> ServiceStatus:
    deployment = Deployment("ecs-svc/1", "PRIMARY", rollout, reason, desired, running, 0, 0, "web:3", None, None)
    return ServiceStatus(key, f"spotmusic-x-{key}", True, "ACTIVE", desired, running, 0, [deployment])


def test_a_service_running_no_task_of_those_it_wants_is_down():
    health = status.assess(summary_with([service(desired=3, running=0, rollout="IN_PROGRESS")]))

    assert health.level == Level.DOWN
    assert health.reasons[0] == "web-api has no running task (3 wanted)."


def test_a_service_short_of_tasks_during_a_deployment_is_degraded():
    health = status.assess(summary_with([service(desired=3, running=2, rollout="IN_PROGRESS")]))

    assert health.level == Level.DEGRADED
    assert health.reasons == [
        "web-api runs 2 of 3 tasks.",
        "A deployment of web-api is in progress (2 of 3 new tasks running).",
    ]


def test_a_failed_deployment_is_degraded_with_ecs_reason():
    reason = "ECS deployment circuit breaker: tasks failed to start."
    health = status.assess(summary_with([service(rollout="FAILED", reason=reason)]))

    assert health.level == Level.DEGRADED
    assert health.reasons == [f"The latest deployment of web-api failed: {reason}"]


def test_a_widget_that_could_not_be_read_makes_the_environment_degraded():
    health = status.assess(summary_with([service()], alarms_error="AccessDenied: no"))

    assert health.level == Level.DEGRADED
    assert health.reasons == ["Could not read the alarms: AccessDenied: no"]


def test_down_reasons_come_before_degraded_ones():
    health = status.assess(
        summary_with(
            [service("web-api", desired=2, running=0), service("workers", desired=2, running=1)],
            queues=[QueueDepth("dead-letter", "dlq", 1, 0, 0)],
        )
    )

    assert health.level == Level.DOWN
    assert health.reasons == [
        "web-api has no running task (2 wanted).",
        "workers runs 1 of 2 tasks.",
        "1 message in the dead-letter queue: jobs failed every retry.",
    ]


def test_an_environment_not_ready_shows_its_lifecycle_in_words():
    health = status.not_ready("provisioning", "Provisioning")

    assert health.level == Level.NOT_READY
    assert health.reason == "A run is building it; its dashboard shows once the run has finished."


# --- charts ------------------------------------------------------------------------------------------


def put_a_point_for_every_series(targets: status.Targets, moment: datetime.datetime, value: float = 7.0) -> int:
    """One datapoint for every series the dashboard reads, put with PutMetricData as AWS services publish them."""
    clients = status.Clients.for_targets(targets)
    with ThreadPoolExecutor(2) as pool:
        specs = status.chart_specs(targets, status.look_up(targets, clients, pool))
    count = 0
    for spec in specs:
        for series in spec.series:
            clients("cloudwatch", spec.region).put_metric_data(
                Namespace=series.namespace,
                MetricData=[
                    {
                        "MetricName": series.metric_name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in series.dimensions],
                        "Timestamp": moment,
                        "Value": value,
                    }
                ],
            )
            count += 1
    return count


def test_every_chart_of_the_full_blueprint_comes_from_one_get_metric_data_per_region(emulator, aws_calls):
    targets = status.targets_from_outputs(build_full(unique_name()), aws.default_region())
    now = datetime.datetime.now(datetime.UTC)
    put_a_point_for_every_series(targets, now - datetime.timedelta(minutes=5))
    aws_calls.calls.clear()

    metrics = status.read_metrics(targets, "1h", now=now)

    assert [chart.key for chart in metrics.charts] == [
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
    for chart in metrics.charts:
        assert not chart.error, chart
        assert chart.series and all(series.values == [7.0] for series in chart.series), chart
    assert [series.label for series in metrics.charts[5].series] == [f"{targets.name}-001", f"{targets.name}-002"]
    # The regional series in one call, CloudFront's (published in us-east-1) in another.
    assert aws_calls.calls["GetMetricData"] == 2
    assert metrics.period_seconds == 60 and metrics.end - metrics.start == datetime.timedelta(hours=1)


def test_the_day_window_reads_five_minute_periods(emulator):
    targets = status.targets_from_outputs(build_sandbox(unique_name()), aws.default_region())
    now = datetime.datetime.now(datetime.UTC)
    period_start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    for seconds_ago, value in ((3 * 3600 - 60, 10.0), (3 * 3600 - 180, 20.0), (1800 - 60, 30.0)):
        put_a_point_for_every_series(targets, period_start - datetime.timedelta(seconds=seconds_ago), value=value)

    metrics = status.read_metrics(targets, "24h", now=now)

    cpu = metrics.charts[0].series[0]
    assert metrics.period_seconds == 300
    assert cpu.values == [15.0, 30.0]  # the first two points fall in one five-minute period: their average
    assert cpu.timestamps[0] < cpu.timestamps[1]


def test_a_chart_whose_names_cannot_be_looked_up_shows_its_error_while_the_others_draw(emulator):
    outputs = build_full(unique_name())
    outputs["redis_endpoint"] = f"master.gone-{unique_name()}.abc.euw1.cache.amazonaws.com"
    targets = status.targets_from_outputs(outputs, aws.default_region())

    metrics = status.read_metrics(targets, "1h")

    charts = {chart.key: chart for chart in metrics.charts}
    assert charts["cache_cpu"].error.startswith("ReplicationGroupNotFoundFault")
    assert charts["cache_evictions"].error == charts["cache_cpu"].error
    assert not any(chart.error for key, chart in charts.items() if not key.startswith("cache_"))


def test_an_unknown_window_is_refused():
    targets = status.targets_from_outputs({"ecs_cluster_name": "c"}, "eu-west-1")

    with pytest.raises(ValueError, match="choose one of 1h, 24h"):
        status.read_metrics(targets, "7d")


def test_read_metrics_refuses_an_unknown_window_with_the_same_check_as_the_dashboards():
    targets = status.targets_from_outputs({"ecs_cluster_name": "c"}, "eu-west-1")

    with pytest.raises(status.UnknownWindow, match=r"^Unknown window '7d': choose one of 1h, 24h\.$"):
        status.read_metrics(targets, "7d")

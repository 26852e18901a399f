"""Demo traffic for the emulator, so that a new user of `make run` sees dashboards that live.

Every half hour tells the same story: twenty calm minutes, then an incident (a deployment of web-api, the
workers' CPU high, a backlog in the work queue, three jobs in the dead-letter queue, their alarms firing),
then calm again. It writes only through the AWS APIs the real services use — PutMetricData, SetAlarmState,
UpdateService (forceNewDeployment: ECS records the deployment in the service's events), SendMessage — and
only into the emulator; the dashboards read it back with the same code that reads real AWS. Each environment
it writes to gets a DemoTraffic row, and its pages say "demo data".
"""

from __future__ import annotations

import datetime
import math
import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.utils import timezone

from portal.dashboards.models import DemoTraffic
from portal.dashboards.status import is_readable
from portal.environments.models import Environment
from provisioning import aws, status
from provisioning.status import SeriesSpec, Targets

CYCLE_MINUTES = 30
INCIDENT_MINUTES = range(20, 27)
DEMO_ATTRIBUTE = "launchpad-demo"
DEAD_LETTERS = 3
# The alarms of the observability module that the incident sets off, by the end of their names.
INCIDENT_ALARMS = ("-workers-cpu-high", "-queue-backlog-high", "-dead-letter-queue-not-empty")
BACKFILL = datetime.timedelta(hours=24)
PUT_BATCH = 1000  # PutMetricData takes at most 1,000 metrics a request


class NotAnEmulator(RuntimeError):
    """Demo traffic writes made-up data: it runs only against the emulator."""


def require_emulator() -> str:
    """The emulator's endpoint, or NotAnEmulator when Launchpad talks to real AWS."""
    endpoint = aws.endpoint_url()
    if not endpoint:
        raise NotAnEmulator(
            "demo_traffic writes made-up metrics, alarm states and deployments: it runs only against the local "
            "emulator. Set AWS_ENDPOINT_URL to the emulator (make run does) and try again."
        )
    return endpoint


def in_incident(moment: datetime.datetime) -> bool:
    return (moment.minute % CYCLE_MINUTES) in INCIDENT_MINUTES


@dataclass
class Sent:
    """What one environment received in one tick."""

    environment: str
    datapoints: int = 0
    alarms_changed: int = 0
    deployments: int = 0
    dead_letters: int = 0
    phase: str = "calm"


def demo_environments(names: list[str] | None = None) -> list[Environment]:
    """The environments to write to: those named, or every environment with resources to read."""
    environments = Environment.objects.all()
    if names:
        environments = environments.filter(name__in=names)
    return [environment for environment in environments if is_readable(environment)]


def send(environment: Environment, now: datetime.datetime | None = None) -> Sent:
    """One tick for one environment: its first tick back-fills a day of metrics and deploys every service."""
    endpoint = require_emulator()
    now = now or timezone.now()
    targets = status.targets_from_outputs(environment.outputs, environment.region)
    clients = status.Clients.for_targets(targets)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="demo") as pool:
        specs = status.chart_specs(targets, status.look_up(targets, clients, pool))
    series = [(spec.region, one) for spec in specs if not spec.error for one in spec.series]
    record, created = DemoTraffic.objects.get_or_create(environment=environment, defaults={"endpoint": endpoint})
    phase = "incident" if in_incident(now) else "calm"
    sent = Sent(environment=environment.name, phase=phase)

    moments = _backfill_moments(now) if created else [now]
    sent.datapoints = _put_metrics(clients, environment.name, series, moments, targets)
    if created:
        sent.deployments = _deploy(clients, targets, [key for key, _ in targets.services])
    if phase != record.phase:
        if phase == "incident":
            sent.deployments += _deploy(clients, targets, ["web-api"])
            sent.dead_letters = _send_dead_letters(clients, targets)
        else:
            _remove_dead_letters(clients, targets)
    sent.alarms_changed = _set_alarms(clients, targets, phase == "incident", now)
    record.phase, record.last_sent_at, record.endpoint = phase, timezone.now(), endpoint
    record.save(update_fields=["phase", "last_sent_at", "endpoint"])
    return sent


def _backfill_moments(now: datetime.datetime) -> list[datetime.datetime]:
    """A day back: one point every 5 minutes, then one a minute for the last hour (what the two windows read)."""
    recent = [now - datetime.timedelta(minutes=minutes) for minutes in range(59, -1, -1)]
    older = []
    moment = now - BACKFILL
    while moment < recent[0]:
        older.append(moment)
        moment += datetime.timedelta(minutes=5)
    return older + recent


def _put_metrics(
    clients: status.Clients,
    environment: str,
    series: list[tuple[str, SeriesSpec]],
    moments: list[datetime.datetime],
    targets: Targets,
) -> int:
    """Put one datum per metric and moment; a metric read with several statistics gets a statistic set."""
    metrics: dict[tuple[str, str, str, tuple], list[SeriesSpec]] = defaultdict(list)
    for region, spec in series:
        metrics[(region, spec.namespace, spec.metric_name, spec.dimensions)].append(spec)
    batches: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for index, moment in enumerate(moments):
        # A point stands for the minutes until the next one: counts (Sum) add those minutes up.
        following = moments[index + 1] if index + 1 < len(moments) else moment + datetime.timedelta(minutes=1)
        minutes = max(1, round((following - moment).total_seconds() / 60))
        for (region, namespace, metric_name, dimensions), specs in metrics.items():
            datum = {
                "MetricName": metric_name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
                "Timestamp": moment,
            }
            values = {spec.stat: demo_value(spec, environment, moment, targets) for spec in specs}
            if len(values) > 1:
                average = values.get("Average", min(values.values()))
                samples = 60 * minutes
                datum["StatisticValues"] = {
                    "SampleCount": samples,
                    "Sum": round(average * samples, 2),
                    "Minimum": round(average * 0.4, 2),
                    "Maximum": round(max(values.get("Maximum", average), average), 2),
                }
            else:
                ((stat, value),) = values.items()
                datum["Value"] = round(value * minutes if stat == "Sum" else value, 2)
            batches[(region, namespace)].append(datum)
    for (region, namespace), data in batches.items():
        cloudwatch = clients("cloudwatch", region)
        for start in range(0, len(data), PUT_BATCH):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + PUT_BATCH])
    return sum(len(data) for data in batches.values())


def demo_value(spec: SeriesSpec, environment: str, moment: datetime.datetime, targets: Targets) -> float:
    """A plausible per-minute value of ``spec`` at ``moment``: a daily rhythm, some noise, and the incident."""
    noise = random.Random(f"{environment}:{spec.metric_name}:{spec.dimensions}:{int(moment.timestamp()) // 60}")
    day = math.sin((moment.hour * 60 + moment.minute) / 1440 * 2 * math.pi - math.pi / 2)  # -1 at midnight, 1 at noon
    busy = (day + 1) / 2  # 0..1
    incident = in_incident(moment)
    dimensions = dict(spec.dimensions)
    workers = dimensions.get("ServiceName", "").endswith("-workers")
    name = spec.metric_name

    if name == "CPUUtilization" and spec.namespace == "AWS/ECS":
        if workers and incident:
            return 86 + noise.uniform(0, 9)
        return (18 if workers else 25) + 30 * busy + noise.uniform(-4, 4)
    if name == "MemoryUtilization":
        return (48 if workers else 55) + 8 * busy + noise.uniform(-2, 2)
    if name == "ApproximateNumberOfMessagesVisible":
        if dimensions.get("QueueName") == targets.dead_letter_queue_name:
            return DEAD_LETTERS if incident else 0
        if incident:
            return 1050 + 60 * (moment.minute % CYCLE_MINUTES - INCIDENT_MINUTES.start) + noise.uniform(0, 40)
        return max(0.0, 40 + 160 * busy + noise.uniform(-25, 25))
    if spec.namespace == "AWS/RDS":
        if name == "CPUUtilization":
            return 12 + 28 * busy + noise.uniform(-3, 3)
        return round(14 + 40 * busy + noise.uniform(-4, 4))
    if spec.namespace == "AWS/ElastiCache":
        if name == "Evictions":
            return float(noise.random() < 0.05) * noise.randint(1, 12)
        return 4 + 9 * busy + noise.uniform(-1, 1)
    if spec.namespace == "AWS/ApiGateway":
        if name == "4XXError":
            return noise.randint(0, 6) + 6 * busy
        if name == "5XXError":
            return noise.randint(2, 9) if incident else float(noise.random() < 0.1)
        base = 38 + 25 * busy + (45 if incident else 0)
        return base + noise.uniform(-5, 5) if spec.stat == "Average" else base * 3.5 + noise.uniform(0, 60)
    if name == "Requests":  # CloudFront
        return 600 + 1800 * busy + noise.uniform(-120, 120)
    if name == "BlockedRequests":
        return noise.randint(0, 5) + 10 * busy
    return noise.uniform(0, 10)


def _deploy(clients: status.Clients, targets: Targets, keys: list[str]) -> int:
    """Force a new deployment of the services ``keys``: ECS records it in the services' events."""
    services = dict(targets.services)
    ecs = clients("ecs")
    for key in keys:
        if key in services:
            ecs.update_service(cluster=targets.cluster, service=services[key], forceNewDeployment=True)
    return sum(1 for key in keys if key in services)


def _send_dead_letters(clients: status.Clients, targets: Targets) -> int:
    if not targets.dead_letter_queue_url:
        return 0
    sqs = clients("sqs")
    for number in range(1, DEAD_LETTERS + 1):
        sqs.send_message(
            QueueUrl=targets.dead_letter_queue_url,
            MessageBody=f'{{"job": "transcode-track", "demo": true, "attempt": {number}}}',
            MessageAttributes={DEMO_ATTRIBUTE: {"DataType": "String", "StringValue": "true"}},
        )
    return DEAD_LETTERS


def _remove_dead_letters(clients: status.Clients, targets: Targets) -> None:
    """Delete the demo's own dead letters; any other message becomes visible again at once."""
    if not targets.dead_letter_queue_url:
        return
    sqs = clients("sqs")
    while True:
        received = sqs.receive_message(
            QueueUrl=targets.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=[DEMO_ATTRIBUTE],
            VisibilityTimeout=0,
        ).get("Messages", [])
        demo = [message for message in received if DEMO_ATTRIBUTE in message.get("MessageAttributes", {})]
        if not demo:
            return
        for message in demo:
            sqs.delete_message(QueueUrl=targets.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])


def _set_alarms(clients: status.Clients, targets: Targets, incident: bool, now: datetime.datetime) -> int:
    """Set the incident's alarms to ALARM during it and back to OK after, as CloudWatch would."""
    cloudwatch = clients("cloudwatch")
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=targets.alarm_prefix)
    changed = 0
    for alarm in (alarm for page in pages for alarm in page.get("MetricAlarms", [])):
        if not alarm["AlarmName"].endswith(INCIDENT_ALARMS):
            continue
        wanted = "ALARM" if incident else "OK"
        if alarm.get("StateValue") == wanted:
            continue
        comparison = "greater than" if incident else "not greater than"
        reason = (
            f"Demo traffic: Threshold Crossed: 1 datapoint ({now:%d/%m/%y %H:%M:%S}) was {comparison} "
            f"the threshold ({alarm.get('Threshold', 0):.1f})."
        )
        cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=wanted, StateReason=reason)
        changed += 1
    return changed

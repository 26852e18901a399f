"""What an environment's AWS resources say about its health: ECS services, alarms, queues and metric charts.

No Django here. The caller gives an environment's Terraform outputs and region (:func:`targets_from_outputs`);
:func:`read_summary` reads the services, alarms and queues, :func:`read_metrics` the charts of one time
window, and :func:`assess` turns a summary into a health verdict with its reasons in words. Every widget is
read on its own and carries its own error, so one failing AWS call never hides the others. Every client
comes from :mod:`provisioning.aws`, so the same code reads the emulator and real AWS.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from provisioning import aws

logger = logging.getLogger(__name__)

# CloudFront publishes its metrics in us-east-1 only, with Region=Global.
CLOUDFRONT_METRICS_REGION = "us-east-1"
# The services every blueprint runs (the ecs module's service_names keys), in the order they are shown.
SERVICE_KEYS = ("web-api", "workers")
EVENTS_SHOWN = 5
# Reads of one environment run side by side; a fleet read shares one pool of this size.
PARALLEL_READS = 8


class Level:
    """Health levels, most severe first; NOT_READY is an environment whose resources are not there to read."""

    DOWN = "down"
    DEGRADED = "degraded"
    HEALTHY = "healthy"
    NOT_READY = "not_ready"


@dataclass(frozen=True)
class Window:
    """A chart time window: how far back, and the period of one datapoint."""

    name: str
    span: datetime.timedelta
    period_seconds: int


WINDOWS = {
    "1h": Window("1h", datetime.timedelta(hours=1), 60),
    "24h": Window("24h", datetime.timedelta(hours=24), 300),
}
DEFAULT_WINDOW = "1h"


class UnknownWindow(ValueError):
    """A chart window that is not one of WINDOWS."""


def check_window(name: str) -> str:
    """``name`` when it is one of WINDOWS; otherwise UnknownWindow, whose sentence names the windows there are."""
    if name not in WINDOWS:
        raise UnknownWindow(f"Unknown window {name!r}: choose one of {', '.join(WINDOWS)}.")
    return name


# --- what to read -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The AWS resources of one environment, named as its Terraform outputs name them."""

    region: str
    name: str  # "<name_prefix>-<environment>": the prefix of every resource and alarm name
    cluster: str
    services: tuple[tuple[str, str], ...]  # (key, full service name)
    work_queue_url: str = ""
    dead_letter_queue_url: str = ""
    db_instance_id: str = ""
    replication_group_id: str = ""
    rest_api_id: str = ""
    api_stage: str = ""
    web_acl_name: str = ""
    cdn_domain_name: str = ""
    # Alarm prefixes of other environments that begin with this one's ("spotmusic-dev-eu-" begins "spotmusic-dev-").
    foreign_alarm_prefixes: tuple[str, ...] = ()

    @property
    def alarm_prefix(self) -> str:
        return f"{self.name}-"

    @property
    def work_queue_name(self) -> str:
        return _queue_name(self.work_queue_url)

    @property
    def dead_letter_queue_name(self) -> str:
        return _queue_name(self.dead_letter_queue_url)


class NothingToRead(ValueError):
    """The outputs name no ECS cluster: the environment has never been applied, or was destroyed."""


def targets_from_outputs(outputs: dict[str, Any], region: str, foreign_alarm_prefixes: Iterable[str] = ()) -> Targets:
    """The resources to read, from an environment's Terraform outputs (those of every blueprint, and the full one's)."""
    cluster = outputs.get("ecs_cluster_name") or ""
    if not cluster:
        raise NothingToRead("The environment has no ECS cluster in its outputs: it has not been applied.")
    services = outputs.get("ecs_service_names") or {}
    ordered = [key for key in SERVICE_KEYS if key in services] + sorted(set(services) - set(SERVICE_KEYS))
    return Targets(
        region=region,
        name=outputs.get("dashboard_name") or cluster,
        cluster=cluster,
        services=tuple((key, services[key]) for key in ordered),
        work_queue_url=outputs.get("work_queue_url") or "",
        dead_letter_queue_url=outputs.get("dead_letter_queue_url") or "",
        # RDS endpoints are "<identifier>.<hash>.<region>.rds.amazonaws.com:<port>".
        db_instance_id=_first_label(outputs.get("database_endpoint")),
        replication_group_id=_replication_group_id(outputs.get("redis_endpoint")),
        rest_api_id=_first_label(urlparse(outputs.get("api_invoke_url") or "").hostname),
        api_stage=(urlparse(outputs.get("api_invoke_url") or "").path.strip("/").split("/") or [""])[0],
        web_acl_name=_web_acl_name(outputs.get("waf_web_acl_arn")),
        cdn_domain_name=outputs.get("cdn_domain_name") or "",
        foreign_alarm_prefixes=tuple(foreign_alarm_prefixes),
    )


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1] if url else ""


def _first_label(host: str | None) -> str:
    return host.split(":")[0].split(".")[0] if host else ""


def _replication_group_id(address: str | None) -> str:
    # "master.<id>.<hash>.<region>.cache.amazonaws.com" with in-transit encryption, "<id>.<hash>.ng.0001..." without.
    if not address:
        return ""
    labels = address.split(".")
    return labels[1] if labels[0] in ("master", "primary", "replica") and len(labels) > 1 else labels[0]


def _web_acl_name(arn: str | None) -> str:
    # arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>
    parts = (arn or "").split("/")
    return parts[-2] if len(parts) >= 4 else ""


# --- what was read ------------------------------------------------------------------------------------


@dataclass
class ServiceEvent:
    created_at: datetime.datetime | None
    message: str


@dataclass
class Deployment:
    id: str
    status: str  # PRIMARY (the one being rolled out or in place) or ACTIVE (an older one draining)
    rollout_state: str  # COMPLETED, IN_PROGRESS or FAILED
    rollout_state_reason: str
    desired: int
    running: int
    pending: int
    failed_tasks: int
    task_definition: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


@dataclass
class ServiceStatus:
    key: str
    name: str
    found: bool
    status: str = ""
    desired: int = 0
    running: int = 0
    pending: int = 0
    deployments: list[Deployment] = field(default_factory=list)
    events: list[ServiceEvent] = field(default_factory=list)

    @property
    def rollout_state(self) -> str:
        """The state of the PRIMARY deployment: COMPLETED, IN_PROGRESS, FAILED, or "" when there is none."""
        primary = next((d for d in self.deployments if d.status == "PRIMARY"), None)
        return primary.rollout_state if primary else ""


@dataclass
class Alarm:
    name: str
    state: str  # OK, ALARM or INSUFFICIENT_DATA
    reason: str
    updated_at: datetime.datetime | None
    description: str
    namespace: str
    metric_name: str


@dataclass
class QueueDepth:
    key: str  # "work" or "dead-letter"
    name: str
    visible: int | None
    in_flight: int | None
    delayed: int | None
    error: str = ""


@dataclass
class ServicesWidget:
    services: list[ServiceStatus] = field(default_factory=list)
    error: str = ""


@dataclass
class AlarmsWidget:
    alarms: list[Alarm] = field(default_factory=list)
    error: str = ""

    @property
    def firing(self) -> list[Alarm]:
        return [alarm for alarm in self.alarms if alarm.state == "ALARM"]


@dataclass
class QueuesWidget:
    queues: list[QueueDepth] = field(default_factory=list)
    error: str = ""


@dataclass
class Summary:
    """What says whether the environment is healthy: its services, its alarms and its queues."""

    read_at: datetime.datetime
    services: ServicesWidget
    alarms: AlarmsWidget
    queues: QueuesWidget


@dataclass
class Series:
    label: str
    timestamps: list[datetime.datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class Chart:
    key: str
    title: str
    unit: str
    series: list[Series] = field(default_factory=list)
    error: str = ""


@dataclass
class Metrics:
    """The charts of one time window."""

    window: str
    period_seconds: int
    start: datetime.datetime
    end: datetime.datetime
    read_at: datetime.datetime
    charts: list[Chart] = field(default_factory=list)


@dataclass
class Health:
    level: str
    reasons: list[str]

    @property
    def reason(self) -> str:
        """The most important reason, for a badge's one line."""
        return self.reasons[0] if self.reasons else ""


# --- clients ------------------------------------------------------------------------------------------


# The clients a summary (services, alarms, queues) needs.
SUMMARY_SERVICES = ("ecs", "cloudwatch", "sqs")


class Clients:
    """The boto3 clients of a read, made up front from the one factory.

    boto3 sessions are not thread-safe but clients are: make every client here, in the calling thread,
    then share them with the threads that read.
    """

    SERVICES = ("ecs", "cloudwatch", "sqs", "elasticache", "apigateway", "cloudfront")

    def __init__(self, region: str, services: Iterable[str] = SERVICES) -> None:
        self.region = region
        self._clients: dict[tuple[str, str], BaseClient] = {}
        for service in services:
            self._clients[(service, region)] = aws.client(service, region)
        if "cloudfront" in services and region != CLOUDFRONT_METRICS_REGION:
            self._clients[("cloudwatch", CLOUDFRONT_METRICS_REGION)] = aws.client(
                "cloudwatch", CLOUDFRONT_METRICS_REGION
            )

    @classmethod
    def for_targets(cls, targets: Targets) -> Clients:
        """The clients a whole read of ``targets`` needs (no CloudFront client for an environment without a CDN)."""
        optional = {
            "elasticache": targets.replication_group_id,
            "apigateway": targets.rest_api_id,
            "cloudfront": targets.cdn_domain_name,
        }
        return cls(targets.region, [*SUMMARY_SERVICES, *(service for service, needed in optional.items() if needed)])

    def __call__(self, service: str, region: str | None = None) -> BaseClient:
        return self._clients[(service, region or self.region)]


def error_text(error: Exception) -> str:
    """An AWS error as one sentence for a widget: the error code and AWS's message."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code") or "Error", details.get("Message") or str(error)
        return f"{code}: {message}"
    return str(error) or type(error).__name__


def _guarded(what: str, read: Callable[[], Any]) -> tuple[Any, str]:
    """``read()`` and "" — or None and the error in words, when AWS (or reaching it) fails."""
    try:
        return read(), ""
    except (BotoCoreError, ClientError) as error:
        logger.warning("Could not read %s: %s", what, error)
        return None, error_text(error)


# --- the summary: services, alarms, queues --------------------------------------------------------------


def read_summary(targets: Targets, clients: Clients | None = None) -> Summary:
    """Read the ECS services, the alarms and the queue depths of one environment, each widget on its own."""
    clients = clients or Clients(targets.region, SUMMARY_SERVICES)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="status") as pool:
        return start_summary(targets, clients, pool)()


def start_summary(targets: Targets, clients: Clients, pool: ThreadPoolExecutor) -> Callable[[], Summary]:
    """Submit the reads of one summary to ``pool`` and return what collects them (a fleet starts many at once)."""
    services = pool.submit(read_services, targets, clients("ecs"))
    alarms = pool.submit(read_alarms, targets, clients("cloudwatch"))
    queues = [
        pool.submit(read_queue, key, url, clients("sqs"))
        for key, url in (("work", targets.work_queue_url), ("dead-letter", targets.dead_letter_queue_url))
        if url
    ]

    def collect() -> Summary:
        depths = [future.result() for future in queues]
        failed = [depth for depth in depths if depth.error]
        every_queue_failed = bool(depths) and len(failed) == len(depths)
        return Summary(
            read_at=_now(),
            services=services.result(),
            alarms=alarms.result(),
            queues=QueuesWidget(
                queues=depths,
                error="; ".join(f"{depth.key} queue: {depth.error}" for depth in failed) if every_queue_failed else "",
            ),
        )

    return collect


def read_services(targets: Targets, ecs: BaseClient) -> ServicesWidget:
    """DescribeServices of the environment's services: counts, deployments and the latest events."""
    if not targets.services:
        return ServicesWidget()
    names = [name for _, name in targets.services]
    answer, error = _guarded("ECS services", lambda: ecs.describe_services(cluster=targets.cluster, services=names))
    if error:
        return ServicesWidget(error=error)
    by_name = {service["serviceName"]: service for service in answer.get("services", [])}
    return ServicesWidget(services=[_service(key, name, by_name.get(name)) for key, name in targets.services])


def _service(key: str, name: str, described: dict | None) -> ServiceStatus:
    if described is None or described.get("status") == "INACTIVE":
        return ServiceStatus(key=key, name=name, found=False, status=(described or {}).get("status", "MISSING"))
    return ServiceStatus(
        key=key,
        name=name,
        found=True,
        status=described.get("status", ""),
        desired=described.get("desiredCount", 0),
        running=described.get("runningCount", 0),
        pending=described.get("pendingCount", 0),
        deployments=[
            Deployment(
                id=deployment.get("id", ""),
                status=deployment.get("status", ""),
                rollout_state=deployment.get("rolloutState", ""),
                rollout_state_reason=deployment.get("rolloutStateReason", ""),
                desired=deployment.get("desiredCount", 0),
                running=deployment.get("runningCount", 0),
                pending=deployment.get("pendingCount", 0),
                failed_tasks=deployment.get("failedTasks", 0),
                task_definition=deployment.get("taskDefinition", "").rsplit("/", 1)[-1],
                created_at=deployment.get("createdAt"),
                updated_at=deployment.get("updatedAt"),
            )
            for deployment in described.get("deployments", [])
        ],
        events=[
            ServiceEvent(created_at=event.get("createdAt"), message=event.get("message", ""))
            for event in described.get("events", [])[:EVENTS_SHOWN]
        ],
    )


_STATE_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def read_alarms(targets: Targets, cloudwatch: BaseClient) -> AlarmsWidget:
    """The environment's metric alarms (named "<name_prefix>-<environment>-…"), firing ones first."""

    def describe() -> list[dict]:
        pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=targets.alarm_prefix)
        return [alarm for page in pages for alarm in page.get("MetricAlarms", [])]

    described, error = _guarded("CloudWatch alarms", describe)
    if error:
        return AlarmsWidget(error=error)
    alarms = [
        Alarm(
            name=alarm["AlarmName"],
            state=alarm.get("StateValue", ""),
            reason=alarm.get("StateReason", ""),
            updated_at=alarm.get("StateUpdatedTimestamp"),
            description=alarm.get("AlarmDescription", ""),
            namespace=alarm.get("Namespace", ""),
            metric_name=alarm.get("MetricName", ""),
        )
        for alarm in described
        if not alarm["AlarmName"].startswith(targets.foreign_alarm_prefixes)
    ]
    alarms.sort(key=lambda alarm: (_STATE_ORDER.get(alarm.state, 3), alarm.name))
    return AlarmsWidget(alarms=alarms)


_QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def read_queue(key: str, url: str, sqs: BaseClient) -> QueueDepth:
    """The approximate depth of one SQS queue now (visible, in flight, delayed)."""
    answer, error = _guarded(
        f"SQS queue {url}", lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_QUEUE_ATTRIBUTES))
    )
    name = _queue_name(url)
    if error:
        return QueueDepth(key=key, name=name, visible=None, in_flight=None, delayed=None, error=error)
    attributes = answer.get("Attributes", {})
    visible, in_flight, delayed = (int(attributes.get(attribute, 0)) for attribute in _QUEUE_ATTRIBUTES)
    return QueueDepth(key=key, name=name, visible=visible, in_flight=in_flight, delayed=delayed)


# --- health ---------------------------------------------------------------------------------------------


def assess(summary: Summary) -> Health:
    """Whether the environment is healthy, degraded or down, and why, in words. The health rules live here.

    Down: a service runs no task of the ones it wants, a service is missing, or an alarm on running tasks fires.
    Degraded: fewer tasks than wanted, a deployment in progress or failed, any other alarm firing, messages in
    the dead-letter queue, or a widget that could not be read. Healthy otherwise.
    """
    down: list[str] = []
    degraded: list[str] = []

    if summary.services.error:
        degraded.append(f"Could not read the ECS services: {summary.services.error}")
    for service in summary.services.services:
        if not service.found:
            down.append(f"The {service.key} service ({service.name}) was not found in its cluster.")
            continue
        if service.desired > 0 and service.running == 0:
            down.append(f"{service.key} has no running task ({service.desired} wanted).")
        elif service.running < service.desired:
            degraded.append(f"{service.key} runs {service.running} of {service.desired} tasks.")
        primary = next((d for d in service.deployments if d.status == "PRIMARY"), None)
        if primary is not None and primary.rollout_state == "FAILED":
            reason = f": {primary.rollout_state_reason}" if primary.rollout_state_reason else "."
            degraded.append(f"The latest deployment of {service.key} failed{reason}")
        elif primary is not None and primary.rollout_state == "IN_PROGRESS":
            degraded.append(
                f"A deployment of {service.key} is in progress ({primary.running} of {primary.desired} new tasks running)."
            )

    if summary.alarms.error:
        degraded.append(f"Could not read the alarms: {summary.alarms.error}")
    for alarm in summary.alarms.firing:
        words = f"Alarm {alarm.name} is firing" + (f": {alarm.description}" if alarm.description else ".")
        (down if alarm.metric_name == "RunningTaskCount" else degraded).append(words)

    if summary.queues.error:
        degraded.append(f"Could not read the queues: {summary.queues.error}")
    for queue in summary.queues.queues:
        if queue.error and not summary.queues.error:
            degraded.append(f"Could not read the {queue.key} queue: {queue.error}")
        elif queue.key == "dead-letter" and queue.visible:
            plural = "message" if queue.visible == 1 else "messages"
            degraded.append(f"{queue.visible} {plural} in the dead-letter queue: jobs failed every retry.")

    if down:
        return Health(Level.DOWN, down + degraded)
    if degraded:
        return Health(Level.DEGRADED, degraded)
    return Health(Level.HEALTHY, [_healthy_words(summary)])


def _healthy_words(summary: Summary) -> str:
    counts = ", ".join(f"{service.key} {service.running} of {service.desired}" for service in summary.services.services)
    words = f"Every task wanted is running ({counts})" if counts else "No ECS service to watch"
    words += "; no alarm is firing"
    if any(queue.key == "dead-letter" for queue in summary.queues.queues):
        words += "; the dead-letter queue is empty"
    return words + "."


def not_ready(status: str, label: str) -> Health:
    """The health of an environment whose resources are not there to read: its lifecycle status instead."""
    words = {
        "new": "It has never been applied: nothing runs yet.",
        "provisioning": "A run is building it; its dashboard shows once the run has finished.",
        "destroying": "A run is destroying it.",
        "destroyed": "It has been destroyed: nothing runs.",
        "failed": "Its last run failed before anything was built.",
    }
    return Health(Level.NOT_READY, [words.get(status, f"It is {label.lower()}.")])


# --- metrics --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSpec:
    label: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str


@dataclass
class ChartSpec:
    key: str
    title: str
    unit: str
    region: str
    series: list[SeriesSpec] = field(default_factory=list)
    error: str = ""


@dataclass
class Lookups:
    """Names the metrics need that the outputs do not carry, each looked up on its own."""

    cache_cluster_ids: list[str] = field(default_factory=list)
    cache_error: str = ""
    api_name: str = ""
    api_error: str = ""
    distribution_id: str = ""
    distribution_error: str = ""


def look_up(targets: Targets, clients: Clients, pool: ThreadPoolExecutor) -> Lookups:
    """The ElastiCache member clusters, the REST API's name and the CloudFront distribution id, side by side."""
    found = Lookups()
    cache = api = cdn = None
    if targets.replication_group_id:
        cache = pool.submit(
            _guarded,
            "ElastiCache replication group",
            lambda: _cache_members(clients("elasticache"), targets.replication_group_id),
        )
    if targets.rest_api_id:
        api = pool.submit(
            _guarded,
            "API Gateway REST API",
            lambda: clients("apigateway").get_rest_api(restApiId=targets.rest_api_id)["name"],
        )
    if targets.cdn_domain_name:
        cdn = pool.submit(
            _guarded,
            "CloudFront distributions",
            lambda: _distribution_id(clients("cloudfront"), targets.cdn_domain_name),
        )
    if cache is not None:
        members, found.cache_error = cache.result()
        found.cache_cluster_ids = members or []
    if api is not None:
        name, found.api_error = api.result()
        found.api_name = name or ""
    if cdn is not None:
        distribution_id, found.distribution_error = cdn.result()
        found.distribution_id = distribution_id or ""
        if not found.distribution_error and not distribution_id:
            found.distribution_error = f"No CloudFront distribution has the domain name {targets.cdn_domain_name}."
    return found


def _cache_members(elasticache: BaseClient, replication_group_id: str) -> list[str]:
    groups = elasticache.describe_replication_groups(ReplicationGroupId=replication_group_id)["ReplicationGroups"]
    return sorted(groups[0].get("MemberClusters", [])) if groups else []


def _distribution_id(cloudfront: BaseClient, domain_name: str) -> str:
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for distribution in (page.get("DistributionList") or {}).get("Items") or []:
            if distribution.get("DomainName") == domain_name:
                return distribution["Id"]
    return ""


def chart_specs(targets: Targets, lookups: Lookups) -> list[ChartSpec]:
    """The charts of an environment and the CloudWatch series of each (namespaces and dimensions as AWS publishes them)."""
    region = targets.region

    def series(label: str, namespace: str, metric: str, stat: str, **dimensions: str) -> SeriesSpec:
        return SeriesSpec(label, namespace, metric, tuple(dimensions.items()), stat)

    services = [(key, {"ClusterName": targets.cluster, "ServiceName": name}) for key, name in targets.services]
    queues = [("work queue", targets.work_queue_name), ("dead-letter queue", targets.dead_letter_queue_name)]
    charts = [
        ChartSpec(
            "ecs_cpu",
            "ECS CPU utilisation",
            "%",
            region,
            [series(key, "AWS/ECS", "CPUUtilization", "Average", **dims) for key, dims in services],
        ),
        ChartSpec(
            "ecs_memory",
            "ECS memory utilisation",
            "%",
            region,
            [series(key, "AWS/ECS", "MemoryUtilization", "Average", **dims) for key, dims in services],
        ),
        ChartSpec(
            "sqs_visible",
            "SQS messages visible",
            "messages",
            region,
            [
                series(label, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", QueueName=name)
                for label, name in queues
                if name
            ],
        ),
    ]
    if targets.db_instance_id:
        db = {"DBInstanceIdentifier": targets.db_instance_id}
        charts.append(
            ChartSpec(
                "rds_cpu",
                "RDS CPU utilisation",
                "%",
                region,
                [series("CPU", "AWS/RDS", "CPUUtilization", "Average", **db)],
            )
        )
        charts.append(
            ChartSpec(
                "rds_connections",
                "RDS connections",
                "connections",
                region,
                [series("connections", "AWS/RDS", "DatabaseConnections", "Average", **db)],
            )
        )
    if targets.replication_group_id:
        members = lookups.cache_cluster_ids
        for key, title, unit, metric, stat in (
            ("cache_cpu", "ElastiCache CPU utilisation", "%", "CPUUtilization", "Average"),
            ("cache_evictions", "ElastiCache evictions", "keys", "Evictions", "Sum"),
        ):
            specs = [series(member, "AWS/ElastiCache", metric, stat, CacheClusterId=member) for member in members]
            charts.append(ChartSpec(key, title, unit, region, specs, lookups.cache_error))
    if targets.rest_api_id:
        api = {"ApiName": lookups.api_name, **({"Stage": targets.api_stage} if targets.api_stage else {})}
        errors = [
            series("4xx", "AWS/ApiGateway", "4XXError", "Sum", **api),
            series("5xx", "AWS/ApiGateway", "5XXError", "Sum", **api),
        ]
        latency = [
            series("average", "AWS/ApiGateway", "Latency", "Average", **api),
            series("maximum", "AWS/ApiGateway", "Latency", "Maximum", **api),
        ]
        found = bool(lookups.api_name)
        charts.append(
            ChartSpec(
                "api_errors", "API Gateway errors", "requests", region, errors if found else [], lookups.api_error
            )
        )
        charts.append(
            ChartSpec("api_latency", "API Gateway latency", "ms", region, latency if found else [], lookups.api_error)
        )
    if targets.cdn_domain_name:
        requests = [
            series(
                "requests", "AWS/CloudFront", "Requests", "Sum", DistributionId=lookups.distribution_id, Region="Global"
            )
        ]
        charts.append(
            ChartSpec(
                "cdn_requests",
                "CloudFront requests",
                "requests",
                CLOUDFRONT_METRICS_REGION,
                requests if lookups.distribution_id else [],
                lookups.distribution_error,
            )
        )
    if targets.web_acl_name:
        blocked = [
            series(
                "blocked", "AWS/WAFV2", "BlockedRequests", "Sum", WebACL=targets.web_acl_name, Region=region, Rule="ALL"
            )
        ]
        charts.append(ChartSpec("waf_blocked", "WAF blocked requests", "requests", region, blocked))
    return charts


def read_metrics(
    targets: Targets,
    window: str = DEFAULT_WINDOW,
    clients: Clients | None = None,
    now: datetime.datetime | None = None,
) -> Metrics:
    """Every chart of one window: the lookups, then one GetMetricData per region for all the series at once."""
    check_window(window)
    clients = clients or Clients.for_targets(targets)
    span = WINDOWS[window]
    end = _floor(now or _now(), span.period_seconds)
    start = end - span.span
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="metrics") as pool:
        specs = chart_specs(targets, look_up(targets, clients, pool))
        readable = [spec for spec in specs if spec.series and not spec.error]
        answers = {
            region: pool.submit(
                _metric_data,
                clients("cloudwatch", region),
                [s for s in readable if s.region == region],
                span,
                start,
                end,
            )
            for region in sorted({spec.region for spec in readable})
        }
        results = {region: future.result() for region, future in answers.items()}
    charts = []
    for spec in specs:
        chart = Chart(key=spec.key, title=spec.title, unit=spec.unit, error=spec.error)
        if spec in readable:
            points, chart.error = results[spec.region]
            for index, series in enumerate(spec.series):
                timestamps, values = points.get((spec.key, index), ([], []))
                chart.series.append(Series(label=series.label, timestamps=timestamps, values=values))
        charts.append(chart)
    return Metrics(
        window=window, period_seconds=span.period_seconds, start=start, end=end, read_at=_now(), charts=charts
    )


def _metric_data(
    cloudwatch: BaseClient, specs: list[ChartSpec], window: Window, start: datetime.datetime, end: datetime.datetime
) -> tuple[dict[tuple[str, int], tuple[list[datetime.datetime], list[float]]], str]:
    """One GetMetricData (all its pages) for every series of ``specs``: points by (chart key, index), or the error."""
    ids: dict[str, tuple[str, int]] = {}
    queries = []
    for spec in specs:
        for index, series in enumerate(spec.series):
            query_id = f"m{len(ids)}"
            ids[query_id] = (spec.key, index)
            queries.append(
                {
                    "Id": query_id,
                    "Label": series.label,
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": series.namespace,
                            "MetricName": series.metric_name,
                            "Dimensions": [{"Name": name, "Value": value} for name, value in series.dimensions],
                        },
                        "Period": window.period_seconds,
                        "Stat": series.stat,
                    },
                }
            )

    def fetch() -> dict[tuple[str, int], tuple[list[datetime.datetime], list[float]]]:
        points: dict[str, list[tuple[datetime.datetime, float]]] = {query_id: [] for query_id in ids}
        request = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
        while True:
            page = cloudwatch.get_metric_data(**request)
            for result in page.get("MetricDataResults", []):
                points[result["Id"]] += zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        found = {}
        for query_id, pairs in points.items():
            pairs.sort(key=lambda pair: pair[0])
            found[ids[query_id]] = ([time for time, _ in pairs], [float(value) for _, value in pairs])
        return found

    found, error = _guarded("CloudWatch metric data", fetch)
    return found or {}, error


def _floor(moment: datetime.datetime, seconds: int) -> datetime.datetime:
    epoch = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=datetime.UTC)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

"""Environments' status for the dashboards: read by provisioning.status, kept briefly in the Django cache.

A summary (ECS services, alarms, queues: what the health badge needs) and the charts of each time window are
cached apart, for ``LAUNCHPAD_STATUS_TTL`` seconds. The key is made from what is read (region, names), so an
environment applied again with other outputs is read afresh. ``refresh=True`` reads AWS whatever the cache holds.
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from portal.audit.models import Finding, open_high_findings
from portal.dashboards.models import DemoTraffic
from portal.environments.choices import EnvironmentStatus
from portal.environments.models import Environment
from portal.filtersets import boolean_parameter
from portal.refusals import Refused
from provisioning import aws, status
from provisioning.status import (
    DEFAULT_WINDOW,
    Health,
    Level,
    Metrics,
    Summary,
    Targets,
    UnknownWindow,
    check_window,
)

# Statuses whose resources may be read: ready, or failed after an earlier apply left its outputs.
READABLE_STATUSES = (EnvironmentStatus.READY, EnvironmentStatus.DRIFTED, EnvironmentStatus.FAILED)
# Worst first, for the fleet page and its counts.
LEVEL_ORDER = {Level.DOWN: 0, Level.DEGRADED: 1, Level.HEALTHY: 2, Level.NOT_READY: 3}


class WindowRefused(Refused):
    """A chart window that is not one of provisioning.status.WINDOWS: a 400 about the ``window`` parameter."""

    status_code = 400
    field = "window"


def chosen_window(name: str) -> str:
    """``name`` when it is a chart window; otherwise WindowRefused with the sentence naming the windows there are."""
    try:
        return check_window(name)
    except UnknownWindow as error:
        raise WindowRefused(str(error)) from error


@dataclass
class Dashboard:
    """One environment's dashboard: its health and the widgets it was judged on, and the charts of a window."""

    environment: Environment
    health: Health
    summary: Summary | None
    metrics: Metrics | None
    window: str
    demo: bool
    cached: bool
    # The environment's open high-severity findings (portal.audit), also among the health's reasons.
    findings: list[Finding] = field(default_factory=list)

    @property
    def read_at(self) -> datetime.datetime | None:
        return self.summary.read_at if self.summary else None


@dataclass
class FleetEntry:
    """One environment's line on the fleet page."""

    environment: Environment
    health: Health
    read_at: datetime.datetime | None
    demo: bool
    cached: bool


def ttl() -> int:
    return settings.LAUNCHPAD_STATUS_TTL


def is_readable(environment: Environment) -> bool:
    """True when the environment has resources to read (ready, or failed with the outputs of an earlier apply)."""
    return environment.status in READABLE_STATUSES and bool(environment.outputs.get("ecs_cluster_name"))


def health_when_not_readable(environment: Environment) -> Health:
    return status.not_ready(environment.status, environment.get_status_display())


def demo_traffic():
    """The demo traffic whose made-up data is still there to label: only while Launchpad talks to an emulator, and
    not a destroyed environment's (its data went with its resources). The fleet and a dashboard both ask this."""
    if not aws.endpoint_url():
        return DemoTraffic.objects.none()
    return DemoTraffic.objects.exclude(environment__status=EnvironmentStatus.DESTROYED)


def demo_environment_ids() -> set[int]:
    """The environments labelled demo data (demo_traffic)."""
    return set(demo_traffic().values_list("environment_id", flat=True))


class AlarmPrefixes:
    """The alarm name prefixes of environments, to tell "dev-" alarms from those of "dev-eu" (also "dev-…")."""

    def __init__(self, environments) -> None:
        self._sorted = sorted(
            (environment.name, f"{environment.outputs['dashboard_name']}-")
            for environment in environments
            if environment.outputs.get("dashboard_name")
        )
        self._names = [name for name, _ in self._sorted]

    def extending(self, name: str) -> list[str]:
        """The prefixes of the environments whose names extend ``name`` ("<name>-…"); they sort right after it."""
        extended = f"{name}-"
        start = bisect.bisect_left(self._names, extended)
        found = itertools.takewhile(lambda pair: pair[0].startswith(extended), self._sorted[start:])
        return sorted(prefix for _, prefix in found)


def asks_for_destroyed(params) -> bool:
    """``?include_destroyed=true`` on the fleet page or its API: destroyed environments are shown too. Read like
    the environment list's filter of the same name (a 400 naming it for a value that is not a yes or a no)."""
    return boolean_parameter(params, "include_destroyed")


def fleet_environments(include_destroyed: bool = False):
    """Every environment (destroyed ones only when asked for), with only the fields the fleet shows and reads
    (the blueprint's variables are large)."""
    environments = Environment.objects.all() if include_destroyed else Environment.objects.not_destroyed()
    return environments.select_related("blueprint").only(
        "name", "status", "tier", "region", "outputs", "blueprint__name"
    )


def targets_for(environment: Environment, prefixes: AlarmPrefixes | None = None) -> Targets:
    """What to read for ``environment``, leaving out the alarms of environments whose names extend its name."""
    if prefixes is None:
        longer = Environment.objects.filter(name__startswith=f"{environment.name}-").only("name", "outputs")
        prefixes = AlarmPrefixes(longer)
    return status.targets_from_outputs(environment.outputs, environment.region, prefixes.extending(environment.name))


def _key(kind: str, targets: Targets) -> str:
    # Targets is frozen and made of strings and tuples: its repr says exactly what is read.
    return f"launchpad:status:{kind}:{hashlib.sha256(repr(targets).encode()).hexdigest()[:24]}"


def summary_key(targets: Targets) -> str:
    return _key("summary", targets)


def badge_key(targets: Targets) -> str:
    """The health judged from a summary, cached beside it: the fleet page needs only that."""
    return _key("badge", targets)


def metrics_key(targets: Targets, window: str) -> str:
    return _key(f"metrics-{window}", targets)


def _cache_summaries(summaries: dict[Targets, Summary]) -> None:
    entries = {}
    for targets, summary in summaries.items():
        entries[summary_key(targets)] = summary
        entries[badge_key(targets)] = (status.assess(summary), summary.read_at)
    cache.set_many(entries, ttl())


# How many findings a health reason names before "and N more".
NAMED_FINDINGS = 3


def with_findings(health: Health, findings: list[Finding]) -> Health:
    """``health`` with the environment's open high-severity findings among its reasons (after the reasons it is
    down, before any other): a hole in its security makes a healthy environment degraded."""
    if not findings:
        return health
    named = ", ".join(f"{finding.rule_id} on {finding.resource_id}" for finding in findings[:NAMED_FINDINGS])
    more = f" and {len(findings) - NAMED_FINDINGS} more" if len(findings) > NAMED_FINDINGS else ""
    plural = "finding is" if len(findings) == 1 else "findings are"
    words = f"{len(findings)} high-severity security {plural} open: {named}{more}."
    if health.level == Level.DOWN:
        return Health(health.level, [*health.reasons, words])
    level = Level.DEGRADED if health.level == Level.HEALTHY else health.level
    return Health(level, [words, *health.reasons])


def environment_dashboard(environment: Environment, window: str = DEFAULT_WINDOW, refresh: bool = False) -> Dashboard:
    """The dashboard of one environment, from the cache when fresh enough (or from AWS with ``refresh``).

    The one check of ``window`` for the pages and the API: WindowRefused when it is not a chart window."""
    chosen_window(window)
    demo = demo_traffic().filter(environment=environment).exists()
    findings = list(open_high_findings(environment))
    if not is_readable(environment):
        health = with_findings(health_when_not_readable(environment), findings)
        return Dashboard(environment, health, None, None, window, demo, cached=False, findings=findings)
    targets = targets_for(environment)
    keys = {"summary": summary_key(targets), "metrics": metrics_key(targets, window)}
    found = {} if refresh else cache.get_many(list(keys.values()))
    summary, metrics = found.get(keys["summary"]), found.get(keys["metrics"])
    cached = summary is not None and metrics is not None
    if not cached:
        if metrics is None:
            clients = status.Clients.for_targets(targets)
        else:
            clients = status.Clients(targets.region, status.SUMMARY_SERVICES)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dashboard") as pool:
            pending_summary = pool.submit(status.read_summary, targets, clients) if summary is None else None
            pending_metrics = pool.submit(status.read_metrics, targets, window, clients) if metrics is None else None
            if pending_summary is not None:
                summary = pending_summary.result()
                _cache_summaries({targets: summary})
            if pending_metrics is not None:
                metrics = pending_metrics.result()
                cache.set(keys["metrics"], metrics, ttl())
    health = with_findings(status.assess(summary), findings)
    return Dashboard(environment, health, summary, metrics, window, demo, cached, findings=findings)


def fleet(environments=None, refresh: bool = False, include_destroyed: bool = False) -> list[FleetEntry]:
    """Every environment's health (destroyed ones only when asked for), worst first: cached badges, the missing ones
    read from AWS side by side."""
    environments = list(environments if environments is not None else fleet_environments(include_destroyed))
    prefixes = AlarmPrefixes(environments)
    demo = demo_environment_ids()
    readable = {
        environment.pk: targets_for(environment, prefixes) for environment in environments if is_readable(environment)
    }
    keys = {pk: badge_key(targets) for pk, targets in readable.items()}
    found = {} if refresh else cache.get_many(list(keys.values()))
    missing = {pk for pk, key in keys.items() if key not in found}
    if missing:
        summaries = _read_summaries([readable[pk] for pk in missing])
        _cache_summaries(summaries)
        for targets, summary in summaries.items():
            found[badge_key(targets)] = (status.assess(summary), summary.read_at)
    findings: dict[int, list[Finding]] = {}
    for finding in open_high_findings(environments):
        findings.setdefault(finding.environment_id, []).append(finding)
    entries = []
    for environment in environments:
        key, is_demo = keys.get(environment.pk), environment.pk in demo
        found_here = findings.get(environment.pk, [])
        if key is None:
            health = with_findings(health_when_not_readable(environment), found_here)
            entries.append(FleetEntry(environment, health, None, is_demo, False))
        else:
            health, read_at = found[key]
            health = with_findings(health, found_here)
            entries.append(FleetEntry(environment, health, read_at, is_demo, environment.pk not in missing))
    entries.sort(
        key=lambda entry: (
            LEVEL_ORDER[entry.health.level],
            entry.environment.status == EnvironmentStatus.DESTROYED,
            entry.environment.name,
        )
    )
    return entries


def _read_summaries(targets: list[Targets]) -> dict[Targets, Summary]:
    """Read many summaries at once, with one set of clients per region shared by the reading threads."""
    regions = {one.region for one in targets}
    clients = {region: status.Clients(region, status.SUMMARY_SERVICES) for region in regions}
    with ThreadPoolExecutor(max_workers=status.PARALLEL_READS, thread_name_prefix="fleet") as pool:
        collectors = {one: status.start_summary(one, clients[one.region], pool) for one in targets}
        return {one: collect() for one, collect in collectors.items()}


def level_counts(entries: list[FleetEntry]) -> dict[str, int]:
    """How many environments are at each level, every level present (zero included)."""
    counts = Counter(entry.health.level for entry in entries)
    return {level: counts.get(level, 0) for level in LEVEL_ORDER}

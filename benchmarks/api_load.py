"""Load the REST API with wrk: requests/s and latency of the environment list and of a run's events.

    .venv/bin/python benchmarks/api_load.py [--quick] [--database-url postgres://...] [--keep]
        [--environments 200] [--events 100000] [--threads 2] [--connections 16] [--duration 15]
        [--workers 2] [--gunicorn-threads 4] [--json artifacts/api-load.json]

It drops and recreates its own PostgreSQL database (default postgres://postgres@127.0.0.1:5432/launchpad_bench),
migrates it and seeds --environments environments (both blueprints, several owners, tiers, statuses,
variables, outputs, drift checks), their runs and --events RunEvents in all (most runs a few hundred events,
a few with thousands), a user and an API token. It then starts gunicorn (portal.wsgi, DEBUG off, a generated
SECRET_KEY) on a free port and runs wrk against each endpoint with `Authorization: Token ...` and
`X-Forwarded-Proto: https`, as the TLS-terminating proxy in front of production sends it:

- environment list:   GET /api/v1/environments/                 (the first page)
- run events, tail:   GET /api/v1/runs/{id}/events/?after=<seq>  (what the log view polls: the last few lines)
- run events, page 1: GET /api/v1/runs/{id}/events/              (the first page of a run's log)

The event requests go round every run (benchmarks/wrk_report.lua reads a file of paths), so a run with
thousands of events is asked for as often as a small one. Before the load, one request per endpoint through
Django's test client counts its database queries. It prints a markdown table (requests/s, p50/p95/p99 ms,
non-2xx answers, queries per request) and writes the figures as JSON; it exits 1 when any answer was not a 2xx
or a socket failed. gunicorn and (without --keep) the database are removed at the end, Ctrl-C included.

Needs wrk (Debian: `apt-get install wrk`) and a PostgreSQL server the URL's user may create databases on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/launchpad_bench"
LUA_SCRIPT = REPO / "benchmarks" / "wrk_report.lua"
GOAL_P95_MS = 100
OWNERS = ["alice", "bruno", "chen", "dara", "emeka", "farah", "gus", "hana", "ivo", "jun", "kofi", "lena"]
RESOURCES = [
    "module.network.aws_vpc.this",
    "module.network.aws_subnet.private[0]",
    "module.network.aws_subnet.private[1]",
    "module.network.aws_route_table.private",
    "module.audio_storage.aws_s3_bucket.this",
    "module.queues.aws_sqs_queue.work",
    "module.queues.aws_sqs_queue.dead_letter",
    'module.container_registry.aws_ecr_repository.this["web-api"]',
    'module.container_registry.aws_ecr_repository.this["workers"]',
    "module.ecs.aws_ecs_cluster.this",
    'module.ecs.aws_ecs_service.this["web-api"]',
    'module.ecs.aws_ecs_service.this["workers"]',
    'module.observability.aws_cloudwatch_log_group.this["web-api"]',
    "module.observability.aws_cloudwatch_metric_alarm.queue_backlog_high",
    "module.secrets.aws_secretsmanager_secret.db",
    "module.database.aws_db_instance.this",
    "module.cache.aws_elasticache_replication_group.this",
]


# --- arguments ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL; dropped and recreated")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--events", type=int, default=100_000, help="RunEvents in all, spread over the runs")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (-c)")
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per endpoint (wrk -d)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded load per endpoint first")
    parser.add_argument("--quick", action="store_true", help="3 s of load (1 s warm-up) per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(os.environ.get("LAUNCHPAD_ARTIFACTS") or REPO / "artifacts") / "api-load.json",
        help="where the figures go (default artifacts/api-load.json)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3, 1
    return args


# --- the database ------------------------------------------------------------------------------
def _maintenance(url: str) -> tuple[str, str]:
    """(URL of the server's `postgres` database, name of the benchmark's database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        sys.exit(f"--database-url must be postgres://user@host:port/name with a plain name, not {url!r}.")
    return urlunsplit(parts._replace(path="/postgres")), name


def recreate_database(url: str) -> None:
    import psycopg

    server, name = _maintenance(url)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    server, name = _maintenance(url)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the data ----------------------------------------------------------------------------------
def event_counts(runs: int, total: int, rng: random.Random) -> list[int]:
    """``runs`` sizes adding up to ``total``: most runs a few hundred events, one in thirty thousands."""
    raw = [rng.randint(2500, 6000) if rng.random() < 1 / 30 else rng.randint(60, 400) for _ in range(runs)]
    scale = total / sum(raw)
    counts = [max(1, int(size * scale)) for size in raw]
    for index in range(total - sum(counts)):  # the rounding's remainder, one each
        counts[index % runs] += 1
    while sum(counts) > total:  # only when total < runs: every run still gets one event where it can
        counts[counts.index(max(counts))] -= 1
    return counts


def terraform_lines(run, count: int, rng: random.Random):
    """``count`` (stream, message, data) lines like those a run writes: Launchpad's, init's, then -json events."""
    requester = run.requested_by.username if run.requested_by else "launchpad"
    yield "launchpad", f"{run.kind.capitalize()} requested by {requester}.", None
    init = [
        "Initializing the backend...",
        "Initializing provider plugins...",
        '- Finding hashicorp/aws versions matching "3.39.0"...',
        "- Installing hashicorp/aws v3.39.0...",
        "Terraform has been successfully initialized!",
    ]
    for line in init:
        yield "stdout", line, None
    emitted = 1 + len(init)
    elapsed = 0
    while emitted < count:
        address = rng.choice(RESOURCES)
        resource_type = address.split(".")[-2] if address.count(".") >= 2 else address.split(".")[0]
        hook = {
            "resource": {
                "addr": address,
                "module": address.rsplit(".", 2)[0],
                "resource": address.split(".", 2)[-1],
                "implied_provider": "aws",
                "resource_type": resource_type,
                "resource_name": address.rsplit(".", 1)[-1],
                "resource_key": None,
            },
            "action": "create",
        }
        kind = rng.choice(["apply_start", "apply_progress", "apply_progress", "apply_complete", "planned_change"])
        elapsed += rng.randint(1, 10)
        message = {
            "apply_start": f"{address}: Creating...",
            "apply_progress": f"{address}: Still creating... [{elapsed}s elapsed]",
            "apply_complete": f"{address}: Creation complete after {elapsed}s [id=r-{rng.getrandbits(40):010x}]",
            "planned_change": f"{address}: Plan to create",
        }[kind]
        data = {
            "@level": "info",
            "@message": message,
            "@module": "terraform.ui",
            "@timestamp": (run.created_at + timedelta(seconds=elapsed)).isoformat(),
            "hook": {**hook, "elapsed_seconds": elapsed} if kind != "planned_change" else hook,
            "type": kind,
        }
        if rng.random() < 0.01:
            yield "stderr", f"Warning: Argument is deprecated ({address})", None
        else:
            yield "stdout", message, data
        emitted += 1


def seed(args) -> dict:
    """Owners, environments, runs, drift checks and events; the benchmark's user and token. Returns the sizes."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from portal import crypto
    from portal.accounts.models import ApiToken
    from portal.environments.choices import DriftCheckStatus, EnvironmentStatus, Tier
    from portal.environments.models import Blueprint, DriftCheck, Environment
    from portal.runs.choices import RunKind, RunStatus
    from portal.runs.models import Run, RunEvent

    rng = random.Random(args.seed)
    started = time.perf_counter()
    now = timezone.now()
    User = get_user_model()
    owners = User.objects.bulk_create([User(username=name, email=f"{name}@spotmusic.invalid") for name in OWNERS])
    for owner in owners:
        owner.set_unusable_password()
    User.objects.bulk_update(owners, ["password"])
    approver = Group.objects.get_or_create(name="approver")[0]
    approver.user_set.add(owners[0], owners[1])
    reader = User.objects.create_user(
        username="loadtest", password=secrets.token_urlsafe(16)
    )  # an engineer, not an admin
    token_key = ApiToken.issue(reader, "api-load benchmark")[1]

    blueprints = {blueprint.name: blueprint for blueprint in Blueprint.objects.all()}
    statuses = [
        (EnvironmentStatus.READY, 62),
        (EnvironmentStatus.DRIFTED, 6),
        (EnvironmentStatus.PROVISIONING, 4),
        (EnvironmentStatus.FAILED, 5),
        (EnvironmentStatus.NEW, 5),
        (EnvironmentStatus.DESTROYING, 3),
        (EnvironmentStatus.DESTROYED, 15),
    ]
    environments = []
    for number in range(args.environments):
        blueprint = "full" if rng.random() < 0.2 else "sandbox"
        tier = rng.choices([Tier.DEV, Tier.STAGING, Tier.PROD], weights=[60, 25, 15])[0]
        region = rng.choices(["eu-west-1", "us-east-1", "eu-central-1"], weights=[70, 20, 10])[0]
        status = rng.choices([s for s, _ in statuses], weights=[w for _, w in statuses])[0]
        owner = rng.choice(owners)
        name = f"{owner.username}-{rng.choice(['api', 'feed', 'search', 'pay', 'play', 'ml'])}-{number:03d}"
        variables = {
            "vpc_cidr": f"10.{number // 250}.{number % 250}.0/24",
            "image_tag": f"v1.{rng.randint(0, 40)}.{rng.randint(0, 9)}",
            "log_level": rng.choice(["info", "info", "debug", "warning"]),
            "web_api_desired_count": rng.choice([1, 2, 3]),
            "tags": {
                "team": rng.choice(["core", "growth", "ml", "payments"]),
                "cost-center": f"cc-{rng.randint(1, 9)}",
            },
        }
        if blueprint == "full":
            variables.update(db_instance_class=rng.choice(["db.t3.micro", "db.t3.small"]), waf_rate_limit=2000)
        slug = f"spotmusic-{name}"
        outputs = {}
        if status in (EnvironmentStatus.READY, EnvironmentStatus.DRIFTED, EnvironmentStatus.DESTROYING):
            account = "123456789012"
            outputs = {
                "vpc_id": f"vpc-{rng.getrandbits(64):016x}",
                "private_subnet_ids": [f"subnet-{rng.getrandbits(64):016x}" for _ in range(2)],
                "audio_bucket": f"{slug}-audio",
                "work_queue_url": f"https://sqs.{region}.amazonaws.com/{account}/{slug}-work",
                "dead_letter_queue_url": f"https://sqs.{region}.amazonaws.com/{account}/{slug}-work-dlq",
                "ecr_repository_urls": {
                    key: f"{account}.dkr.ecr.{region}.amazonaws.com/{slug}-{key}" for key in ("web-api", "workers")
                },
                "ecs_cluster_name": slug,
                "ecs_service_names": {key: f"{slug}-{key}" for key in ("web-api", "workers")},
                "log_group_names": {key: f"/spotmusic/{name}/{key}" for key in ("web-api", "workers")},
                "dashboard_name": slug,
                "db_secret_arn": f"arn:aws:secretsmanager:{region}:{account}:secret:{slug}-db-AbCdEf",
            }
            if blueprint == "full":
                outputs.update(
                    api_invoke_url=f"https://{rng.getrandbits(40):010x}.execute-api.{region}.amazonaws.com/live",
                    cdn_domain_name=f"d{rng.getrandbits(48):012x}.cloudfront.net",
                    database_endpoint=f"{slug}.c9akciq32.{region}.rds.amazonaws.com:3306",
                    redis_endpoint=f"{slug}.abc123.ng.0001.euw1.cache.amazonaws.com",
                    waf_web_acl_arn=f"arn:aws:wafv2:{region}:{account}:regional/webacl/{slug}/{rng.getrandbits(64):x}",
                )
        created = now - timedelta(days=rng.uniform(1, 120))
        environments.append(
            Environment(
                name=name[:20],
                blueprint=blueprints[blueprint],
                tier=tier,
                region=region,
                owner=owner,
                variables=variables,
                status=status,
                outputs=outputs,
                encrypted_secrets=crypto.encrypt_json(
                    {"db_password": secrets.token_urlsafe(30), "app_secret_key": secrets.token_urlsafe(32)}
                ),
                created_at=created,
                destroyed_at=created + timedelta(days=1) if status == EnvironmentStatus.DESTROYED else None,
                expires_at=created + timedelta(hours=72) if blueprint == "sandbox" and tier != Tier.PROD else None,
            )
        )
    names = [environment.name for environment in environments]
    assert len(set(names)) == len(names), "environment names must be unique"
    environments = Environment.objects.bulk_create(environments)

    runs, checks = [], []
    for environment in environments:
        history = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        for index in range(history):
            last = index == history - 1
            kind = RunKind.APPLY if index == 0 else rng.choice([RunKind.PLAN, RunKind.APPLY, RunKind.APPLY])
            status = rng.choices([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED], weights=[85, 10, 5])[0]
            if last and environment.status in (EnvironmentStatus.DESTROYED, EnvironmentStatus.DESTROYING):
                kind = RunKind.DESTROY
                status = (
                    RunStatus.SUCCEEDED if environment.status == EnvironmentStatus.DESTROYED else RunStatus.APPLYING
                )
            elif last and environment.status == EnvironmentStatus.PROVISIONING:
                status = RunStatus.APPLYING
            elif last and environment.status == EnvironmentStatus.FAILED:
                status = RunStatus.FAILED
            created = environment.created_at + timedelta(hours=index * rng.uniform(2, 200))
            finished = status not in (RunStatus.APPLYING, RunStatus.RUNNING)
            runs.append(
                Run(
                    environment=environment,
                    kind=kind,
                    status=status,
                    requested_by=environment.owner,
                    has_changes=True,
                    plan_summary={"add": rng.randint(0, 40), "change": rng.randint(0, 5), "destroy": 0},
                    error="Error: creating ECS Service: timeout while waiting for state" if status == "failed" else "",
                    created_at=created,
                    started_at=created + timedelta(seconds=2),
                    finished_at=created + timedelta(minutes=rng.uniform(1, 15)) if finished else None,
                    heartbeat_at=None if finished else now,
                )
            )
        if environment.status in (EnvironmentStatus.READY, EnvironmentStatus.DRIFTED):
            for index in range(rng.choice([0, 1, 2, 3])):
                drifted = environment.status == EnvironmentStatus.DRIFTED and index == 0
                resources = (
                    [
                        {
                            "address": "module.queues.aws_sqs_queue.work",
                            "type": "aws_sqs_queue",
                            "action": "update",
                            "attributes": [{"name": "visibility_timeout_seconds", "before": 30, "after": 60}],
                        }
                    ]
                    if drifted
                    else []
                )
                checks.append(
                    DriftCheck(
                        environment=environment,
                        status=DriftCheckStatus.DRIFTED if drifted else DriftCheckStatus.CLEAN,
                        resources=resources,
                        reported_by_terraform=len(resources),
                        log="Terraform refresh-only plan output\n" * 40,
                        created_at=now - timedelta(hours=index + rng.random()),
                        finished_at=now - timedelta(hours=index),
                    )
                )
    runs = Run.objects.bulk_create(runs)
    DriftCheck.objects.bulk_create(checks)

    counts = event_counts(len(runs), args.events, rng)
    batch: list[RunEvent] = []
    for run, count in zip(runs, counts, strict=True):
        for seq, (stream, message, data) in enumerate(terraform_lines(run, count, rng), start=1):
            batch.append(
                RunEvent(
                    run=run,
                    seq=seq,
                    stream=stream,
                    message=message,
                    data=data,
                    created_at=run.created_at + timedelta(milliseconds=seq * 250),
                )
            )
        if len(batch) >= 5000:
            RunEvent.objects.bulk_create(batch)
            batch = []
    RunEvent.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # A settled database, as in production after autovacuum: statistics and the visibility map are current.
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    sizes = {
        "environments": Environment.objects.count(),
        "runs": Run.objects.count(),
        "run_events": RunEvent.objects.count(),
        "drift_checks": DriftCheck.objects.count(),
        "events_per_run_median": sorted(counts)[len(counts) // 2],
        "events_per_run_max": max(counts),
        "runs_with_1000_events_or_more": sum(1 for count in counts if count >= 1000),
        "seed_seconds": round(seconds, 1),
    }
    run_sizes = {run.pk: count for run, count in zip(runs, counts, strict=True)}
    return {"sizes": sizes, "token": token_key, "run_sizes": run_sizes}


# --- the endpoints -----------------------------------------------------------------------------
def endpoint_paths(run_sizes: dict[int, int], rng: random.Random) -> dict[str, list[str]]:
    """The request paths of each endpoint (the event ones go round every run, in a shuffled order)."""
    run_ids = list(run_sizes)
    rng.shuffle(run_ids)
    return {
        "environment list": ["/api/v1/environments/"],
        # The log view polls after the last line it has: here 0 to 10 lines are new.
        "run events, tail (?after=)": [
            f"/api/v1/runs/{pk}/events/?after={max(0, run_sizes[pk] - rng.randint(0, 10))}" for pk in run_ids
        ],
        "run events, first page": [f"/api/v1/runs/{pk}/events/" for pk in run_ids],
    }


def throttles_of(path: str) -> list[str]:
    """The DRF throttle classes of the view behind ``path`` (none: the load measures the endpoint itself)."""
    from django.urls import resolve

    view = resolve(path.split("?")[0]).func
    return [throttle.__name__ for throttle in getattr(view.cls, "throttle_classes", [])]


def count_queries(paths: list[str], token: str, samples: int = 30) -> dict:
    """Each path once through Django's test client (after a warm-up request), before the load.

    Returns the most queries any path made (with that response's size) and the median CPU time of this
    thread per request: Django's and the serializers' work, which, unlike latency under load, hardly moves
    when other work shares the machine (PostgreSQL's own time is not in it).
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    worst = {"queries": 0}
    cpu_ms = []
    for number in range(max(samples, len(paths))):
        path = paths[number % len(paths)]
        if number < len(paths):
            client.get(path)  # the token's last-used time is written at most once a minute: not per request
        started = time.thread_time()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        cpu_ms.append((time.thread_time() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.content[:300]!r}")
        # Not counted: the token's last-used time, written on its first use after a minute (not per request).
        queries = [query for query in captured if not query["sql"].startswith('UPDATE "accounts_apitoken"')]
        if len(queries) >= worst["queries"]:
            body = response.json()
            worst = {
                "path": path,
                "queries": len(queries),
                "bytes": len(response.content),
                "results": len(body.get("results", [])),
            }
    return {**worst, "cpu_ms_per_request": round(statistics.median(cpu_ms), 2)}


# --- gunicorn and wrk --------------------------------------------------------------------------
def start_gunicorn(env: dict, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}; its log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    stop_process(process)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; its log:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_wrk(wrk: str, base: str, token: str, paths_file: Path, args, seconds: int) -> dict:
    argv = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        "-H",
        f"Authorization: Token {token}",
        # As behind the TLS-terminating proxy production runs behind (SECURE_SSL_REDIRECT redirects plain http).
        "-H",
        "X-Forwarded-Proto: https",
        base,
        "--",
        str(paths_file),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_REPORT "):
            report = json.loads(line.removeprefix("WRK_REPORT "))
            report["transferred_bytes"] = report.pop("bytes")
            first = [line for line in result.stderr.splitlines() if line.startswith("first non-2xx")]
            if first:
                report["first_non_2xx"] = first[0]
            return report
    raise SystemExit(f"wrk gave no report (status {result.returncode}):\n{result.stdout}\n{result.stderr}")


# --- the report --------------------------------------------------------------------------------
def markdown(results: list[dict], sizes: dict, config: dict) -> str:
    lines = [
        f"{sizes['environments']} environments, {sizes['runs']} runs, {sizes['run_events']:,} run events "
        f"(median {sizes['events_per_run_median']} per run, largest {sizes['events_per_run_max']:,}; "
        f"{sizes['runs_with_1000_events_or_more']} runs with 1,000 or more), {sizes['drift_checks']} drift checks; "
        f"seeded in {sizes['seed_seconds']} s.",
        f"gunicorn {config['workers']} workers x {config['gunicorn_threads']} threads (gthread), DEBUG off; "
        f"wrk -t{config['threads']} -c{config['connections']} -d{config['duration']}s after {config['warmup']} s "
        f"of warm-up; {config['cores']} cores shared by gunicorn, PostgreSQL and wrk (machine load: the 1-minute "
        "load average around the run; above the core count, other work competed for the CPU). DB queries and CPU "
        "ms per request: one request at a time through Django's test client before the load (CPU: this thread's, "
        "median; PostgreSQL's time not included).",
        "",
        "| endpoint | rps | p50 ms | p95 ms | p99 ms | non-2xx | DB queries/request | CPU ms/request | "
        f"response bytes | p95 < {GOAL_P95_MS} ms | machine load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in results:
        lines.append(
            f"| {row['endpoint']} | {row['rps']:,.0f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['non_2xx']} | {row['queries']} | {row['cpu_ms_per_request']:.1f} | "
            f"{row['bytes']:,} | "
            f"{'yes' if row['p95_ms'] < GOAL_P95_MS else 'NO'} | {row['load_average_1min']:.1f} |"
        )
    return "\n".join(lines)


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu), then run this again.")
        return 2

    signal.signal(signal.SIGTERM, interrupted)  # cleans up like Ctrl-C
    data_dir = Path(tempfile.mkdtemp(prefix="api-load-"))
    (data_dir / "static").mkdir()  # STATIC_ROOT: whitenoise warns when it is missing
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LAUNCHPAD_DATA_DIR": str(data_dir),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": "",
    }
    env.pop("LAUNCHPAD_ENCRYPTION_KEY", None)
    os.environ.update(env)
    gunicorn = None
    created = False
    try:
        recreate_database(args.database_url)
        created = True
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", "-v", "0")
        seeded = seed(args)
        print(f"Seeded in {seeded['sizes']['seed_seconds']} s: {json.dumps(seeded['sizes'])}", flush=True)
        paths = endpoint_paths(seeded["run_sizes"], random.Random(args.seed))

        results = []
        for endpoint, endpoint_paths_ in paths.items():
            throttles = throttles_of(endpoint_paths_[0])
            if throttles:
                raise SystemExit(f"{endpoint} is throttled ({throttles}): the load would measure the throttle.")
            results.append(
                {"endpoint": endpoint, "example": endpoint_paths_[0], **count_queries(endpoint_paths_, seeded["token"])}
            )
        from django.db import connections

        connections.close_all()

        from provisioning.emulator.server import free_port

        port = free_port()
        gunicorn = start_gunicorn(env, port, args.workers, args.gunicorn_threads, data_dir / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        for number, (row, endpoint_paths_) in enumerate(zip(results, paths.values(), strict=True)):
            paths_file = data_dir / f"paths-{number}.txt"
            paths_file.write_text("\n".join(endpoint_paths_) + "\n")
            if args.warmup:
                run_wrk(wrk, base, seeded["token"], paths_file, args, args.warmup)
            load_before = os.getloadavg()[0]
            report = run_wrk(wrk, base, seeded["token"], paths_file, args, args.duration)
            row.update(report, load_average_1min=round((load_before + os.getloadavg()[0]) / 2, 2))
            print(
                f"{row['endpoint']}: {report['rps']:.0f} req/s, p95 {report['p95_ms']:.1f} ms, "
                f"non-2xx {report['non_2xx']}",
                flush=True,
            )
        config = {
            "workers": args.workers,
            "gunicorn_threads": args.gunicorn_threads,
            "threads": args.threads,
            "connections": args.connections,
            "duration": args.duration,
            "warmup": args.warmup,
            "cores": os.cpu_count(),
            "throttles": "none on these views (only the token login view is throttled)",
        }
        print()
        print(markdown(results, seeded["sizes"], config))
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"config": config, "sizes": seeded["sizes"], "results": results}, indent=2) + "\n"
        )
        print(f"\nFigures written to {args.json}")
        failed = [row["endpoint"] for row in results if row["non_2xx"] or any(row["socket_errors"].values())]
        if failed:
            log = (data_dir / "gunicorn.log").read_text(errors="replace")[-3000:]
            print(f"Not every answer was a 2xx, or a socket failed: {', '.join(failed)}. gunicorn's log ends:\n{log}")
            for row in results:
                if row.get("first_non_2xx"):
                    print(f"{row['endpoint']}: {row['first_non_2xx']}")
            return 1
        return 0
    except KeyboardInterrupt:
        print("Interrupted: cleaning up.", file=sys.stderr)
        return 130
    finally:
        stop_process(gunicorn)
        if created and not args.keep:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001 - Django may not be set up yet
                pass
            drop_database(args.database_url)
        elif created:
            print(f"Database kept: {args.database_url}")
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

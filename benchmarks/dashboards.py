"""Measure the dashboards from a warm cache: one environment's dashboard, and the fleet page of many environments.

    .venv/bin/python benchmarks/dashboards.py [--environments 200] [--requests 200]

In a throwaway database (a temporary LAUNCHPAD_DATA_DIR, migrated) and its own patched emulator, it makes
``--environments`` ready environments whose ECS services, queues and alarms exist in the emulator (one of
them with the full blueprint's database, cache, API, WAF and CDN), reads them all once (the cold read, also
reported), then times ``--requests`` GETs of the full environment's dashboard page and of the fleet page
through Django's test Client, and prints p50 / p95 / max in milliseconds. The cache is the configured one:
this process's memory, or Redis when CACHE_URL is set. The goals: under 50 ms and 200 ms at p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOALS_MS = {"dashboard page": 50, "fleet page": 200}


def timed(client, url: str, requests: int) -> list[float]:
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return durations


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(
            LAUNCHPAD_DATA_DIR=data_dir,
            DJANGO_SETTINGS_MODULE="portal.test_settings",
            # Long enough that nothing expires while the warm reads are timed.
            LAUNCHPAD_STATUS_TTL="3600",
            AWS_ACCESS_KEY_ID="benchmark",
            AWS_SECRET_ACCESS_KEY="benchmark",
            AWS_DEFAULT_REGION="eu-west-1",
        )
        from provisioning.emulator import EmulatorProcess

        with EmulatorProcess(log_path=Path(data_dir) / "emulator.log") as emulator:
            os.environ["AWS_ENDPOINT_URL"] = emulator.endpoint
            run(args)


def run(args) -> None:
    import logging

    import django

    django.setup()
    # boto3 says where it found credentials each time a client is made: not what is measured here.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from portal.dashboards import status
    from portal.environments.choices import EnvironmentStatus
    from tests.dashboards.resources import build_full, build_sandbox
    from tests.factories import make_environment, make_user

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", "--noinput", "-v", "0")
    cache.clear()
    owner = make_user("admin", username="benchmark")

    started = time.perf_counter()
    names = [f"bench{number:03d}" for number in range(args.environments)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(lambda name: build_full(name) if name == names[0] else build_sandbox(name), names))
    for number, (name, built) in enumerate(zip(names, outputs, strict=True)):
        environment = make_environment(
            owner=owner,
            name=name,
            blueprint_name="full" if number == 0 else "sandbox",
            vpc_cidr=f"10.{number // 250}.{number % 250}.0/24",
        )
        environment.status, environment.outputs = EnvironmentStatus.READY, built
        environment.save()
    print(
        f"{args.environments} environments made in the emulator and the database in {time.perf_counter() - started:.1f} s"
    )

    client = Client()
    client.force_login(owner)
    dashboard = f"/environments/{names[0]}/dashboard/"
    cold = {}
    for label, url in (("dashboard page", dashboard), ("fleet page", "/fleet/")):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        cold[label] = (time.perf_counter() - started) * 1000
    levels = status.level_counts(status.fleet())

    print(f"fleet health after the cold read: {levels}")
    print(f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, {args.requests} warm requests each")
    print(f"{'case':<16} {'cold ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'goal p95':>9}")
    for label, url in (("dashboard page", dashboard), ("fleet page", "/fleet/")):
        durations = timed(client, url, args.requests)
        print(
            f"{label:<16} {cold[label]:>8.1f} {statistics.median(durations):>8.1f} {percentile(durations, 0.95):>8.1f}"
            f" {max(durations):>8.1f} {'< ' + str(GOALS_MS[label]):>9}"
        )


if __name__ == "__main__":
    main()

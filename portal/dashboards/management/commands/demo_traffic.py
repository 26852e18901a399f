"""manage.py demo_traffic [--environment NAME] [--once] [--interval S]: made-up traffic for the emulator's dashboards."""

from __future__ import annotations

import signal
import time

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from portal.dashboards import demo


class Command(BaseCommand):
    help = (
        "Put demo metrics, alarm state changes and ECS deployments into the local AWS emulator, every --interval "
        "seconds, so that the dashboards show a living environment. Refuses to run against real AWS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--environment",
            action="append",
            dest="environments",
            metavar="NAME",
            help="Only this environment (repeatable).",
        )
        parser.add_argument("--once", action="store_true", help="Send one round and stop.")
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between rounds (default 60).")

    def handle(self, environments, once, interval, **options):
        try:
            endpoint = demo.require_emulator()
        except demo.NotAnEmulator as error:
            raise CommandError(str(error)) from error
        stopping = {"now": False}

        def stop(signum, frame) -> None:
            stopping["now"] = True

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            self.stdout.write(f"Demo traffic into the emulator at {endpoint} every {interval:.0f} s (Ctrl-C stops it).")
        while True:
            self.send_round(environments, strict=once)
            if once or stopping["now"]:
                return
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not stopping["now"]:
                time.sleep(0.2)
            if stopping["now"]:
                return

    def send_round(self, names, strict: bool) -> None:
        try:
            environments = demo.demo_environments(names)
        except DatabaseError as error:
            # The loop outlives a busy or not yet migrated database: the next round tries again.
            self.stderr.write(f"Demo traffic: could not list the environments ({error}).")
            return
        if names and strict:
            missing = sorted(set(names) - {environment.name for environment in environments})
            if missing:
                raise CommandError(f"No ready environment called {', '.join(missing)} (it must have been applied).")
        for environment in environments:
            try:
                sent = demo.send(environment)
            except (BotoCoreError, ClientError, DatabaseError) as error:
                if strict:
                    raise CommandError(f"Demo traffic for {environment.name} failed: {error}") from error
                self.stderr.write(f"Demo traffic for {environment.name} failed, trying again next round: {error}")
                continue
            self.stdout.write(
                f"{sent.environment}: {sent.phase}, {sent.datapoints} datapoints, {sent.alarms_changed} alarm changes, "
                f"{sent.deployments} deployments, {sent.dead_letters} dead letters."
            )

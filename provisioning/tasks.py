"""Celery tasks: take a run, drive provisioning.engine, write events and results back. Thin by design.

Tasks are acknowledged late and idempotent on the run id: a task for a run that another worker holds
(fresh heartbeat) or that has finished does nothing; one whose worker died is failed with the reason.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.activity.models import record
from portal.environments import crypto
from portal.environments.choices import EnvironmentStatus
from portal.environments.models import Environment
from portal.runs.choices import WORKING_STATUSES, EventStream, RunKind, RunStatus
from portal.runs.models import Run, RunEvent, TransitionError, active_run, environment_status_for, next_queued_run
from provisioning import engine, toolchain
from provisioning.terraform import TerraformError, TerraformInterrupted

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10
FLUSH_SECONDS = 0.5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_timeout() -> timedelta:
    return timedelta(seconds=settings.LAUNCHPAD["HEARTBEAT_TIMEOUT_SECONDS"])


# --- dispatching -----------------------------------------------------------------------------
def dispatch(environment_id: int) -> None:
    """Enqueue the environment's next queued run, if none is active (call after commit)."""
    environment = Environment.objects.get(pk=environment_id)
    if active_run(environment) is None:
        run = next_queued_run(environment)
        if run is not None:
            execute_run.delay(run.pk)


def dispatch_on_commit(environment_id: int) -> None:
    transaction.on_commit(lambda: dispatch(environment_id))


# --- event streaming ---------------------------------------------------------------------------
def _json_event(line: str) -> dict | None:
    """Terraform's -json lines keep their structure; any other line is plain text."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


class EventWriter:
    """Buffers Terraform's lines and writes them as RunEvents every half second, while it runs."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.pending: list[tuple[str, str, dict | None]] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __call__(self, stream: str, line: str) -> None:
        data = _json_event(line) if stream == "stdout" else None
        message = data.get("@message", line) if data else line
        with self.lock:
            self.pending.append((stream if stream in EventStream.values else EventStream.LAUNCHPAD, message, data))

    def flush(self) -> None:
        with self.lock:
            lines, self.pending = self.pending, []
        if lines:
            RunEvent.append(self.run, lines)

    def _loop(self) -> None:
        while not self.stopped.wait(FLUSH_SECONDS):
            self.flush()

    def __enter__(self) -> EventWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self.flush()


class Heartbeat:
    """Keeps the run's heartbeat fresh while a worker holds it, and reads cancel requests."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.cancel_requested = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            Run.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())
            if Run.objects.filter(pk=self.run.pk, cancel_requested=True).exists():
                self.cancel_requested.set()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


# --- the task ----------------------------------------------------------------------------------
def _claim(run_id: int) -> Run | None:
    """Take the run if it is this worker's to take; fail it if its previous worker died."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("environment").filter(pk=run_id).first()
        if run is None or run.is_finished:
            return None
        if run.status in WORKING_STATUSES:
            if run.heartbeat_at and timezone.now() - run.heartbeat_at < heartbeat_timeout():
                return None  # another worker is on it
            _fail_lost(run)
            return None
        if run.status != RunStatus.QUEUED:
            return None
        Environment.objects.select_for_update().filter(pk=run.environment_id).first()
        holder = active_run(run.environment)
        if holder is not None or next_queued_run(run.environment) != run:
            return None  # queued behind another run; dispatched when that one ends
        run.start(worker_name())
        if run.status == RunStatus.APPLYING:
            Environment.objects.filter(pk=run.environment_id).update(status=environment_status_for(run))
    return run


def _fail_lost(run: Run) -> None:
    reason = (
        f"The worker running this run ({run.worker or 'unknown'}) stopped reporting at "
        f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC and is taken as lost. Terraform's state lock is released "
        "when its process ends; plan again to converge."
    )
    run.fail(reason)
    run.log(reason)
    _environment_after_failure(run)
    dispatch_on_commit(run.environment_id)


def _environment_after_failure(run: Run) -> None:
    environment = run.environment
    if environment.status in (EnvironmentStatus.PROVISIONING, EnvironmentStatus.DESTROYING):
        environment.status = EnvironmentStatus.FAILED
        environment.save(update_fields=["status", "updated_at"])


def _request(run: Run, store: engine.StateStore) -> engine.RunRequest:
    environment = run.environment
    endpoint = settings.AWS_ENDPOINT_URL
    return engine.RunRequest(
        run_id=run.pk,
        blueprint=environment.blueprint.name,
        environment=environment.name,
        region=environment.region,
        variables=environment.terraform_variables(endpoint),
        secret_environment=environment.secret_environment(),
        endpoint=endpoint,
        state_store=store,
        destroy=run.kind == RunKind.DESTROY,
    )


def approval_reasons(run: Run, summary: dict) -> list[str]:
    """Why a plan must wait for an approver (empty: it may apply at once)."""
    reasons = []
    if run.environment.tier != "dev":
        reasons.append(f"{run.environment.get_tier_display()} environments need an approver.")
    if summary["stateful_losses"]:
        names = ", ".join(r["address"] for r in summary["stateful_losses"][:5])
        reasons.append(f"The plan destroys or replaces resources that hold data: {names}.")
    return reasons


def _state_store(writer: EventWriter, chain: toolchain.Toolchain, region: str) -> engine.StateStore:
    configured = settings.LAUNCHPAD
    if configured["STATE_BUCKET"] and configured["LOCK_TABLE"]:
        return engine.StateStore(configured["STATE_BUCKET"], configured["LOCK_TABLE"])
    return engine.ensure_state_store(region, settings.AWS_ENDPOINT_URL, chain, configured["WORK_DIR"], writer)


def _plan_phase(run: Run, writer: EventWriter, heartbeat: Heartbeat, chain: toolchain.Toolchain) -> None:
    store = _state_store(writer, chain, run.environment.region)
    request = _request(run, store)
    writer("launchpad", f"Planning {run.kind} of {run.environment.name} ({run.environment.blueprint.name}).")
    outcome = engine.plan(
        request, chain, settings.LAUNCHPAD["WORK_DIR"], writer, stop=heartbeat.cancel_requested.is_set
    )
    reasons = approval_reasons(run, outcome.summary) if outcome.has_changes else []
    with transaction.atomic():
        run.planned(outcome.summary, outcome.has_changes, reasons, crypto.encrypt_bytes(outcome.plan))
        if run.kind == RunKind.PLAN or not outcome.has_changes:
            writer("launchpad", "No changes to apply." if not outcome.has_changes else "Plan ready.")
            run.succeed()
            _settle_environment(run, outputs=None)
        elif reasons:
            run.await_approval()
            writer("launchpad", "Waiting for approval: " + " ".join(reasons))
        else:
            run.begin_apply()
            Environment.objects.filter(pk=run.environment_id).update(status=environment_status_for(run))
    if run.status == RunStatus.APPLYING:
        _apply_phase(run, writer, chain, store)


def _apply_phase(run: Run, writer: EventWriter, chain: toolchain.Toolchain, store=None) -> None:
    store = store or _state_store(writer, chain, run.environment.region)
    request = _request(run, store)
    writer("launchpad", "Applying the plan.")
    outputs = engine.apply(
        request, crypto.decrypt_bytes(run.encrypted_plan), chain, settings.LAUNCHPAD["WORK_DIR"], writer
    )
    with transaction.atomic():
        run.succeed()
        _settle_environment(run, outputs=outputs)


def _settle_environment(run: Run, outputs: dict | None) -> None:
    environment = Environment.objects.select_for_update().get(pk=run.environment_id)
    if run.kind == RunKind.DESTROY and outputs is not None:
        environment.status, environment.outputs = EnvironmentStatus.DESTROYED, {}
        environment.destroyed_at = timezone.now()
    elif outputs is not None:
        environment.status, environment.outputs = EnvironmentStatus.READY, outputs
    environment.save()
    dispatch_on_commit(environment.pk)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    """Carry one run as far as it can go now (to approval, or to the end)."""
    run = _claim(run_id)
    if run is None:
        return
    chain = toolchain.prepare()
    with Heartbeat(run) as heartbeat, EventWriter(run) as writer:
        try:
            if run.status == RunStatus.APPLYING:
                _apply_phase(run, writer, chain)
            else:
                _plan_phase(run, writer, heartbeat, chain)
        except TerraformInterrupted:
            run.refresh_from_db()
            run.interrupted()
            writer("launchpad", "Cancelled on request.")
            dispatch_on_commit(run.environment_id)
        except (TerraformError, crypto.DecryptionError, TransitionError, engine.ClientError) as error:
            _record_failure(run, writer, str(error))
        except Exception as error:  # the run must end failed, never stay "running"
            log.exception("run %s failed unexpectedly", run_id)
            _record_failure(run, writer, f"Launchpad failed: {error.__class__.__name__}: {error}")


def _record_failure(run: Run, writer: EventWriter, reason: str) -> None:
    reason = engine.Redactor(run.environment.secrets().values())(reason)
    writer("launchpad", f"Failed: {reason}")
    with transaction.atomic():
        run.refresh_from_db()
        if not run.is_finished:
            run.fail(reason)
            _environment_after_failure(run)
        dispatch_on_commit(run.environment_id)
    record("run.failed", run, actor=None, reason=reason[:500])


@shared_task(ignore_result=True)
def reap_lost_runs() -> int:
    """Fail every run whose worker stopped reporting (killed, machine lost). Runs on a schedule."""
    cutoff = timezone.now() - heartbeat_timeout()
    lost = 0
    for run_id in Run.objects.filter(status__in=WORKING_STATUSES, heartbeat_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            run = Run.objects.select_for_update().select_related("environment").get(pk=run_id)
            if run.status in WORKING_STATUSES and run.heartbeat_at < cutoff:
                _fail_lost(run)
                lost += 1
    return lost

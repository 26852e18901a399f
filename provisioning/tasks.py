"""Celery tasks: take a run, drive provisioning.engine, write events and results back. Thin by design.

Tasks are acknowledged late and idempotent on the run id: a task for a run that another worker holds
(fresh heartbeat) or that has finished does nothing; one whose worker died is failed with the reason.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from datetime import timedelta
from functools import partial

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from portal.activity.models import record
from portal.environments import crypto
from portal.environments.choices import (
    DRIFT_CHECK_UNDER_WAY,
    DRIFT_CHECKED_STATUSES,
    DriftCheckStatus,
    EnvironmentStatus,
    Tier,
)
from portal.environments.models import DRIFT_CHECK_LOST_AFTER, DriftCheck, Environment, LifecycleError
from portal.notifications.choices import Event
from portal.notifications.models import notify
from portal.runs.choices import FINISHED_STATUSES, WORKING_STATUSES, EventStream, RunKind, RunStatus
from portal.runs.models import (
    Run,
    RunEvent,
    TransitionError,
    active_run,
    environment_status_for,
    next_queued_run,
    request_run,
    runs_with_left_state,
)
from provisioning import audit, aws, engine, toolchain
from provisioning.terraform import TerraformError, TerraformInterrupted, summarise_error
from provisioning.workspace import ErroredState, FoundWorkspace, found_workspaces, remove_workspace

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
class EventWriter:
    """Buffers Terraform's lines and writes them as RunEvents every half second, while it runs."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.pending: list[tuple[str, str, dict | None]] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __call__(self, stream: str, line: str) -> None:
        data = engine.json_event(line) if stream == "stdout" else None
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
    run.environment.run_failed()
    dispatch_on_commit(run.environment_id)
    _notify_run(Event.RUN_FAILED, run, reason=reason)


def terraform_request(
    environment: Environment,
    operation_id: int,
    store: engine.StateStore,
    destroy: bool = False,
    operation: str = "run",
) -> engine.RunRequest:
    """What the engine needs to drive Terraform for ``environment`` (a run's or, ``operation`` "drift", a drift
    check's work)."""
    endpoint = settings.AWS_ENDPOINT_URL
    return engine.RunRequest(
        run_id=operation_id,
        blueprint=environment.blueprint.name,
        environment=environment.name,
        region=environment.region,
        # The operator's bound on AWS retries (LAUNCHPAD_AWS_MAX_RETRIES), like the endpoint never the user's.
        variables={
            **environment.terraform_variables(endpoint),
            "aws_max_retries": settings.LAUNCHPAD["AWS_MAX_RETRIES"],
        },
        secret_environment=environment.secret_environment(),
        endpoint=endpoint,
        state_store=store,
        destroy=destroy,
        operation=operation,
    )


def _request(run: Run, store: engine.StateStore) -> engine.RunRequest:
    return terraform_request(run.environment, run.pk, store, destroy=run.kind == RunKind.DESTROY)


def approval_reasons(run: Run, summary: dict, findings: list[dict] | None = None, audit_error: str = "") -> list[str]:
    """Why a plan must wait for an approver (empty: it may apply at once)."""
    if preapproved_by_expiry(run):
        return []
    # High-severity security findings (provisioning.audit) stop the automatic apply: a hole is not made.
    reasons = audit.plan_approval_reasons(findings or [], audit_error)
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
    # Kept until the run ends here: a plan that applies at once is applied in it, without a second init.
    with engine.RunWorkspace(request, settings.LAUNCHPAD["WORK_DIR"]) as workspace:
        outcome = engine.plan(
            request,
            chain,
            settings.LAUNCHPAD["WORK_DIR"],
            writer,
            stop=heartbeat.cancel_requested.is_set,
            workspace=workspace,
        )
        _after_plan(run, writer, chain, store, outcome, workspace)


def _after_plan(
    run: Run,
    writer: EventWriter,
    chain: toolchain.Toolchain,
    store: engine.StateStore,
    outcome: engine.PlanOutcome,
    workspace: engine.RunWorkspace,
) -> None:
    """Record the plan; then end the run, wait for an approver, or apply at once (in the plan's workspace)."""
    reasons = (
        approval_reasons(run, outcome.summary, outcome.findings, outcome.audit_error) if outcome.has_changes else []
    )
    if outcome.findings or outcome.audit_error:
        writer("launchpad", audit.plan_check_summary(outcome.findings, outcome.audit_error))
    state = None
    if run.kind == RunKind.APPLY and not outcome.has_changes:
        # Nothing to apply, yet the environment is what its state holds: read it (an earlier apply may have been
        # finished by Terraform after its worker was lost, the environment left failed and without outputs).
        state = engine.applied_state(_request(run, store), chain, settings.LAUNCHPAD["WORK_DIR"], writer, workspace)
    with transaction.atomic():
        run.planned(
            outcome.summary, outcome.has_changes, reasons, crypto.encrypt_bytes(outcome.plan), findings=outcome.findings
        )
        if run.kind == RunKind.PLAN or not outcome.has_changes:
            writer("launchpad", "No changes to apply." if not outcome.has_changes else "Plan ready.")
            run.succeed()
            if state is None:
                _settle_environment(run)
            else:
                _settle_environment(run, state.outputs, holds_resources=state.resources > 0)
        elif reasons:
            run.await_approval()
            writer("launchpad", "Waiting for approval: " + " ".join(reasons))
            _notify_run(Event.RUN_NEEDS_APPROVAL, run, reasons=reasons, plan=_plan_counts(outcome.summary))
        else:
            run.begin_apply()
            Environment.objects.filter(pk=run.environment_id).update(status=environment_status_for(run))
    if run.status == RunStatus.APPLYING:
        _apply_phase(run, writer, chain, store, workspace=workspace)


def _apply_phase(
    run: Run,
    writer: EventWriter,
    chain: toolchain.Toolchain,
    store=None,
    workspace: engine.RunWorkspace | None = None,
) -> None:
    """Apply the run's recorded plan: in ``workspace`` (the plan's, same worker) or a fresh one (approved later)."""
    store = store or _state_store(writer, chain, run.environment.region)
    request = _request(run, store)
    writer("launchpad", "Applying the plan.")
    outputs = engine.apply(
        request,
        crypto.decrypt_bytes(run.encrypted_plan),
        chain,
        settings.LAUNCHPAD["WORK_DIR"],
        writer,
        workspace=workspace,
    )
    with transaction.atomic():
        run.succeed()
        # An apply of a blueprint leaves its resources in the state (only a destroy run empties it).
        _settle_environment(run, outputs, holds_resources=True)


def _settle_environment(run: Run, outputs: dict | None = None, holds_resources: bool = False) -> None:
    """The environment after ``run`` succeeded: destroyed after a destroy, what the state holds after an apply
    (``outputs``, ``holds_resources``), as it was after a plan run."""
    environment = Environment.objects.select_for_update().get(pk=run.environment_id)
    if run.kind == RunKind.DESTROY:
        # Also when the destroy found nothing to destroy: its plan is empty only when the state holds no resource.
        if environment.destroyed():
            expired = environment.expiry_destroy_run_id == run.pk
            notify(
                Event.ENVIRONMENT_DESTROYED, environment, run_id=run.pk, expired=expired, requested_by=_requester(run)
            )
    elif run.kind == RunKind.APPLY:
        environment.applied(outputs or {}, holds_resources)
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
            _recover_state(run.environment, run.pk, writer, chain)
            if run.status == RunStatus.APPLYING:
                _apply_phase(run, writer, chain)
            else:
                _plan_phase(run, writer, heartbeat, chain)
        except TerraformInterrupted:
            run.refresh_from_db()
            run.interrupted()
            writer("launchpad", "Cancelled on request.")
            dispatch_on_commit(run.environment_id)
        except (
            TerraformError,
            crypto.DecryptionError,
            TransitionError,
            engine.ClientError,
            engine.StateRecoveryError,
            *aws.CONNECTION_ERRORS,
        ) as error:
            _record_failure(run, writer, failure_reason(error, run.environment.name), error)
        except Exception as error:  # the run must end failed, never stay "running"
            log.exception("run %s failed unexpectedly", run_id)
            _record_failure(run, writer, f"Launchpad failed: {error.__class__.__name__}: {error}")


def _record_failure(run: Run, writer: EventWriter, reason: str, error: Exception | None = None) -> None:
    reason = engine.Redactor(run.environment.secrets().values())(reason)
    writer("launchpad", f"Failed: {reason}")
    with transaction.atomic():
        run.refresh_from_db()
        if isinstance(error, TerraformError) and (error.errored_state or error.lock_id):
            # Kept even if the run was reaped meanwhile: the next run needs them (_recover_state).
            state = crypto.encrypt_bytes(error.errored_state) if error.errored_state else None
            run.keep_left_state(state, error.lock_id or "")
        if not run.is_finished:
            run.fail(reason)
            run.environment.run_failed()
        dispatch_on_commit(run.environment_id)
    record("run.failed", run, actor=None, reason=reason[:500])
    _notify_run(Event.RUN_FAILED, run, reason=reason[:500])


def failure_reason(error: Exception, environment: str) -> str:
    """The run's error for the user: what happened, in a few sentences (Terraform's first error, not its log)."""
    if isinstance(error, aws.CONNECTION_ERRORS):
        return f"AWS is unreachable: {error}. Nothing was changed; run again once AWS answers."
    if not isinstance(error, TerraformError):
        return str(error)
    unreachable = error.unreachable
    if unreachable is None and not error.errored_state and not error.lock_left_behind:
        return str(error)
    first = summarise_error(error.output).split("; ")[0].replace("\n", " ")
    if unreachable is not None:
        endpoint, why = unreachable
        where = endpoint or settings.AWS_ENDPOINT_URL or "AWS"
        parts = [f"The AWS endpoint {where} is unreachable ({why}): terraform {error.command} failed."]
    else:
        parts = [f"terraform {error.command} failed: {first[:300]}."]
    if error.errored_state:
        parts.append(
            "Terraform could not save the state to the state store: Launchpad kept it (encrypted, on this run) "
            f"and pushes it before the next run of {environment}, so the resources created before the failure "
            "are not lost."
        )
    elif error.lock_left_behind and error.command == "apply":
        parts.append("The state itself was saved.")
    if error.lock_left_behind and error.lock_id:
        parts.append(
            f"The state lock {error.lock_id} could not be released: Launchpad releases it before the next run."
        )
    elif error.lock_left_behind:
        parts.append(
            "The state lock could not be released, and Terraform could not tell its ID: the next run waits for it "
            f"({engine.LOCK_TIMEOUT}) and then names its holder; release it with `terraform force-unlock`."
        )
    parts.append("Run again once AWS answers." if unreachable is not None else "")
    if unreachable is not None:
        parts.append(f"First error: {first[:300]}")
    return " ".join(part for part in parts if part)


def _recover_state(
    environment: Environment, operation_id: int, sink, chain: toolchain.Toolchain, operation: str = "run"
) -> None:
    """Before any Terraform work on ``environment``: release the stale lock and push the state failed runs left.

    Releasing that lock is safe: it is the very lock the failed run held (engine.release_and_push checks the ID),
    and Launchpad's database guarantees no other run of the environment is under way. One worker at a time
    (a file lock per environment, as for the bootstrap), so a drift check and a run never push twice.
    """
    if not runs_with_left_state(environment):
        return
    store = _state_store(sink, chain, environment.region)
    home = settings.LAUNCHPAD["WORK_DIR"] / "recovery"
    home.mkdir(parents=True, exist_ok=True)
    with open(home / f"environment-{environment.pk}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for failed in runs_with_left_state(environment):
            left = engine.LeftState(
                run_id=failed.pk,
                state=crypto.decrypt_bytes(failed.encrypted_kept_state) if failed.encrypted_kept_state else None,
                lock_id=failed.unreleased_lock_id,
            )
            sink("launchpad", f"Run #{failed.pk} lost AWS mid-way: handling what it left before this one.")
            try:
                engine.recover_state(
                    terraform_request(environment, operation_id, store, operation=operation),
                    left,
                    chain,
                    settings.LAUNCHPAD["WORK_DIR"],
                    sink,
                )
            except engine.StateRecoveryError as error:
                if error.lock_released:
                    failed.forget_left_state(lock=True, state=False)
                raise
            failed.forget_left_state()
            record(
                "run.state_recovered", failed, actor=None, by=operation_id, lock_id=left.lock_id, state=bool(left.state)
            )


@shared_task(ignore_result=True)
def reap_lost_runs() -> int:
    """Fail every run whose worker stopped reporting (killed, machine lost), then remove the workspaces left
    behind (sweep_workspaces). Runs on a schedule."""
    cutoff = timezone.now() - heartbeat_timeout()
    lost = 0
    for run_id in Run.objects.filter(status__in=WORKING_STATUSES, heartbeat_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            run = Run.objects.select_for_update().select_related("environment").get(pk=run_id)
            if run.status in WORKING_STATUSES and run.heartbeat_at < cutoff:
                _fail_lost(run)
                lost += 1
    sweep_workspaces()
    return lost


# --- workspaces left behind ----------------------------------------------------------------------
def sweep_workspaces() -> int:
    """Remove the workspaces under WORK_DIR whose run or drift check is no longer under way; return how many.

    A worker killed mid-run leaves its workspace: the saved plan holds every variable value (secrets included),
    Terraform's log files its output, and an ``errored.tfstate`` a whole state. Left alone: the workspace of a
    run another live worker runs (fresh heartbeat), of a drift check under way, and any workspace a Terraform
    still works in (provisioning.workspace.remove_workspace; swept again next time). An ``errored.tfstate`` is
    first kept encrypted on its run, for the next run of the environment to push (_recover_state).
    """
    found = found_workspaces(settings.LAUNCHPAD["WORK_DIR"])
    if not found:
        return 0
    ids = {operation: {w.operation_id for w in found if w.operation == operation} for operation in ("run", "drift")}
    under_way = {
        ("run", pk)
        for pk in Run.objects.filter(
            pk__in=ids["run"], status__in=WORKING_STATUSES, heartbeat_at__gte=timezone.now() - heartbeat_timeout()
        ).values_list("pk", flat=True)
    } | {
        ("drift", pk)
        for pk in DriftCheck.objects.filter(
            pk__in=ids["drift"],
            status__in=DRIFT_CHECK_UNDER_WAY,
            created_at__gte=timezone.now() - DRIFT_CHECK_LOST_AFTER,
        ).values_list("pk", flat=True)
    }
    removed = 0
    for left in found:
        if (left.operation, left.operation_id) in under_way:
            continue
        try:
            if remove_workspace(left.path, partial(_keep_errored_state, left)):
                removed += 1
                log.info("removed the workspace %s left behind", left.path.name)
        except Exception:  # one workspace that cannot go must not keep the others
            log.exception("could not remove the workspace %s left behind", left.path)
    return removed


def _keep_errored_state(left: FoundWorkspace, errored: ErroredState) -> None:
    """Keep encrypted on its run the state Terraform could not save, found in a workspace left behind."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=left.operation_id).first() if left.operation == "run" else None
        if run is None:
            # No run to keep it on (its environment was deleted): it is not left on disk in clear either.
            log.error(
                "the workspace %s held a state Terraform could not save (%s bytes) and no run of Launchpad to keep "
                "it on: it was removed with the workspace",
                left.path.name,
                len(errored.state),
            )
            return
        run.keep_left_state(crypto.encrypt_bytes(errored.state), errored.lock_id or run.unreleased_lock_id)
        run.log(
            "Terraform ended after this run's worker was lost, without saving the state to the state store: Launchpad "
            f"kept it (encrypted, on this run) and pushes it before the next run of {run.environment.name}."
        )
    record("run.state_kept", run, actor=None, lock_id=run.unreleased_lock_id)


@worker_ready.connect
def sweep_workspaces_at_start(**kwargs) -> None:
    """A worker starting (after a crash, say) removes the workspaces no run under way uses any more."""
    try:
        removed = sweep_workspaces()
        if removed:
            log.warning("removed %s workspaces left behind by runs no longer under way", removed)
    finally:
        # Celery's main process uses the database for nothing else: hold no connection for the worker's life.
        connections.close_all()


def redispatch_after() -> timedelta:
    return timedelta(seconds=settings.LAUNCHPAD["REDISPATCH_AFTER_SECONDS"])


@shared_task(ignore_result=True)
def redispatch_stalled_runs() -> int:
    """Enqueue again every environment's next queued run that no worker took in time. Runs on a schedule.

    A run is committed first and enqueued after the commit: a web process killed in between, or a broker that
    lost the message, would leave it queued forever. A run goes again when no run of its environment is active
    and it has waited REDISPATCH_AFTER_SECONDS since the latest of: it was queued or approved, the environment's
    last run ended, it was last sent again. ``execute_run`` is idempotent (``_claim``): a message that was only
    slow, not lost, does no harm.
    """
    now = timezone.now()
    cutoff = now - redispatch_after()
    waiting = Run.objects.filter(status=RunStatus.QUEUED).order_by().values_list("environment_id", flat=True)
    sent = 0
    for environment in Environment.objects.filter(pk__in=set(waiting)):
        run = next_queued_run(environment) if active_run(environment) is None else None
        if run is None:
            continue
        moments = (
            run.created_at,
            run.approved_at,
            environment.runs.aggregate(last=Max("finished_at"))["last"],
            run.events.aggregate(last=Max("created_at"))["last"],  # the last "sent again" among them
        )
        since = max(moment for moment in moments if moment is not None)
        if since > cutoff:
            continue
        with transaction.atomic():
            if not Run.objects.select_for_update().filter(pk=run.pk, status=RunStatus.QUEUED).exists():
                continue  # a worker took it meanwhile
            waited = round((now - since).total_seconds())
            run.log(
                f"Queued for {waited} s with no run of {environment.name} under way and no worker on it "
                "(its message was lost or is late): dispatched again."
            )
            transaction.on_commit(partial(execute_run.delay, run.pk))
        log.warning("run %s of %s waited %s s with nothing under way: dispatched again", run.pk, environment, waited)
        sent += 1
    return sent


# --- notifications -------------------------------------------------------------------------------
def _requester(run: Run) -> str:
    return run.requested_by.get_username() if run.requested_by_id else "launchpad"


def _environment_url(environment: Environment, section: str) -> str:
    return settings.LAUNCHPAD_BASE_URL + reverse("environments:detail", args=[environment.name]) + "#" + section


def _plan_counts(summary: dict) -> dict:
    return {key: summary.get(key, 0) for key in ("add", "change", "destroy", "replace")}


def _notify_run(event: str, run: Run, **data) -> None:
    notify(
        event,
        run.environment,
        run_id=run.pk,
        kind=run.kind,
        requested_by=_requester(run),
        run_url=settings.LAUNCHPAD_BASE_URL + reverse("runs:detail", args=[run.pk]),
        **data,
    )


# --- expiry --------------------------------------------------------------------------------------
def preapproved_by_expiry(run: Run) -> bool:
    """Launchpad's own destroy of an expired non-prod environment waits for no approver.

    Its owner chose the lifetime when creating the environment, was warned before its end and could extend
    it; at the end, Launchpad asked for this destroy (Environment.expiry_destroy_run). That agreement is the
    approval, so even the loss of stateful data goes ahead. Never for prod (which never expires either).
    The waiver is written to the run log and the activity log.
    """
    environment = run.environment
    if not (
        run.kind == RunKind.DESTROY
        and run.requested_by_id is None
        and environment.expiry_destroy_run_id == run.pk
        and environment.tier != Tier.PROD
        and environment.has_expired(run.created_at)
    ):
        return False
    reason = (
        f"Pre-approved by Launchpad: {environment.name} reached the end of the lifetime its owner "
        f"{environment.owner.get_username()} agreed to ({environment.expires_at:%Y-%m-%d %H:%M} UTC)."
    )
    run.log(reason)
    record("run.preapproved", run, actor=None, reason=reason, environment=environment.name)
    return True


@shared_task(ignore_result=True)
def expire_environments() -> dict:
    """Warn owners before a lifetime ends (once), and destroy expired non-prod environments. Runs on a schedule.

    The destroy is a normal destroy run (audited, on the environment's page), asked for once: cancelling it
    keeps the environment until someone extends or destroys it.
    """
    now = timezone.now()
    warn_from = now + timedelta(hours=settings.LAUNCHPAD_EXPIRY_WARNING_HOURS)
    candidates = Environment.objects.live().filter(expires_at__isnull=False).exclude(tier=Tier.PROD)
    warned = destroying = 0
    for pk in candidates.filter(
        expiry_warned_at__isnull=True, expires_at__gt=now, expires_at__lte=warn_from
    ).values_list("pk", flat=True):
        with transaction.atomic():
            environment = Environment.objects.select_for_update().select_related("owner", "blueprint").get(pk=pk)
            if environment.expiry_warned_at is not None or environment.has_expired(now):
                continue
            environment.expiry_warned_at = now
            environment.save(update_fields=["expiry_warned_at", "updated_at"])
            expires_at = f"{environment.expires_at:%Y-%m-%d %H:%M} UTC"
            record("environment.expiry_warned", environment, actor=None, expires_at=environment.expires_at.isoformat())
            notify(
                Event.ENVIRONMENT_EXPIRING,
                environment,
                expires_at=expires_at,
                hours_left=round((environment.expires_at - now).total_seconds() / 3600, 1),
                extend_url=_environment_url(environment, "expiry"),
            )
            warned += 1
    for pk in candidates.filter(expires_at__lte=now, expiry_destroy_run__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            environment = Environment.objects.select_for_update().select_related("owner", "blueprint").get(pk=pk)
            if (
                environment.expiry_destroy_run_id is not None
                or not environment.has_expired(now)
                or environment.tier == Tier.PROD
                or not environment.is_live
                or environment.runs.filter(kind=RunKind.DESTROY).exclude(status__in=FINISHED_STATUSES).exists()
            ):
                continue  # a destroy someone asked for is already on its way
            run = request_run(environment, RunKind.DESTROY, None)
            run.log(
                f"{environment.name} expired at {environment.expires_at:%Y-%m-%d %H:%M} UTC: Launchpad destroys it "
                "as its owner agreed when choosing its lifetime."
            )
            environment.expiry_destroy_run = run
            environment.save(update_fields=["expiry_destroy_run", "updated_at"])
            record("environment.expired", environment, actor=None, run_id=run.pk)
            destroying += 1
    return {"warned": warned, "destroying": destroying}


# --- drift ---------------------------------------------------------------------------------------
DRIFT_LOG_LIMIT = 200_000


class DriftLog:
    """Collects a drift check's output as text (Terraform's -json events by their message)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0

    def __call__(self, stream: str, line: str) -> None:
        data = engine.json_event(line) if stream == "stdout" else None
        text = data.get("@message", line) if data else line
        if self.size < DRIFT_LOG_LIMIT:
            self.lines.append(text)
            self.size += len(text) + 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines)[:DRIFT_LOG_LIMIT]


def _claim_drift_check(check_id: int) -> DriftCheck | None:
    with transaction.atomic():
        check = DriftCheck.objects.select_for_update().select_related("environment").filter(pk=check_id).first()
        if check is None or check.status != DriftCheckStatus.QUEUED:
            return None
        environment = check.environment
        busy = environment.runs.exclude(status__in=FINISHED_STATUSES).first()
        if busy is not None or environment.status not in DRIFT_CHECKED_STATUSES:
            check.fail(
                f"{busy.kind.capitalize()} run #{busy.pk} of {environment.name} was under way; drift is checked again "
                "after it."
                if busy is not None
                else f"{environment.name} became {environment.get_status_display().lower()} before the check began."
            )
            return None
        check.start(worker_name())
    return check


def _drift_signature(resources: list[dict]) -> set[tuple]:
    return {(r["address"], a["name"]) for r in resources for a in r["attributes"]} | {
        (r["address"], r["action"]) for r in resources
    }


@shared_task(acks_late=True, ignore_result=True)
def check_drift(check_id: int) -> None:
    """Carry out one drift check: a refresh-only plan (never applied); record what drifted, set the status."""
    check = _claim_drift_check(check_id)
    if check is None:
        return
    environment = check.environment
    output = DriftLog()
    try:
        chain = toolchain.prepare()
        _recover_state(environment, check.pk, output, chain, operation="drift")
        store = _state_store(output, chain, environment.region)
        outcome = engine.check_drift(
            terraform_request(environment, check.pk, store, operation="drift"),
            chain,
            settings.LAUNCHPAD["WORK_DIR"],
            output,
        )
    except Exception as error:  # the check must end failed, never stay "running"
        known = (TerraformError, engine.ClientError, engine.StateRecoveryError, *aws.CONNECTION_ERRORS)
        if not isinstance(error, known):
            log.exception("drift check %s failed unexpectedly", check_id)
        described = failure_reason(error, environment.name) if isinstance(error, known) else str(error)
        reason = engine.Redactor(environment.secrets().values())(f"{error.__class__.__name__}: {described}")
        with transaction.atomic():
            check.refresh_from_db()
            if not check.is_finished:
                check.fail(reason, output.text)
        return
    with transaction.atomic():
        previous = (
            environment.drift_checks.filter(status__in=(DriftCheckStatus.CLEAN, DriftCheckStatus.DRIFTED))
            .exclude(pk=check.pk)
            .first()
        )
        check.finish(outcome.resources, outcome.reported_by_terraform, output.text)
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        # A run asked for since the check began decides the status (it may already have reconciled).
        if not locked.runs.filter(created_at__gte=check.started_at).exists():
            status = EnvironmentStatus.DRIFTED if outcome.drifted else EnvironmentStatus.READY
            if locked.status in DRIFT_CHECKED_STATUSES and locked.status != status:
                locked.status = status
                locked.save(update_fields=["status", "updated_at"])
        record(
            "drift_check.finished",
            check,
            actor=None,
            environment=environment.name,
            status=check.status,
            resources=[resource["address"] for resource in outcome.resources][:50],
        )
        known = _drift_signature(previous.resources) if previous is not None else set()
        if outcome.drifted and _drift_signature(outcome.resources) != known:
            notify(
                Event.DRIFT_FOUND,
                locked,
                check_id=check.pk,
                resources=[
                    {"address": r["address"], "action": r["action"], "attributes": [a["name"] for a in r["attributes"]]}
                    for r in outcome.resources
                ],
                reconcile_url=_environment_url(environment, "drift"),
            )


@shared_task(ignore_result=True)
def schedule_drift_checks() -> int:
    """Queue a drift check of every ready or drifted environment with no run under way. Runs on a schedule."""
    now = timezone.now()
    for check in DriftCheck.objects.filter(
        status__in=DRIFT_CHECK_UNDER_WAY, created_at__lt=now - DRIFT_CHECK_LOST_AFTER
    ):
        with transaction.atomic():
            check = DriftCheck.objects.select_for_update().get(pk=check.pk)
            if not check.is_finished:
                check.fail("The worker of this check stopped before it finished; it is taken as lost.")
    # Checked recently (on demand, say): skip until half an interval has passed.
    recent = now - timedelta(seconds=settings.LAUNCHPAD_DRIFT_INTERVAL_SECONDS / 2)
    queued = 0
    for environment in Environment.objects.filter(status__in=DRIFT_CHECKED_STATUSES).exclude(
        drift_checks__created_at__gte=recent
    ):
        try:
            environment.request_drift_check()
        except LifecycleError:
            continue  # a run or a check is under way: the next round checks it
        queued += 1
    return queued

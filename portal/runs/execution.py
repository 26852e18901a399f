"""What a worker does with a run it took: drive provisioning.engine through plan and apply, write the events,
record the result on the run and its environment. The Celery task (portal.runs.tasks) only calls in here; what a
drift check shares with a run is portal.jobs.terraform.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from portal import crypto
from portal.activity.models import record
from portal.environments.models import Environment
from portal.jobs.heartbeat import Heartbeat
from portal.jobs.output import EventWriter
from portal.jobs.terraform import KNOWN_FAILURES, describe_failure, recover_state, state_store, terraform_request
from portal.notifications.choices import Event
from portal.notifications.services import notify
from portal.runs.approval import approval_reasons
from portal.runs.choices import RunKind, RunStatus
from portal.runs.models import Run, RunEvent, TransitionError
from provisioning import audit, engine, toolchain
from provisioning.terraform import TerraformError, TerraformInterrupted

log = logging.getLogger(__name__)


# --- carrying it out -----------------------------------------------------------------------------
def carry_out(run: Run) -> None:
    """Carry the run as far as it can go now (to approval, or to the end); it never stays working on an error."""
    chain = toolchain.prepare()
    with Heartbeat(run, cancellable=True) as heartbeat, EventWriter(run, RunEvent.append) as writer:
        try:
            recover_state(run.environment, run.pk, writer, chain)
            if run.status == RunStatus.APPLYING:
                _apply_phase(run, writer, chain)
            else:
                _plan_phase(run, writer, heartbeat, chain)
        except TerraformInterrupted:
            run.refresh_from_db()
            run.interrupted()
            writer("launchpad", "Cancelled on request.")
        except (*KNOWN_FAILURES, crypto.DecryptionError, TransitionError) as error:
            _record_failure(run, writer, describe_failure(error, run.environment), error)
        except Exception as error:  # the run must end failed, never stay "running"
            log.exception("run %s failed unexpectedly", run.pk)
            _record_failure(run, writer, f"Launchpad failed: {error.__class__.__name__}: {error}")


def _request(run: Run, store: engine.StateStore) -> engine.RunRequest:
    return terraform_request(run.environment, run.pk, store, destroy=run.kind == RunKind.DESTROY)


def _plan_phase(run: Run, writer: EventWriter, heartbeat: Heartbeat, chain: toolchain.Toolchain) -> None:
    store = state_store(writer, chain, run.environment.region)
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
            outcome.summary,
            outcome.has_changes,
            reasons,
            crypto.encrypt_bytes(outcome.plan),
            findings=outcome.findings,
            changes=outcome.changes,
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
            notify_run(Event.RUN_NEEDS_APPROVAL, run, reasons=reasons, plan=_plan_counts(outcome.summary))
        else:
            run.begin_apply()
            run.begin_change(Environment.objects.select_for_update().get(pk=run.environment_id))
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
    store = store or state_store(writer, chain, run.environment.region)
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


def _record_failure(run: Run, writer: EventWriter, reason: str, error: Exception | None = None) -> None:
    reason = engine.Redactor(run.environment.secrets().values())(reason)
    writer("launchpad", f"Failed: {reason}")
    with transaction.atomic():
        run.refresh_from_db()
        if isinstance(error, TerraformError) and (error.errored_state or error.lock_id):
            # Kept even if the run was reaped meanwhile: the next run needs them (recover_state).
            state = crypto.encrypt_bytes(error.errored_state) if error.errored_state else None
            run.keep_left_state(state, error.lock_id or "")
        if not run.is_finished:
            run.fail(reason)
            run.environment.run_failed()
    record("run.failed", run, actor=None, reason=reason[:500])
    notify_run(Event.RUN_FAILED, run, reason=reason[:500])


# --- notifications -------------------------------------------------------------------------------
def _requester(run: Run) -> str:
    return run.requested_by.get_username() if run.requested_by_id else "launchpad"


def _plan_counts(summary: dict) -> dict:
    return {key: summary.get(key, 0) for key in ("add", "change", "destroy", "replace")}


def notify_run(event: str, run: Run, **data) -> None:
    notify(
        event,
        run.environment,
        run_id=run.pk,
        kind=run.kind,
        requested_by=_requester(run),
        run_url=settings.LAUNCHPAD_BASE_URL + reverse("runs:detail", args=[run.pk]),
        **data,
    )

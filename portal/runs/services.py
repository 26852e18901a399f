"""Asking for runs and deciding on them: what the views and the API call; each dispatches what comes next.

A run is queued, reviewed or cancelled here, recorded in the activity log, and the environment's next run is
sent to a worker after commit (portal.runs.tasks.dispatch_on_commit).
"""

from __future__ import annotations

from django.db import transaction

from portal.activity.models import record
from portal.environments.models import Environment
from portal.notifications.choices import Event
from portal.notifications.services import notify
from portal.runs.approval import destroy_outlook
from portal.runs.choices import RunKind, RunStatus
from portal.runs.models import Run, queue_run
from portal.runs.tasks import dispatch_on_commit

__all__ = ["cancel_run", "destroy_outlook", "request_run", "review_run"]

# Runs that changed nothing yet: cancelled when their environment is deleted at once.
WAITING_STATUSES = (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL)


def request_run(environment: Environment, kind: str, user, request=None) -> Run:
    """Queue a run of ``kind`` for ``environment``, record who asked (queue_run), and dispatch it after commit.

    The destroy of an environment that holds nothing (never applied, no run under way) ends at once instead:
    nothing to ask Terraform or an approver (deleted_at_once).
    """
    with transaction.atomic():
        if kind == RunKind.DESTROY:
            # Locks in the order a worker takes them (Job.claim locks the run, then its environment; a run's later
            # transitions in portal.runs.execution likewise): the waiting runs first, then the environment, and no
            # run after it. The other order deadlocked with a worker claiming one of those runs at that moment.
            waiting = list(environment.runs.select_for_update().filter(status__in=WAITING_STATUSES).order_by("pk"))
            locked = Environment.objects.select_for_update().select_related("owner").get(pk=environment.pk)
            # A run queued between the two locks is not ours to cancel (a worker may be claiming it): the destroy
            # then queues behind it, through Terraform, like any other.
            queued_meanwhile = locked.runs.filter(status__in=WAITING_STATUSES).exclude(pk__in=[r.pk for r in waiting])
            if locked.holds_nothing and not queued_meanwhile.exists():
                return deleted_at_once(locked, waiting, user, request)
        run = queue_run(environment, kind, user, request)
        dispatch_on_commit(environment.pk)
    return run


def deleted_at_once(environment: Environment, waiting_runs: list[Run], user, request=None) -> Run:
    """Destroy ``environment`` (locked, holding nothing) without Terraform: its ``waiting_runs`` (locked before it)
    are cancelled, its destroy run succeeds at once, it is destroyed (its network free, its name usable again),
    recorded, and its owner told."""
    for waiting in waiting_runs:
        waiting.cancel()
        waiting.log(f"Cancelled: {environment.name} was deleted before anything of it was applied.")
        record("run.cancelled", waiting, actor=user, request=request)
    run = queue_run(environment, RunKind.DESTROY, user, request)
    run.finish_without_terraform(
        f"Nothing of {environment.name} was ever applied: deleted at once, without Terraform or an approver."
    )
    environment.destroyed()
    record("environment.destroyed", environment, actor=user, request=request, run_id=run.pk, without_terraform=True)
    notify(
        Event.ENVIRONMENT_DESTROYED,
        environment,
        run_id=run.pk,
        expired=False,
        requested_by=user.get_username() if user else "launchpad",
    )
    return run


def review_run(run_id: int, user, approve: bool, comment: str = "", request=None) -> Run:
    """Approve or reject a run awaiting approval, log and record it, and dispatch what comes next.

    ``comment`` is the approver's comment, or the reason of a rejection (required: the run refuses without one,
    and the environment's owner is told it). The run's own transition checks who may decide; a refusal raises
    TransitionError and writes nothing.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("environment").get(pk=run_id)
        if approve:
            run.approve(user, comment)
        else:
            run.reject(user, comment)
            comment = run.review_comment
        run.log(
            f"{'Approved' if approve else 'Rejected'} by {user.get_username()}." + (f" {comment}" if comment else "")
        )
        record(
            "run.approved" if approve else "run.rejected",
            run,
            actor=user,
            request=request,
            **({"comment": comment} if approve else {"reason": comment}),
            **run.overridden_findings_record(approve),
        )
        if not approve:
            notify(
                Event.RUN_REJECTED,
                run.environment,
                run_id=run.pk,
                kind=run.kind,
                rejected_by=user.get_username(),
                reason=comment,
                run_url=run.page_url(),
            )
        dispatch_on_commit(run.environment_id)
    return run


def cancel_run(run_id: int, user, request=None) -> Run:
    """Cancel a run (a planning one is interrupted by its worker), record it and dispatch the next."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("environment").get(pk=run_id)
        run.cancel()
        record("run.cancelled", run, actor=user, request=request)
        dispatch_on_commit(run.environment_id)
    return run

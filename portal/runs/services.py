"""Asking for runs and deciding on them: what the views and the API call; each dispatches what comes next.

A run is queued, reviewed or cancelled here, recorded in the activity log, and the environment's next run is
sent to a worker after commit (portal.runs.tasks.dispatch_on_commit).
"""

from __future__ import annotations

from django.db import transaction

from portal.activity.models import record
from portal.environments.models import Environment
from portal.runs.models import Run, queue_run
from portal.runs.tasks import dispatch_on_commit


def request_run(environment: Environment, kind: str, user, request=None) -> Run:
    """Queue a run of ``kind`` for ``environment``, record who asked (queue_run), and dispatch it after commit."""
    with transaction.atomic():
        run = queue_run(environment, kind, user, request)
        dispatch_on_commit(environment.pk)
    return run


def review_run(run_id: int, user, approve: bool, comment: str = "", request=None) -> Run:
    """Approve or reject a run awaiting approval, log and record it, and dispatch what comes next.

    The run's own transition checks who may decide; a refusal raises TransitionError and writes nothing.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("environment").get(pk=run_id)
        if approve:
            run.approve(user, comment)
        else:
            run.reject(user, comment)
        run.log(
            f"{'Approved' if approve else 'Rejected'} by {user.get_username()}." + (f" {comment}" if comment else "")
        )
        record(
            "run.approved" if approve else "run.rejected",
            run,
            actor=user,
            request=request,
            comment=comment,
            **run.overridden_findings_record(approve),
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

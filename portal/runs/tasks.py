"""Celery tasks of the runs: carry out one run, and send again the queued runs whose message was lost.

Tasks are acknowledged late and idempotent on the run id: a task for a run that another worker holds (fresh
heartbeat) or that has finished does nothing; one whose worker died is failed with the reason.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portal.environments.models import Environment
from portal.runs import execution
from portal.runs.choices import RunStatus
from portal.runs.models import Run, active_run, next_queued_run

log = logging.getLogger(__name__)


def dispatch(environment_id: int) -> None:
    """Enqueue the environment's next queued run, if none is active (call after commit)."""
    environment = Environment.objects.get(pk=environment_id)
    if active_run(environment) is None:
        run = next_queued_run(environment)
        if run is not None:
            execute_run.delay(run.pk)


def dispatch_on_commit(environment_id: int) -> None:
    transaction.on_commit(partial(dispatch, environment_id))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    """Carry one run as far as it can go now (to approval, or to the end), then send the environment's next."""
    run = execution.claim_run(run_id)
    if run is None:
        return
    try:
        if not run.is_finished:
            execution.carry_out(run)
    finally:
        dispatch_on_commit(run.environment_id)


def redispatch_after() -> timedelta:
    return timedelta(seconds=settings.LAUNCHPAD["REDISPATCH_AFTER_SECONDS"])


@shared_task(ignore_result=True)
def redispatch_stalled_runs() -> int:
    """Enqueue again every environment's next queued run that no worker took in time. Runs on a schedule.

    A run is committed first and enqueued after the commit: a web process killed in between, or a broker that
    lost the message, would leave it queued forever. A run goes again when no run of its environment is active
    and it has waited REDISPATCH_AFTER_SECONDS since the latest of: it was queued or approved, the environment's
    last run ended, it was last sent again. ``execute_run`` is idempotent (``claim_run``): a message that was only
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

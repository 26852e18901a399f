"""Celery tasks of the runs: carry out one run, and send again the queued runs whose message was lost.

Tasks are acknowledged late and idempotent on the run id: a task for a run that another worker holds (fresh
heartbeat) or that has finished does nothing; one whose worker died is failed with the reason.
"""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.db import transaction
from django.dispatch import receiver

from portal.environments.models import Environment
from portal.jobs.heartbeat import worker_name
from portal.jobs.models import job_lost
from portal.notifications.choices import Event
from portal.runs import execution, redispatch
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
    run = Run.claim(run_id, worker_name())
    if run is None:
        return
    try:
        if not run.is_finished:
            execution.carry_out(run)
    finally:
        dispatch_on_commit(run.environment_id)


@receiver(job_lost, sender=Run)
def run_lost(sender, job: Run, reason: str, **kwargs) -> None:
    """A run failed as lost (by the reaper, or by a claim of its message delivered again): its owner is told, and
    its environment's next run is sent."""
    execution.notify_run(Event.RUN_FAILED, job, reason=reason)
    dispatch_on_commit(job.environment_id)


@shared_task(ignore_result=True)
def redispatch_stalled_runs() -> int:
    """Send again every environment's next queued run that no worker took in time (portal.runs.redispatch).
    Runs on a schedule; returns how many were sent."""
    return redispatch.send_stalled_runs(execute_run.delay)

"""Celery tasks of every kind of job: the reaper of lost jobs, and the sweep of workspaces at a worker's start."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections, transaction

from portal.audit.models import AuditRun
from portal.environments.models import DriftCheck
from portal.jobs.workspaces import sweep_workspaces
from portal.runs.models import Run

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def reap_lost_jobs() -> int:
    """Fail every run, drift check and audit run whose worker stopped reporting (killed, machine lost), or that
    no worker ever took (drift checks and audits; runs are sent again instead), then remove the workspaces left
    behind (sweep_workspaces). Runs on a schedule; returns how many jobs it failed."""
    lost = 0
    for kind in (Run, DriftCheck, AuditRun):
        for job_id in kind.lost().values_list("pk", flat=True):
            with transaction.atomic():
                job = kind.objects.select_for_update(of=("self",)).get(pk=job_id)
                if not job.is_lost():
                    continue  # its worker reported, or it ended, meanwhile
                job.fail_lost()  # job_lost tells the kind (a run's owner is told, its environment's next sent)
                log.warning("%s #%s lost its worker and was failed", kind.label, job.pk)
                lost += 1
    sweep_workspaces()
    return lost


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

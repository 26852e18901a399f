"""Celery tasks of the environments: drift checks (one, and the schedule) and the end of lifetimes."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.environments import drift, expiry
from portal.environments.choices import DRIFT_CHECKED_STATUSES
from portal.environments.models import DriftCheck, Environment, LifecycleError
from portal.jobs.heartbeat import worker_name
from portal.runs.tasks import dispatch_on_commit


@shared_task(acks_late=True, ignore_result=True)
def check_drift(check_id: int) -> None:
    """Carry out one drift check: a refresh-only plan (never applied); record what drifted, set the status."""
    check = DriftCheck.claim(check_id, worker_name())
    if check is not None:
        drift.carry_out(check)


@shared_task(ignore_result=True)
def schedule_drift_checks() -> int:
    """Queue a drift check of every ready or drifted environment with no run under way. Runs on a schedule."""
    # Checked recently (on demand, say): skip until half an interval has passed.
    recent = timezone.now() - timedelta(seconds=settings.LAUNCHPAD_DRIFT_INTERVAL_SECONDS / 2)
    queued = 0
    for environment in Environment.objects.filter(status__in=DRIFT_CHECKED_STATUSES).exclude(
        drift_checks__created_at__gte=recent
    ):
        try:
            with transaction.atomic():
                check = environment.new_drift_check()
                transaction.on_commit(partial(check_drift.delay, check.pk))
        except LifecycleError:
            continue  # a run or a check is under way: the next round checks it
        queued += 1
    return queued


@shared_task(ignore_result=True)
def expire_environments() -> dict:
    """Warn owners before a lifetime ends (once), and destroy expired non-prod environments. Runs on a schedule."""
    now = timezone.now()
    warned, destroying = expiry.warn_expiring(now), expiry.destroy_expired(now)
    for run in destroying:
        dispatch_on_commit(run.environment_id)
    return {"warned": warned, "destroying": len(destroying)}

"""Celery tasks of the security audit: read the account, apply the rules, record the findings; beat re-opens the
findings whose suppression has run out."""

from __future__ import annotations

import logging

from celery import shared_task

from portal.audit import models
from portal.audit.choices import AuditTrigger
from portal.audit.models import AuditError, AuditRun, audit_regions, create_audit_run
from portal.audit.recording import record_audit
from portal.jobs.heartbeat import Heartbeat, worker_name
from provisioning.audit import collect_live, evaluate

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def run_live_audit(audit_run_id: int) -> None:
    """Carry out one queued audit run; a failure ends it failed with the reason, never stuck running."""
    run = AuditRun.claim(audit_run_id, worker_name())
    if run is None:
        return
    with Heartbeat(run):
        try:
            run.regions = audit_regions(run.environment)
            run.save(update_fields=["regions"])
            collection = collect_live.collect(run.regions, run.environment.name if run.environment else None)
            record_audit(run, collection, evaluate(collection.resources))
        except Exception as error:  # the run must end failed, with the reason, whatever went wrong
            log.exception("audit run %s failed", audit_run_id)
            run.refresh_from_db()
            run.fail(f"{error.__class__.__name__}: {error}")


@shared_task(ignore_result=True)
def run_scheduled_audit() -> int | None:
    """The scheduled audit of the whole account (CELERY_BEAT_SCHEDULE); skipped while one is under way."""
    try:
        run = create_audit_run(None, AuditTrigger.SCHEDULE)
    except AuditError as error:
        log.info("scheduled audit skipped: %s", error)
        return None
    run_live_audit(run.pk)
    return run.pk


@shared_task(ignore_result=True)
def release_expired_suppressions() -> int:
    """Re-open every finding whose suppression has expired (pages and the API only read: they write nothing)."""
    return models.release_expired_suppressions()

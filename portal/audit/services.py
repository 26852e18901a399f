"""Asking for an audit: what the views and the API call; the audit goes to a worker after commit."""

from __future__ import annotations

from django.db import transaction

from portal.activity.models import record
from portal.audit.choices import AuditTrigger
from portal.audit.models import AuditRun, create_audit_run
from portal.audit.tasks import run_live_audit
from portal.environments.models import Environment


def request_audit(user, environment: Environment | None = None, request=None) -> AuditRun:
    """An admin asks for an audit now: queue it, record who asked, and hand it to a worker after commit."""

    with transaction.atomic():
        run = create_audit_run(environment, AuditTrigger.ON_DEMAND, user)
        record("audit.requested", run, actor=user, request=request, scope=run.scope)
        transaction.on_commit(lambda: run_live_audit.delay(run.pk))
    return run

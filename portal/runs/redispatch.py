"""Queued runs whose message was lost: found by the time they waited, logged, and sent to the workers again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portal.environments.models import Environment
from portal.runs.choices import RunStatus
from portal.runs.models import Run, active_run, next_queued_run

log = logging.getLogger(__name__)


def redispatch_after() -> timedelta:
    return timedelta(seconds=settings.LAUNCHPAD["REDISPATCH_AFTER_SECONDS"])


def send_stalled_runs(send: Callable[[int], object]) -> int:
    """``send`` again (after commit) every environment's next queued run that no worker took in time; return how
    many were sent.

    A run is committed first and enqueued after the commit: a web process killed in between, or a broker that
    lost the message, would leave it queued forever. A run goes again when no run of its environment is active
    and it has waited REDISPATCH_AFTER_SECONDS since the latest of: it was queued or approved, the environment's
    last run ended, it was last sent again. ``execute_run`` is idempotent (``Run.claim``): a message that was only
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
            transaction.on_commit(partial(send, run.pk))
        log.warning("run %s of %s waited %s s with nothing under way: dispatched again", run.pk, environment, waited)
        sent += 1
    return sent

"""The end of an environment's lifetime: its owner warned once before, then Launchpad's destroy run asked for.

The destroy is a normal destroy run (audited, on the environment's page), asked for once: cancelling it keeps the
environment until someone extends or destroys it. It waits for no approver (portal.runs.approval).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from portal.activity.models import record
from portal.environments.choices import Tier
from portal.environments.models import Environment
from portal.notifications.choices import Event
from portal.notifications.services import notify
from portal.runs.choices import FINISHED_STATUSES, RunKind
from portal.runs.models import Run, queue_run


def _candidates():
    return Environment.objects.live().filter(expires_at__isnull=False).exclude(tier=Tier.PROD)


def warn_expiring(now: datetime) -> int:
    """Warn the owner of every environment whose lifetime ends within the warning hours (once); return how many."""
    warn_from = now + timedelta(hours=settings.LAUNCHPAD_EXPIRY_WARNING_HOURS)
    warned = 0
    for pk in (
        _candidates()
        .filter(expiry_warned_at__isnull=True, expires_at__gt=now, expires_at__lte=warn_from)
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            environment = Environment.objects.select_for_update().select_related("owner", "blueprint").get(pk=pk)
            if environment.expiry_warned_at is not None or environment.has_expired(now):
                continue
            environment.expiry_warned_at = now
            environment.save(update_fields=["expiry_warned_at", "updated_at"])
            expires_at = f"{environment.expires_at:%Y-%m-%d %H:%M} UTC"
            record("environment.expiry_warned", environment, actor=None, expires_at=environment.expires_at.isoformat())
            notify(
                Event.ENVIRONMENT_EXPIRING,
                environment,
                expires_at=expires_at,
                hours_left=round((environment.expires_at - now).total_seconds() / 3600, 1),
                extend_url=environment.page_url("expiry"),
            )
            warned += 1
    return warned


def destroy_expired(now: datetime) -> list[Run]:
    """Queue the destroy of every expired non-prod environment (once); return the runs, for the caller to send
    to a worker."""
    destroying = []
    for pk in _candidates().filter(expires_at__lte=now, expiry_destroy_run__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            environment = Environment.objects.select_for_update().select_related("owner", "blueprint").get(pk=pk)
            if (
                environment.expiry_destroy_run_id is not None
                or not environment.has_expired(now)
                or environment.tier == Tier.PROD
                or not environment.is_live
                or environment.runs.filter(kind=RunKind.DESTROY).exclude(status__in=FINISHED_STATUSES).exists()
            ):
                continue  # a destroy someone asked for is already on its way
            run = queue_run(environment, RunKind.DESTROY, None)
            run.log(
                f"{environment.name} expired at {environment.expires_at:%Y-%m-%d %H:%M} UTC: Launchpad destroys it "
                "as its owner agreed when choosing its lifetime."
            )
            environment.expiry_destroy_run = run
            environment.save(update_fields=["expiry_destroy_run", "updated_at"])
            record("environment.expired", environment, actor=None, run_id=run.pk)
            destroying.append(run)
    return destroying

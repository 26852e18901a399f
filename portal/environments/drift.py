"""What a worker does with a drift check it took: a refresh-only plan (never applied), its output as the check's
events, what drifted recorded on the check and the environment, the owners told of new drift."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from portal.activity.models import record
from portal.environments.choices import DRIFT_CHECKED_STATUSES, DriftCheckStatus
from portal.environments.models import DriftCheck, DriftCheckEvent, Environment
from portal.jobs.heartbeat import Heartbeat
from portal.jobs.output import EventWriter
from portal.jobs.terraform import KNOWN_FAILURES, describe_failure, recover_state, state_store, terraform_request
from portal.notifications.choices import Event
from portal.notifications.services import notify
from provisioning import engine, toolchain

log = logging.getLogger(__name__)


def carry_out(check: DriftCheck) -> None:
    """Run the refresh-only plan and record what it found; any error ends the check failed, with the reason."""
    environment = check.environment
    with Heartbeat(check), EventWriter(check, DriftCheckEvent.append) as output:
        try:
            chain = toolchain.prepare()
            recover_state(environment, check.pk, output, chain, operation="drift")
            store = state_store(output, chain, environment.region)
            outcome = engine.check_drift(
                terraform_request(environment, check.pk, store, operation="drift"),
                chain,
                settings.LAUNCHPAD["WORK_DIR"],
                output,
            )
        except Exception as error:  # the check must end failed, never stay "running"
            known = isinstance(error, KNOWN_FAILURES)
            if not known:
                log.exception("drift check %s failed unexpectedly", check.pk)
            described = describe_failure(error, environment) if known else str(error)
            reason = engine.Redactor(environment.secrets().values())(f"{error.__class__.__name__}: {described}")
            with transaction.atomic():
                check.refresh_from_db()
                if not check.is_finished:
                    check.fail(reason)
            return
    _record_outcome(check, outcome)


def _drift_signature(resources: list[dict]) -> set[tuple]:
    return {(r["address"], a["name"]) for r in resources for a in r["attributes"]} | {
        (r["address"], r["action"]) for r in resources
    }


def _record_outcome(check: DriftCheck, outcome: engine.DriftOutcome) -> None:
    environment = check.environment
    with transaction.atomic():
        previous = (
            environment.drift_checks.filter(status__in=(DriftCheckStatus.CLEAN, DriftCheckStatus.DRIFTED))
            .exclude(pk=check.pk)
            .first()
        )
        check.finish(outcome.resources, outcome.reported_by_terraform)
        locked = Environment.objects.select_for_update().get(pk=environment.pk)
        # A run asked for since the check began decides the status (it may already have reconciled).
        if (
            not locked.runs.filter(created_at__gte=check.started_at).exists()
            and locked.status in DRIFT_CHECKED_STATUSES
        ):
            locked.drift_checked(outcome.drifted)
        record(
            "drift_check.finished",
            check,
            actor=None,
            environment=environment.name,
            status=check.status,
            resources=[resource["address"] for resource in outcome.resources][:50],
        )
        known = _drift_signature(previous.resources) if previous is not None else set()
        if outcome.drifted and _drift_signature(outcome.resources) != known:
            notify(
                Event.DRIFT_FOUND,
                locked,
                check_id=check.pk,
                resources=[
                    {"address": r["address"], "action": r["action"], "attributes": [a["name"] for a in r["attributes"]]}
                    for r in outcome.resources
                ],
                reconcile_url=environment.page_url("drift"),
            )

"""The Terraform workspaces jobs leave behind under WORK_DIR: removed once their run or drift check is over."""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction

from portal import crypto
from portal.activity.models import record
from portal.environments.models import DriftCheck
from portal.runs.models import Run
from provisioning.workspace import ErroredState, FoundWorkspace, found_workspaces, remove_workspace

log = logging.getLogger(__name__)


def sweep_workspaces() -> int:
    """Remove the workspaces under WORK_DIR whose run or drift check is no longer under way; return how many.

    A worker killed mid-run leaves its workspace: the saved plan holds every variable value (secrets included),
    Terraform's log files its output, and an ``errored.tfstate`` a whole state. Left alone: the workspace of a
    run or a drift check another live worker holds (fresh heartbeat), of a drift check still queued, and any
    workspace a Terraform still works in (provisioning.workspace.remove_workspace; swept again next time). An
    ``errored.tfstate`` is first kept encrypted on its run, for the next run of the environment to push
    (portal.jobs.terraform.recover_state).
    """
    found = found_workspaces(settings.LAUNCHPAD["WORK_DIR"])
    if not found:
        return 0
    ids = {operation: {w.operation_id for w in found if w.operation == operation} for operation in ("run", "drift")}
    under_way = {("run", pk) for pk in Run.alive().filter(pk__in=ids["run"]).values_list("pk", flat=True)} | {
        ("drift", check.pk)
        for check in DriftCheck.objects.filter(pk__in=ids["drift"]).exclude(status__in=DriftCheck.finished_statuses)
        if not check.is_lost()
    }
    removed = 0
    for left in found:
        if (left.operation, left.operation_id) in under_way:
            continue
        try:
            if remove_workspace(left.path, partial(_keep_errored_state, left)):
                removed += 1
                log.info("removed the workspace %s left behind", left.path.name)
        except Exception:  # one workspace that cannot go must not keep the others
            log.exception("could not remove the workspace %s left behind", left.path)
    return removed


def _keep_errored_state(left: FoundWorkspace, errored: ErroredState) -> None:
    """Keep encrypted on its run the state Terraform could not save, found in a workspace left behind."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=left.operation_id).first() if left.operation == "run" else None
        if run is None:
            # No run to keep it on (its environment was deleted): it is not left on disk in clear either.
            log.error(
                "the workspace %s held a state Terraform could not save (%s bytes) and no run of Launchpad to keep "
                "it on: it was removed with the workspace",
                left.path.name,
                len(errored.state),
            )
            return
        run.keep_left_state(crypto.encrypt_bytes(errored.state), errored.lock_id or run.unreleased_lock_id)
        run.log(
            "Terraform ended after this run's worker was lost, without saving the state to the state store: Launchpad "
            f"kept it (encrypted, on this run) and pushes it before the next run of {run.environment.name}."
        )
    record("run.state_kept", run, actor=None, lock_id=run.unreleased_lock_id)

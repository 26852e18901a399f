"""Asking for a drift check: what the views and the API call; the check goes to a worker after commit."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from portal.environments.models import DriftCheck, Environment
from portal.environments.tasks import check_drift


def request_drift_check(environment: Environment, user=None, request=None) -> DriftCheck:
    """Queue a drift check of ``environment`` (refused with the reason: Environment.new_drift_check) and send it
    to a worker after commit."""
    with transaction.atomic():
        check = environment.new_drift_check(user, request)
        transaction.on_commit(partial(check_drift.delay, check.pk))
    return check

"""What the views and the API call: define an environment (and ask for its first apply), change its settings (and
ask for the run that plans the change), ask for a drift check (it goes to a worker after commit)."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet

from portal.activity.models import record
from portal.environments.models import CheckedDefinition, DriftCheck, Environment, create_environment, lock_networks
from portal.environments.tasks import check_drift
from portal.runs.choices import RunKind
from portal.runs.models import Run
from portal.runs.services import request_run

# The runs the history shows of each environment that carried a name: the newest; the rest a page further.
HISTORY_RUNS = 20


def name_history(name: str) -> QuerySet[Environment]:
    """Every environment that carried ``name``, the newest first, each with its ``runs_count`` and its newest
    HISTORY_RUNS runs (``newest_runs``): a name used for years has thousands of runs; a page shows a bounded part."""
    newest = Run.objects.select_related("requested_by").order_by("-created_at", "-id")[:HISTORY_RUNS]
    return (
        Environment.objects.filter(name=name)
        .select_related("blueprint", "owner")
        .annotate(runs_count=Count("runs"))
        .prefetch_related(Prefetch("runs", queryset=newest, to_attr="newest_runs"))
        .order_by("-created_at", "-id")
    )


def request_drift_check(environment: Environment, user=None, request=None) -> DriftCheck:
    """Queue a drift check of ``environment`` (refused with the reason: Environment.new_drift_check) and send it
    to a worker after commit."""
    with transaction.atomic():
        check = environment.new_drift_check(user, request)
        transaction.on_commit(partial(check_drift.delay, check.pk))
    return check


def define_environment(definition: CheckedDefinition, owner, apply: bool = False, request=None):
    """Create the environment ``definition`` (check_definition's, made before: this takes the region's network
    lock, under which no Terraform runs) for ``owner``, record it in the activity log and, with ``apply``, ask for
    its first apply run: all of it or, on a refusal, none of it. Returns the environment and the run (None
    without ``apply``)."""
    with transaction.atomic():
        environment = create_environment(definition, owner)
        record("environment.created", environment, actor=owner, request=request, blueprint=definition.blueprint.name)
        run = request_run(environment, RunKind.APPLY, owner, request) if apply else None
    return environment, run


def change_settings(environment: Environment, variables: dict, user, apply: bool = True, request=None):
    """Give ``environment`` the settings ``variables`` (Environment.change_settings: the rules of a new definition)
    and ask for the run that plans the change: an apply run under the usual approval rules, or with ``apply``
    False a plan only. All of it or, on a refusal, none of it. Returns the run.

    The blueprint's rules are checked first, with no lock held (a Terraform process); under the locks only what
    may have changed meanwhile is checked again (Environment.change_settings)."""
    checked = environment.check_settings(variables)
    with transaction.atomic():
        # Locked: a run asked for meanwhile waits, and then finds the new settings.
        locked = Environment.objects.select_for_update().select_related("blueprint").get(pk=environment.pk)
        lock_networks(locked.region)  # a new vpc_cidr is checked against the others' while none can take it
        locked.change_settings(checked, user, request)
        return request_run(locked, RunKind.APPLY if apply else RunKind.PLAN, user, request)

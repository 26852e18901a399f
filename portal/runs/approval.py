"""When a plan waits for an approver: the per-tier policy (LAUNCHPAD_APPROVAL_POLICY, docs/lifecycle.md) applied to
a plan, and Launchpad's own destroy of an expired environment, which needs none."""

from __future__ import annotations

from django.conf import settings

from portal.activity.models import record
from portal.environments.choices import Tier
from portal.environments.models import Environment
from portal.runs.choices import RunKind
from portal.runs.models import Run
from provisioning import audit
from provisioning.blueprints import declared_resources
from provisioning.engine import STATEFUL_RESOURCE_TYPES


def tier_policy(tier: str) -> dict:
    """The approval policy of ``tier`` (LAUNCHPAD_APPROVAL_POLICY, checked when the settings load)."""
    return settings.LAUNCHPAD_APPROVAL_POLICY[tier]


def data_loss_scope(environment: Environment, requested_by_id: int | None) -> str:
    """Which data losses wait for a second person when ``requested_by_id`` asks: the owner's scope or others'."""
    policy = tier_policy(environment.tier)
    return policy["data_loss_by_owner" if requested_by_id == environment.owner_id else "data_loss_by_others"]


def changes_resources(summary: dict) -> bool:
    """The plan adds, changes or destroys a resource ("+0 ~0 -0" changes outputs at most: nothing to approve)."""
    return any(summary.get(count, 0) for count in ("add", "change", "destroy"))


def approval_reasons(run: Run, summary: dict, findings: list[dict] | None = None, audit_error: str = "") -> list[str]:
    """Why a plan must wait for an approver (empty: it may apply at once)."""
    if preapproved_by_expiry(run):
        return []
    # High-severity security findings (provisioning.audit) stop the automatic apply: a hole is not made.
    reasons = audit.plan_approval_reasons(findings or [], audit_error)
    if not changes_resources(summary):
        return reasons
    # Every resource that holds data (summary["stateful_losses"], also the plan's "Data is lost" panel) is named.
    return reasons + policy_reasons(run.environment, run.requested_by_id, summary.get("stateful_losses", []))


def policy_reasons(environment: Environment, requested_by_id: int | None, losses: list[dict]) -> list[str]:
    """Why the tier's policy makes a change of ``environment`` asked for by ``requested_by_id`` wait for an
    approver, when it destroys or replaces ``losses`` (resources that hold data: {"address", "type"})."""
    reasons = []
    if tier_policy(environment.tier)["every_change"]:
        reasons.append(f"{environment.get_tier_display()} environments need an approver.")
    scope = data_loss_scope(environment, requested_by_id)
    if scope == "any" and losses:
        names = ", ".join(loss["address"] for loss in losses)
        reasons.append(f"The plan destroys or replaces {_resources(len(losses))} that hold data: {names}.")
    shared = [loss for loss in losses if loss["type"] in settings.LAUNCHPAD_SHARED_DATA_TYPES]
    if scope == "shared" and shared:
        names = ", ".join(loss["address"] for loss in shared)
        reasons.append(f"The plan destroys or replaces shared data (databases and tables others use): {names}.")
    return reasons


def _resources(count: int) -> str:
    return f"{count} resource" + ("" if count == 1 else "s")


def destroy_outlook(environment: Environment, user) -> str:
    """What happens once ``user`` confirms the destroy of ``environment``, for the confirmation page: the reasons
    approval_reasons gives the destroy's plan, for the data its blueprint holds (a destroy deletes all of it)."""
    if environment.holds_nothing:
        return "Nothing of it was ever applied: it is deleted at once, without Terraform or an approver."
    reasons = policy_reasons(environment, user.pk, held_data(environment))
    if not reasons:
        return "You destroy it alone: Launchpad plans the destroy and applies it at once."
    return (
        "Launchpad plans the destroy, then it waits: someone other than you approves it before anything is "
        f"deleted. {' '.join(reasons)}"
    )


def held_data(environment: Environment) -> list[dict]:
    """The resources holding data that an environment of its blueprint has once applied, as a destroy's plan
    names them (summary["stateful_losses"])."""
    return [
        {"address": address, "type": resource_type}
        for address, resource_type in declared_resources(environment.blueprint.name)
        if resource_type in STATEFUL_RESOURCE_TYPES
    ]


def preapproved_by_expiry(run: Run) -> bool:
    """Launchpad's own destroy of an expired non-prod environment waits for no approver.

    Its owner chose the lifetime when creating the environment, was warned before its end and could extend
    it; at the end, Launchpad asked for this destroy (Environment.expiry_destroy_run). That agreement is the
    approval, so even the loss of stateful data goes ahead. Never for prod (which never expires either).
    The waiver is written to the run log and the activity log.
    """
    environment = run.environment
    if not (
        run.kind == RunKind.DESTROY
        and run.requested_by_id is None
        and environment.expiry_destroy_run_id == run.pk
        and environment.tier != Tier.PROD
        and environment.has_expired(run.created_at)
    ):
        return False
    reason = (
        f"Pre-approved by Launchpad: {environment.name} reached the end of the lifetime its owner "
        f"{environment.owner.get_username()} agreed to ({environment.expires_at:%Y-%m-%d %H:%M} UTC)."
    )
    run.log(reason)
    record("run.preapproved", run, actor=None, reason=reason, environment=environment.name)
    return True

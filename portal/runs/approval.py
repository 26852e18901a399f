"""When a plan waits for an approver: the per-tier policy (LAUNCHPAD_APPROVAL_POLICY, docs/lifecycle.md) applied to
a plan, and Launchpad's own destroy of an expired environment, which needs none."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.activity.models import record
from portal.environments.choices import Tier
from portal.environments.models import Environment
from portal.runs.choices import RunKind
from portal.runs.models import Run
from provisioning import audit

# Which losses of data wait for a second person (a policy's data_loss_by_owner and data_loss_by_others).
DATA_LOSS_SCOPES = ("any", "shared", "none")
POLICY_KEYS = {"every_change": bool, "data_loss_by_owner": str, "data_loss_by_others": str}


def tier_policy(tier: str) -> dict:
    """The approval policy of ``tier`` from LAUNCHPAD_APPROVAL_POLICY; a policy that says nothing clear about a tier
    stops the run rather than letting a plan through unreviewed."""
    policy = settings.LAUNCHPAD_APPROVAL_POLICY.get(tier)
    if (
        not isinstance(policy, dict)
        or set(policy) != set(POLICY_KEYS)
        or not all(isinstance(policy[key], kind) for key, kind in POLICY_KEYS.items())
        or not {policy["data_loss_by_owner"], policy["data_loss_by_others"]} <= set(DATA_LOSS_SCOPES)
    ):
        raise ImproperlyConfigured(
            f"LAUNCHPAD_APPROVAL_POLICY[{tier!r}] must be {{'every_change': true or false, 'data_loss_by_owner' and "
            f"'data_loss_by_others': one of {', '.join(DATA_LOSS_SCOPES)}}}."
        )
    return policy


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
    environment = run.environment
    if tier_policy(environment.tier)["every_change"]:
        reasons.append(f"{environment.get_tier_display()} environments need an approver.")
    scope = data_loss_scope(environment, run.requested_by_id)
    # Every resource that holds data (summary["stateful_losses"], also the plan's "Data is lost" panel) is named.
    losses = summary.get("stateful_losses", [])
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
    """What happens once ``user`` confirms the destroy of ``environment``, for the confirmation page: the same
    policy approval_reasons applies to the destroy's plan."""
    if environment.holds_nothing:
        return "Nothing of it was ever applied: it is deleted at once, without Terraform or an approver."
    if tier_policy(environment.tier)["every_change"]:
        return (
            f"{environment.get_tier_display()} environments need an approver: Launchpad plans the destroy, and "
            "someone other than you approves it before anything is deleted."
        )
    scope = data_loss_scope(environment, user.pk)
    if scope == "any":
        return "Launchpad plans the destroy first; as it deletes stored data, someone other than you approves it."
    if scope == "shared":
        return (
            "You destroy it alone: Launchpad plans the destroy and applies it at once. Only shared data "
            "(a database or table others use) would wait for an approver."
        )
    return "Launchpad plans the destroy and applies it at once."


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

"""When a plan waits for an approver, and when Launchpad's own destroy of an expired environment needs none."""

from __future__ import annotations

from portal.activity.models import record
from portal.environments.choices import Tier
from portal.runs.choices import RunKind
from portal.runs.models import Run
from provisioning import audit


def approval_reasons(run: Run, summary: dict, findings: list[dict] | None = None, audit_error: str = "") -> list[str]:
    """Why a plan must wait for an approver (empty: it may apply at once)."""
    if preapproved_by_expiry(run):
        return []
    # High-severity security findings (provisioning.audit) stop the automatic apply: a hole is not made.
    reasons = audit.plan_approval_reasons(findings or [], audit_error)
    if run.environment.tier != Tier.DEV:
        reasons.append(f"{run.environment.get_tier_display()} environments need an approver.")
    if summary["stateful_losses"]:
        names = ", ".join(r["address"] for r in summary["stateful_losses"][:5])
        reasons.append(f"The plan destroys or replaces resources that hold data: {names}.")
    return reasons


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

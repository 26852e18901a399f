"""Launchpad's security audit, without Django: rules over normalised resource documents, read live or from a plan.

- :mod:`provisioning.audit.rules`: the registry of rules (the one documented place) and their checks;
- :mod:`provisioning.audit.collect_live`: the account's resources, read through the boto3 factory;
- :mod:`provisioning.audit.from_plan`: the same documents from ``terraform show -json`` of a plan.
"""

from __future__ import annotations

from provisioning.audit.from_plan import plan_resources
from provisioning.audit.rules import RULES, Finding, Severity, evaluate


def check_plan(plan: dict) -> list[Finding]:
    """Every finding of the rules on the state a plan would leave (the pre-apply check)."""
    return evaluate(plan_resources(plan), source="plan")


def high_findings(findings: list[dict]) -> list[dict]:
    """The plan findings (as stored on a run) that stop an automatic apply."""
    return [finding for finding in findings if finding.get("severity") == Severity.HIGH]


def plan_approval_reasons(findings: list[dict], audit_error: str = "") -> list[str]:
    """Why the security check keeps a plan from applying at once (empty: it does not)."""
    reasons = []
    high = high_findings(findings)
    if high:
        rules = ", ".join(dict.fromkeys(finding["rule_id"] for finding in high))
        reasons.append(
            f"The security check found {len(high)} high-severity finding{'s' if len(high) != 1 else ''} "
            f"({rules}): only an admin can approve this plan, with a written justification."
        )
    if audit_error:
        reasons.append(f"The security check could not read the plan ({audit_error}): a person must review it.")
    return reasons


def plan_check_summary(findings: list[dict], audit_error: str = "") -> str:
    """One log line: what the security check found in the plan."""
    if audit_error:
        return f"Security check failed: {audit_error}"
    counts = {severity: 0 for severity in Severity}
    for finding in findings:
        counts[Severity(finding["severity"])] += 1
    listed = ", ".join(f"{count} {severity}" for severity, count in counts.items() if count)
    return f"Security check: {len(findings)} finding{'s' if len(findings) != 1 else ''} ({listed})."


__all__ = [
    "RULES",
    "Finding",
    "check_plan",
    "evaluate",
    "high_findings",
    "plan_approval_reasons",
    "plan_check_summary",
]

"""What a worker does with what a live audit saw: the findings of the audit's scope brought up to date (see
portal.audit.models), the audit run finished, and admins and owners told of new high-severity findings."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.audit.choices import UNRESOLVED_STATUSES, AuditRunStatus, FindingStatus, Severity
from portal.audit.models import ACCOUNT_SCOPE, REGIONAL_KINDS, AuditRun, Finding, release_expired_suppressions
from portal.environments.models import Environment
from portal.notifications.services import notify
from provisioning.audit.collect_live import Collection
from provisioning.audit.rules import Finding as RuleFinding


def _protected(finding: Finding, collection: Collection) -> bool:
    """Whether the audit could not see the finding's resource (unreadable, or a region it did not read)."""
    if finding.resource_kind in REGIONAL_KINDS and finding.region and finding.region not in collection.regions:
        return finding.region != "us-east-1"  # CloudFront's web ACLs are always read there
    for unreadable in collection.unreadable:
        if unreadable.key and unreadable.key == finding.resource_key:
            return True
        same_kind = not unreadable.key and unreadable.kind == finding.resource_kind
        if same_kind and (not unreadable.region or unreadable.region == finding.region):
            return True
    return False


def record_audit(run: AuditRun, collection: Collection, findings: list[RuleFinding]) -> AuditRun:
    """Bring the findings of the run's scope up to date with what the audit saw, and finish the run."""
    now = timezone.now()
    environments = Environment.objects.by_name()  # a tag names the environment holding the name now
    release_expired_suppressions(now)
    counts = {"new": 0, "reopened": 0, "resolved": 0}
    with transaction.atomic():
        keys = {(f.rule_id, f.resource_key) for f in findings}
        existing = {
            (f.rule_id, f.resource_key): f
            for f in Finding.objects.select_for_update().filter(resource_key__in={key for _, key in keys})
        }
        seen: set[int] = set()
        for found in findings:
            environment = environments.get(found.environment) if found.environment else None
            fields = {
                "severity": found.severity,
                "title": found.title,
                "message": found.message,
                "environment": environment,
                "environment_tag": found.environment or "",
                "resource_kind": found.resource_kind,
                "resource_id": found.resource_id[:255],
                "resource_arn": found.resource_arn,
                "region": found.region,
                "evidence": found.evidence,
                "pointers": found.pointers,
                "last_seen_at": now,
                "last_audit_run": run,
            }
            finding = existing.get((found.rule_id, found.resource_key))
            if finding is None:
                finding = Finding.objects.create(
                    rule_id=found.rule_id, resource_key=found.resource_key, first_seen_at=now, **fields
                )
                existing[(found.rule_id, found.resource_key)] = finding
                counts["new"] += 1
            else:
                for name, value in fields.items():
                    setattr(finding, name, value)
                if finding.status == FindingStatus.RESOLVED:
                    finding.status, finding.resolved_at, finding.reopened_at = FindingStatus.OPEN, None, now
                    counts["reopened"] += 1
                finding.save()
            seen.add(finding.pk)
            if finding.severity == Severity.HIGH and now in (finding.first_seen_at, finding.reopened_at):
                _notify_high_finding(finding)  # new or reopened: admins and the environment's owner are told
        in_scope = Finding.objects.select_for_update().filter(status__in=UNRESOLVED_STATUSES).exclude(pk__in=seen)
        if run.scope != ACCOUNT_SCOPE:
            in_scope = in_scope.filter(environment__name=run.scope)
        for finding in in_scope:
            if _protected(finding, collection):
                continue
            finding.status, finding.resolved_at = FindingStatus.RESOLVED, now
            finding.save(update_fields=["status", "resolved_at"])
            # Fixed: a suppression of it has nothing left to suppress; if it comes back, it is open.
            finding.suppressions.filter(ended_at__isnull=True, expires_at__gt=now).update(ended_at=now)
            counts["resolved"] += 1
        run.status, run.finished_at = AuditRunStatus.SUCCEEDED, timezone.now()
        run.resources_audited, run.findings_seen = len(collection.resources), len(findings)
        run.new_findings, run.reopened_findings, run.resolved_findings = (
            counts["new"],
            counts["reopened"],
            counts["resolved"],
        )
        run.warnings = [
            {"kind": u.kind, "region": u.region, "resource": u.key, "error": u.error} for u in collection.unreadable
        ]
        run.save()
    return run


def _notify_high_finding(finding: Finding) -> None:
    """Tell admins and the environment's owner (e-mail, webhooks) after commit: portal.notifications."""
    notify(
        "audit.finding",
        finding.environment,
        severity=finding.severity,
        title=finding.title,
        rule_id=finding.rule_id,
        resource_id=finding.resource_id,
        region=finding.region,
        message=finding.message,
        finding_url=settings.LAUNCHPAD_BASE_URL + reverse("audit:finding", args=[finding.pk]),
    )

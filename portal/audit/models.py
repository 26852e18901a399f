"""The security audit's records: audit runs, the findings they keep up to date, and suppressions of findings.

A Finding is one rule (provisioning.audit.rules) broken by one resource, unique per (rule, resource). Each
live audit updates the findings of its scope: a finding seen again keeps its first-seen time and moves its
last-seen time; one not seen any more is resolved (its resource was fixed or is gone); a resolved one that
comes back is open again. A suppression (an admin's written justification and an expiry) sets a finding
aside until it expires; suppressing is recorded in the activity log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from portal.activity.models import record
from portal.audit.choices import (
    AUDIT_UNDER_WAY,
    AuditRunStatus,
    AuditTrigger,
    FindingStatus,
    ResourceKind,
    Severity,
)
from portal.environments.models import Environment
from portal.jobs.models import Job
from portal.refusals import Refused
from provisioning.audit.rules import RULES, Rule
from provisioning.aws import default_region

MAX_SUPPRESSION_DAYS = 365
ACCOUNT_SCOPE = "account"
# Resources of these kinds live in a region: an audit of other regions says nothing about them.
REGIONAL_KINDS = {"security_group", "rds_instance", "waf_web_acl"}


class AuditError(Refused):
    """The audit cannot do this now; the message says why, for the user."""


class AuditRun(Job):
    """One live audit of the account, or of one environment's resources."""

    queued_status, failed_status = AuditRunStatus.QUEUED, AuditRunStatus.FAILED
    working_statuses = (AuditRunStatus.RUNNING,)
    finished_statuses = (AuditRunStatus.SUCCEEDED, AuditRunStatus.FAILED)
    error_class = AuditError
    label = "audit"
    lost_advice = "Its findings were left as they were; audit again."
    claim_related = ("environment",)

    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_runs"
    )
    scope = models.CharField(max_length=40, default=ACCOUNT_SCOPE, help_text="'account', or the environment's name.")
    trigger = models.CharField(max_length=20, choices=AuditTrigger.choices, default=AuditTrigger.ON_DEMAND)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_runs"
    )
    status = models.CharField(
        max_length=20, choices=AuditRunStatus.choices, default=AuditRunStatus.QUEUED, db_index=True
    )
    regions = models.JSONField(default=list, blank=True)
    resources_audited = models.PositiveIntegerField(default=0)
    findings_seen = models.PositiveIntegerField(default=0)
    new_findings = models.PositiveIntegerField(default=0)
    reopened_findings = models.PositiveIntegerField(default=0)
    resolved_findings = models.PositiveIntegerField(default=0)
    # Resources (or whole services) the audit could not read: their findings were left as they were.
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"audit #{self.pk} of {self.scope_label}"

    @property
    def scope_label(self) -> str:
        return "the whole account" if self.scope == ACCOUNT_SCOPE else self.scope


class Finding(models.Model):
    """One rule broken by one resource, kept across audits."""

    rule_id = models.CharField(max_length=64, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    title = models.CharField(max_length=300)
    message = models.TextField()
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    # The resource's Environment tag as read (it may name no Launchpad environment: then account-wide).
    environment_tag = models.CharField(max_length=100, blank=True)
    resource_kind = models.CharField(max_length=30, choices=ResourceKind.choices, db_index=True)
    resource_id = models.CharField(max_length=255)
    resource_arn = models.CharField(max_length=1024, blank=True)
    resource_key = models.CharField(max_length=1024)
    region = models.CharField(max_length=30, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    pointers = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN, db_index=True)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    last_audit_run = models.ForeignKey(AuditRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule_id", "resource_key"], name="finding_rule_resource_unique")]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.resource_id}"[:200]

    @property
    def rule(self) -> Rule | None:
        return RULES.get(self.rule_id)

    @property
    def active_suppression(self) -> Suppression | None:
        now = timezone.now()
        return self.suppressions.filter(ended_at__isnull=True, expires_at__gt=now).order_by("-created_at").first()

    @property
    def scope_label(self) -> str:
        return self.environment.name if self.environment_id else "account-wide"


class Suppression(models.Model):
    """An admin sets a finding aside until ``expires_at``, saying why; it ends early if the finding is fixed."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="suppressions")
    justification = models.TextField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="audit_suppressions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"suppression of {self.finding} until {self.expires_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()


def open_high_findings(environments: Environment | Iterable[Environment] | None = None) -> models.QuerySet[Finding]:
    """The open high-severity findings whose resource belongs to ``environments`` (one environment, several, or
    with None every environment: a list's prefetch), oldest first: what the environment's page and API, its
    dashboard and the fleet's health show. A suppressed finding was set aside by an admin; a resolved one is fixed."""
    found = Finding.objects.filter(status=FindingStatus.OPEN, severity=Severity.HIGH).order_by("first_seen_at", "id")
    if environments is None:
        return found.filter(environment__isnull=False)
    if isinstance(environments, Environment):
        environments = [environments]
    return found.filter(environment__in=list(environments))


# --- asking for an audit -------------------------------------------------------------------------
def audit_under_way(environment: Environment | None) -> AuditRun | None:
    """A queued or running audit of the same scope (one whose worker was lost is failed by the reaper)."""
    scope = environment.name if environment else ACCOUNT_SCOPE
    return AuditRun.objects.filter(status__in=AUDIT_UNDER_WAY, scope=scope).order_by("-created_at").first()


def create_audit_run(environment: Environment | None, trigger: str, user=None) -> AuditRun:
    """A queued audit of ``environment`` (None: the whole account); refused while one of the scope is under way."""
    running = audit_under_way(environment)
    if running is not None:
        raise AuditError(f"An audit of {running.scope_label} is already under way (#{running.pk}).")
    return AuditRun.objects.create(
        environment=environment,
        scope=environment.name if environment else ACCOUNT_SCOPE,
        trigger=trigger,
        requested_by=user,
    )


def audit_regions(environment: Environment | None = None) -> list[str]:
    """The regions an audit reads: the environment's, or those of every live environment and the default one."""
    if environment is not None:
        return [environment.region]
    return sorted({default_region(), *Environment.objects.live().values_list("region", flat=True)})


# --- suppressions --------------------------------------------------------------------------------
def suppress(finding: Finding, user, justification: str, expires_at, request=None) -> Suppression:
    """Set ``finding`` aside until ``expires_at``: needs a justification and a future expiry (≤ 365 days)."""
    now = timezone.now()
    justification = (justification or "").strip()
    errors: dict[str, list[str]] = {}
    if finding.status == FindingStatus.RESOLVED:
        raise ValidationError("This finding is resolved: there is nothing to suppress.")
    if not justification:
        errors["justification"] = ["Say why this finding is acceptable: a suppression needs a justification."]
    if expires_at is None:
        errors["expires_at"] = ["Give the date the suppression ends: a suppression needs an expiry."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + timedelta(days=MAX_SUPPRESSION_DAYS):
        errors["expires_at"] = [
            f"A suppression lasts at most {MAX_SUPPRESSION_DAYS} days: choose an earlier expiry and review it then."
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        finding.suppressions.filter(ended_at__isnull=True, expires_at__gt=now).update(ended_at=now)
        suppression = Suppression.objects.create(
            finding=finding, justification=justification, expires_at=expires_at, created_by=user
        )
        finding.status = FindingStatus.SUPPRESSED
        finding.save(update_fields=["status"])
        record(
            "finding.suppressed",
            finding,
            actor=user,
            request=request,
            rule=finding.rule_id,
            resource=finding.resource_id,
            justification=justification,
            expires_at=expires_at.isoformat(),
        )
    return suppression


def release_expired_suppressions(now=None) -> int:
    """Re-open every suppressed finding whose suppression has run out; return how many."""
    now = now or timezone.now()
    active = Suppression.objects.filter(finding=OuterRef("pk"), ended_at__isnull=True, expires_at__gt=now)
    expired = list(Finding.objects.filter(status=FindingStatus.SUPPRESSED).exclude(Exists(active)))
    for finding in expired:
        with transaction.atomic():
            updated = Finding.objects.filter(pk=finding.pk, status=FindingStatus.SUPPRESSED).update(
                status=FindingStatus.OPEN
            )
            if updated:
                record(
                    "finding.suppression_expired",
                    finding,
                    actor=None,
                    rule=finding.rule_id,
                    resource=finding.resource_id,
                )
    return len(expired)

from django.db import models

from provisioning.audit.resources import KIND_LABELS
from provisioning.audit.resources import ResourceKind as Kind
from provisioning.audit.rules import Severity as RuleSeverity


class Severity(models.TextChoices):
    HIGH = RuleSeverity.HIGH.value, "High"
    MEDIUM = RuleSeverity.MEDIUM.value, "Medium"
    LOW = RuleSeverity.LOW.value, "Low"


class ResourceKind(models.TextChoices):
    IAM_ROLE = Kind.IAM_ROLE.value, KIND_LABELS[Kind.IAM_ROLE]
    WAF_WEB_ACL = Kind.WAF_WEB_ACL.value, KIND_LABELS[Kind.WAF_WEB_ACL]
    SECURITY_GROUP = Kind.SECURITY_GROUP.value, KIND_LABELS[Kind.SECURITY_GROUP]
    S3_BUCKET = Kind.S3_BUCKET.value, KIND_LABELS[Kind.S3_BUCKET]
    RDS_INSTANCE = Kind.RDS_INSTANCE.value, KIND_LABELS[Kind.RDS_INSTANCE]


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUPPRESSED = "suppressed", "Suppressed"
    RESOLVED = "resolved", "Resolved"


# A finding still in force: not fixed, whether or not someone accepted it for a while.
UNRESOLVED_STATUSES = (FindingStatus.OPEN, FindingStatus.SUPPRESSED)


class AuditRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Auditing"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


AUDIT_UNDER_WAY = (AuditRunStatus.QUEUED, AuditRunStatus.RUNNING)


class AuditTrigger(models.TextChoices):
    ON_DEMAND = "on_demand", "On demand"
    SCHEDULE = "schedule", "Schedule"

from django.db import models


class Event(models.TextChoices):
    """What Launchpad tells owners and channels about."""

    RUN_NEEDS_APPROVAL = "run.needs_approval", "A run waits for an approver"
    RUN_FAILED = "run.failed", "A run failed"
    RUN_REJECTED = "run.rejected", "A run's plan was rejected"
    DRIFT_FOUND = "drift.found", "Drift found"
    ENVIRONMENT_EXPIRING = "environment.expiring", "An environment expires soon"
    ENVIRONMENT_DESTROYED = "environment.destroyed", "An environment was destroyed"
    AUDIT_FINDING = "audit.finding", "High-severity audit finding"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"

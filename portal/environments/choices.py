from django.db import models


class Tier(models.TextChoices):
    DEV = "dev", "Development"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"


class EnvironmentStatus(models.TextChoices):
    NEW = "new", "New (never applied)"
    PROVISIONING = "provisioning", "Provisioning"
    READY = "ready", "Ready"
    # A drift check found resources changed outside Terraform; an apply (or undoing the change) reconciles.
    DRIFTED = "drifted", "Drifted"
    FAILED = "failed", "Failed"
    DESTROYING = "destroying", "Destroying"
    DESTROYED = "destroyed", "Destroyed"


class DriftCheckStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Checking"
    CLEAN = "clean", "No drift"
    DRIFTED = "drifted", "Drift found"
    FAILED = "failed", "Failed"


DRIFT_CHECK_UNDER_WAY = (DriftCheckStatus.QUEUED, DriftCheckStatus.RUNNING)
# Environments whose drift is worth checking: applied, and not being changed or removed right now.
DRIFT_CHECKED_STATUSES = (EnvironmentStatus.READY, EnvironmentStatus.DRIFTED)

# Statuses an apply or a destroy may begin from: not while another one is changing the environment, nor once
# destroyed (Environment.run_refusal says why).
CHANGEABLE_STATUSES = (
    EnvironmentStatus.NEW,
    EnvironmentStatus.READY,
    EnvironmentStatus.DRIFTED,
    EnvironmentStatus.FAILED,
)

# Statuses of an environment whose resources may exist (they count for CIDR overlap).
LIVE_STATUSES = (
    EnvironmentStatus.NEW,
    EnvironmentStatus.PROVISIONING,
    EnvironmentStatus.READY,
    EnvironmentStatus.DRIFTED,
    EnvironmentStatus.FAILED,
    EnvironmentStatus.DESTROYING,
)

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
)

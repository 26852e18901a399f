from django.db import models


class RunKind(models.TextChoices):
    PLAN = "plan", "Plan only"
    APPLY = "apply", "Plan and apply"
    DESTROY = "destroy", "Destroy"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Planning"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPLYING = "applying", "Applying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"


# A run holding its environment: no other run of that environment may start meanwhile.
ACTIVE_STATUSES = (RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL, RunStatus.APPLYING)
# A run a worker is executing right now (it must keep its heartbeat fresh).
WORKING_STATUSES = (RunStatus.RUNNING, RunStatus.APPLYING)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.REJECTED)

# What the run page says of a run in each status, as a sentence ("The run is succeeded." was not one).
STATUS_SENTENCES = {
    RunStatus.QUEUED: "The run is queued: a worker starts it when the environment's earlier runs are done.",
    RunStatus.RUNNING: "Terraform is planning.",
    RunStatus.AWAITING_APPROVAL: "The plan waits for an approver.",
    RunStatus.APPLYING: "Terraform is applying the plan.",
    RunStatus.SUCCEEDED: "The run succeeded.",
    RunStatus.FAILED: "The run failed.",
    RunStatus.CANCELLED: "The run was cancelled.",
    RunStatus.REJECTED: "The run was rejected.",
}
APPROVED_AND_QUEUED = "The plan is approved: its apply is queued."

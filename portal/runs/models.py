"""A Run is a row with a life (plan → approval → apply, or destroy); its output is ordered RunEvents.

Every status change goes through one method here, which checks the current status first.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from portal.accounts.roles import approver_accounts, is_admin, is_approver
from portal.activity.models import record
from portal.environments.models import Environment, LifecycleError
from portal.jobs.choices import EventStream
from portal.jobs.models import Job, JobEvent
from portal.refusals import Refused
from portal.runs.choices import (
    ACTIVE_STATUSES,
    APPROVED_AND_QUEUED,
    FINISHED_STATUSES,
    STATUS_SENTENCES,
    WORKING_STATUSES,
    RunKind,
    RunStatus,
)
from provisioning.audit import high_findings

# The module path an address begins with: module.environment.module.network of
# module.environment.module.network.aws_subnet.private[0] (module keys may hold dots, inside brackets).
MODULE_OF_ADDRESS = re.compile(r"^((?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*)")


class TransitionError(Refused):
    """The run is not in a status that allows this; the message says why, for the user."""


HIGH_FINDINGS_NEED_ADMIN = "The plan has high-severity security findings: only an admin can approve it."
HIGH_FINDINGS_NEED_JUSTIFICATION = (
    "The plan has high-severity security findings: write why they are acceptable to approve it."
)
SELF_APPROVAL_REFUSED = "A run must be approved by someone other than the person who asked for it."
REJECTION_NEEDS_REASON = "Say why the plan is rejected: the reason is kept with the run and sent to its owner."


class SecurityHold(TransitionError):
    """A plan with high-severity security findings, and an approver who is not an admin."""

    status_code = 403


class JustificationMissing(TransitionError):
    """A plan with high-severity security findings, approved without saying why they are acceptable."""

    status_code = 400
    field = "comment"


class ReasonMissing(TransitionError):
    """A rejection without a reason: the owner would not know what to change."""

    status_code = 400
    field = "reason"


def security_hold_refusal(run: Run, user, comment: str | None = None) -> TransitionError | None:
    """Why ``user`` may not approve ``run`` over its high-severity findings, or None: only an admin approves
    such a plan, with a written justification. ``comment`` None asks about the approver alone (the review page
    decides whether to offer the Approve button before anything is written)."""
    if not run.high_plan_findings:
        return None
    if not is_admin(user):
        return SecurityHold(HIGH_FINDINGS_NEED_ADMIN)
    if comment is not None and not comment.strip():
        return JustificationMissing(HIGH_FINDINGS_NEED_JUSTIFICATION)
    return None


def approval_refusal(run: Run, user, comment: str | None = None) -> TransitionError | None:
    """Why ``user`` may not approve ``run``, or None: the one rule of Run.approve and of the list of approvers.

    An approver (admins are approvers) other than the requester; over high-severity findings, an admin with a
    written justification (security_hold_refusal; ``comment`` None asks about the person alone).
    """
    if not is_approver(user):
        return TransitionError("Only approvers can approve runs.")
    if run.requested_by_id == user.pk:
        return TransitionError(SELF_APPROVAL_REFUSED)
    return security_hold_refusal(run, user, comment)


class Run(Job):
    queued_status, failed_status = RunStatus.QUEUED, RunStatus.FAILED
    working_statuses, finished_statuses = WORKING_STATUSES, FINISHED_STATUSES
    error_class = TransitionError
    label = "run"
    lost_advice = "Terraform's state lock is released when its process ends; plan again to converge."
    # A queued run whose message was lost is sent again (redispatch_stalled_runs), never failed for waiting.
    fails_untaken = False
    fails_lost_when_claimed = True
    claim_related, claim_locks = ("environment",), ("self", "environment")

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=RunKind.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="requested_runs"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="approved_runs"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    needs_approval = models.BooleanField(default=False)
    approval_reasons = models.JSONField(default=list, blank=True)
    plan_summary = models.JSONField(default=dict, blank=True)
    # Each resource the plan changes, its attributes before → after, sensitive values masked and the whole bounded
    # (provisioning.engine.plan_changes): the plan review's values, kept apart from the summary runs are listed with.
    plan_changes = models.JSONField(default=list, blank=True)
    # The security check's findings on the plan (provisioning.audit), shown in the plan review.
    plan_findings = models.JSONField(default=list, blank=True)
    has_changes = models.BooleanField(null=True)
    # The saved plan, Fernet-encrypted (it holds variable values): any worker can apply it.
    encrypted_plan = models.BinaryField(null=True, blank=True, editable=False)
    # Left by a run that lost AWS mid-way, for the next run of the environment (provisioning.engine.recover_state):
    # the state Terraform could not save to the state store, Fernet-encrypted (it holds secrets; never shown),
    # and the ID of the state lock it could not release.
    encrypted_kept_state = models.BinaryField(null=True, blank=True, editable=False)
    unreleased_lock_id = models.CharField(max_length=100, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} of {self.environment.name}"

    # --- reading ---------------------------------------------------------------------------
    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    @property
    def status_sentence(self) -> str:
        """Where the run stands, as one sentence for its page (from its real status, never from a guess)."""
        if self.status == RunStatus.QUEUED and self.approved:
            return APPROVED_AND_QUEUED
        return STATUS_SENTENCES[self.status]

    def page_url(self) -> str:
        """The run's page in the browser (for notifications)."""
        return settings.LAUNCHPAD_BASE_URL + reverse("runs:detail", args=[self.pk])

    def approvers(self) -> list:
        """Everyone who may approve this run, by the rule Run.approve applies (approval_refusal), by name."""
        return [user for user in approver_accounts().order_by("username") if approval_refusal(self, user) is None]

    @property
    def high_plan_findings(self) -> list[dict]:
        """Plan findings of high severity: only an admin may approve such a plan, with a justification."""
        return high_findings(self.plan_findings or [])

    def changes(self) -> list[dict]:
        """Each resource the plan changes (``provisioning.engine.ResourceChange.to_dict()``), in the summary's order;
        a run planned before values were kept has its resources' actions alone, without attributes."""
        kept = {change["address"]: change for change in self.plan_changes or []}
        return [
            kept.get(resource["address"])
            or {
                "address": resource["address"],
                "module": MODULE_OF_ADDRESS.match(resource["address"]).group(1).rstrip("."),
                "type": resource["type"],
                "action": resource["action"],
                "attributes": [],
                "replaced_because": [],
                "values_omitted": False,
            }
            for resource in (self.plan_summary or {}).get("resources", [])
        ]

    def overridden_findings_record(self, approve: bool) -> dict:
        """For the activity log of an approval: the high-severity plan findings the approver accepted."""
        if not (approve and self.high_plan_findings):
            return {}
        return {
            "overridden_findings": [
                f"{finding['rule_id']} on {finding.get('address') or finding.get('resource_id')}"
                for finding in self.high_plan_findings
            ]
        }

    def log(self, message: str, stream: str = EventStream.LAUNCHPAD, data: dict | None = None) -> RunEvent:
        """Append one event after the last one."""
        return RunEvent.append(self, [(stream, message, data)])[0]

    # --- transitions -----------------------------------------------------------------------
    def _save(self, *fields: str) -> None:
        self.save(update_fields=list(fields))

    def start(self, worker: str) -> None:
        """A worker takes the run (queued → planning, or approved → applying)."""
        self._require(RunStatus.QUEUED, action="start")
        self._save(
            *self._take(RunStatus.APPLYING if self.approved and self.encrypted_plan else RunStatus.RUNNING, worker)
        )

    def _may_start(self) -> bool:
        """The run starts when it is its environment's next and no other run holds the environment; otherwise it
        waits, and is dispatched when the one before it ends."""
        environment = Environment.objects.select_for_update().get(pk=self.environment_id)
        return active_run(environment) is None and next_queued_run(environment) == self

    def _started(self) -> None:
        """An approved plan applies at once: the environment begins changing, or refuses and the run fails."""
        if self.status != RunStatus.APPLYING:
            return
        try:
            self.begin_change(Environment.objects.select_for_update().get(pk=self.environment_id))
        except LifecycleError as error:
            self.fail(str(error))
            self.log(str(error))

    def begin_change(self, environment: Environment) -> None:
        """The environment starts changing as the run applies: provisioning, or destroying for a destroy."""
        if self.kind == RunKind.DESTROY:
            environment.begin_destroying()
        else:
            environment.begin_provisioning()

    def planned(
        self,
        summary: dict,
        has_changes: bool,
        reasons: list[str],
        plan: bytes | None,
        findings: list[dict] | None = None,
        changes: list[dict] | None = None,
    ) -> None:
        """The plan is ready: keep it, its changes and security findings, and say whether an approver must look at it."""
        self._require(RunStatus.RUNNING, action="record the plan of")
        self.plan_summary, self.has_changes = summary, has_changes
        self.plan_changes = changes or []
        self.approval_reasons, self.needs_approval = reasons, bool(reasons)
        self.plan_findings = findings or []
        self.encrypted_plan = plan
        self._save(
            "plan_summary",
            "plan_changes",
            "has_changes",
            "approval_reasons",
            "needs_approval",
            "plan_findings",
            "encrypted_plan",
        )

    def await_approval(self) -> None:
        self._require(RunStatus.RUNNING, action="ask approval for")
        self.status = RunStatus.AWAITING_APPROVAL
        self._save("status")

    def begin_apply(self) -> None:
        """Apply at once (no approval needed): planning → applying."""
        self._require(RunStatus.RUNNING, action="apply")
        self.status = RunStatus.APPLYING
        self._save("status")

    def approve(self, user, comment: str = "") -> None:
        """An approver other than the requester accepts the plan; the run queues for its apply.

        A plan with high-severity security findings is approved only by an admin, with a written justification.
        """
        self._require(RunStatus.AWAITING_APPROVAL, action="approve")
        refusal = approval_refusal(self, user, comment)
        if refusal is not None:
            raise refusal
        self.status, self.approved_by, self.approved_at = RunStatus.QUEUED, user, timezone.now()
        self.review_comment = comment
        self._save("status", "approved_by", "approved_at", "review_comment")

    def reject(self, user, reason: str) -> None:
        """An approver turns the plan down, saying why (kept as the run's review comment); nothing is applied."""
        self._require(RunStatus.AWAITING_APPROVAL, action="reject")
        if not is_approver(user):
            raise TransitionError("Only approvers can reject runs.")
        if not reason.strip():
            raise ReasonMissing(REJECTION_NEEDS_REASON)
        self.status, self.approved_by, self.review_comment = RunStatus.REJECTED, user, reason.strip()
        self.encrypted_plan = None
        self._finish("approved_by", "review_comment", "encrypted_plan")

    def cancel(self) -> None:
        """Queued or awaiting runs end at once; a planning run is interrupted by its worker."""
        if self.status == RunStatus.RUNNING:
            self.cancel_requested = True
            self._save("cancel_requested")
            return
        self._require(RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL, action="cancel")
        self.status, self.encrypted_plan = RunStatus.CANCELLED, None
        self._finish("encrypted_plan")

    def succeed(self) -> None:
        self._require(RunStatus.RUNNING, RunStatus.APPLYING, action="complete")
        self.status, self.encrypted_plan = RunStatus.SUCCEEDED, None
        self._finish("encrypted_plan")

    def finish_without_terraform(self, reason: str) -> None:
        """A destroy with nothing to destroy (Environment.holds_nothing) ends at once, no plan made: queued →
        succeeded, the reason in its log."""
        self._require(RunStatus.QUEUED, action="finish without Terraform")
        if self.kind != RunKind.DESTROY:
            raise TransitionError(f"Only a destroy run finishes without Terraform, not {self.kind} #{self.pk}.")
        self.status, self.has_changes, self.started_at = RunStatus.SUCCEEDED, False, timezone.now()
        self.plan_summary = {"add": 0, "change": 0, "destroy": 0, "replace": 0, "resources": [], "stateful_losses": []}
        self._finish("has_changes", "started_at", "plan_summary")
        self.log(reason)

    def fail(self, reason: str) -> None:
        """Any unfinished run can fail; the reason is kept for the user."""
        fields = self._fail(reason)
        self.encrypted_plan = None
        self._save(*fields, "encrypted_plan")

    def _failed_lost(self, reason: str) -> None:
        """Its worker was lost: the reason in its log too, and its environment failed if it was changing it."""
        self.log(reason)
        self.environment.run_failed()

    def keep_left_state(self, encrypted_state: bytes | None, lock_id: str) -> None:
        """Keep what this failed run left in AWS's stead: its state (encrypted) and the lock it still holds."""
        self.encrypted_kept_state, self.unreleased_lock_id = encrypted_state, lock_id
        self._save("encrypted_kept_state", "unreleased_lock_id")

    def forget_left_state(self, lock: bool = True, state: bool = True) -> None:
        """The next run released the lock and/or pushed the state this run left."""
        if lock:
            self.unreleased_lock_id = ""
        if state:
            self.encrypted_kept_state = None
        self._save("encrypted_kept_state", "unreleased_lock_id")

    def interrupted(self) -> None:
        """The worker stopped a planning run on the user's request."""
        self._require(RunStatus.RUNNING, action="interrupt")
        self.status, self.encrypted_plan = RunStatus.CANCELLED, None
        self._finish("encrypted_plan")

    def _finish(self, *fields: str) -> None:
        self.finished_at = timezone.now()
        self._save("status", "finished_at", *fields)


class RunEvent(JobEvent):
    """One line of a run's output (Terraform's -json events keep their structure in ``data``)."""

    job_field = "run"
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_event_seq_unique")]


def runs_with_left_state(environment: Environment) -> list[Run]:
    """Failed runs of ``environment`` that left a state or a lock to handle before the next run, oldest first."""
    return list(
        environment.runs.exclude(encrypted_kept_state__isnull=True, unreleased_lock_id="").order_by("created_at", "id")
    )


def active_run(environment: Environment) -> Run | None:
    return environment.runs.filter(status__in=ACTIVE_STATUSES).first()


def next_queued_run(environment: Environment) -> Run | None:
    """The run that goes next: an approved one first, then the oldest."""
    queued = environment.runs.filter(status=RunStatus.QUEUED)
    return (
        queued.filter(approved_at__isnull=False).order_by("approved_at").first()
        or queued.order_by("created_at", "id").first()
    )


def queue_run(environment: Environment, kind: str, user, request=None) -> Run:
    """A queued run of ``kind`` for ``environment`` with its first event, recorded in the activity log; refused
    with the reason (no such kind, any run of a destroyed environment: Environment.run_refusal). The caller sends it to a worker after
    commit (portal.runs.services.request_run; a beat task with portal.runs.tasks.dispatch_on_commit)."""
    if kind not in RunKind.values:
        raise TransitionError(f"{kind!r} is not a run kind: use plan, apply or destroy.")
    refusal = environment.run_refusal(destroy=kind == RunKind.DESTROY)
    if refusal:
        raise TransitionError(refusal)
    with transaction.atomic():
        run = Run.objects.create(environment=environment, kind=kind, requested_by=user)
        run.log(f"{kind.capitalize()} requested by {user.get_username() if user else 'launchpad'}.")
        record(f"run.{kind}.requested", run, actor=user, request=request, environment=environment.name)
    return run

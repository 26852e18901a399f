"""The life every background job shares (a run, a drift check, an audit run): one abstract model, no table.

A job is queued, taken by a worker (``start``), kept alive by that worker's heartbeat (portal.jobs.heartbeat) and
finished; a job whose worker stopped reporting is lost, and the reaper (portal.jobs.tasks) fails it with one
reason for every kind. Each kind keeps its own statuses and transitions; the parts they share are here.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

from portal.jobs.choices import EventStream

# A drift check or an audit still queued after this long was never taken (its message was lost): it is failed.
# Runs are not: a queued run may wait behind its environment's runs, and a lost message is sent again.
UNTAKEN_AFTER = timedelta(minutes=20)

# Sent (sender: the kind, job, reason) when a job is failed as lost, by the reaper or by a claim: what a kind does
# then (a run tells its owner and sends its environment's next run) lives with the kind's tasks, which a model
# may not import.
job_lost = Signal()


def heartbeat_timeout() -> timedelta:
    """A job whose worker has not reported for this long is lost (LAUNCHPAD_HEARTBEAT_TIMEOUT)."""
    return timedelta(seconds=settings.LAUNCHPAD["HEARTBEAT_TIMEOUT_SECONDS"])


class Job(models.Model):
    """A row with a life: queued → working → finished. Subclasses declare ``status`` and the class attributes."""

    # Set by each kind: its statuses, the exception its refusals raise, and its name in sentences.
    queued_status: str
    working_statuses: tuple[str, ...]
    finished_statuses: tuple[str, ...]
    failed_status: str
    error_class: type[Exception] = RuntimeError
    label = "job"
    # Said after the reason a job of this kind was lost (what its user should know or do).
    lost_advice = ""
    # Whether a queued job never taken within UNTAKEN_AFTER is lost (see there).
    fails_untaken = True
    # Whether a claim that finds the job's worker lost (its message delivered again) fails it then, rather than
    # leaving it to the reaper.
    fails_lost_when_claimed = False
    # The related rows a claim reads with the job, and those it locks with it ("self": the job).
    claim_related: tuple[str, ...] = ()
    claim_locks: tuple[str, ...] = ("self",)

    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    # --- reading ---------------------------------------------------------------------------
    @property
    def is_finished(self) -> bool:
        return self.status in self.finished_statuses

    @property
    def is_working(self) -> bool:
        return self.status in self.working_statuses

    @property
    def last_sign_of_life(self):
        return self.heartbeat_at or self.started_at or self.created_at

    def is_lost(self, now=None) -> bool:
        """Its worker stopped reporting, or (for the kinds that are failed so) no worker ever took it."""
        now = now or timezone.now()
        if self.is_working:
            return self.last_sign_of_life < now - heartbeat_timeout()
        return self.fails_untaken and self.status == self.queued_status and self.created_at < now - UNTAKEN_AFTER

    @classmethod
    def lost(cls, now=None) -> models.QuerySet:
        """The jobs of this kind that ``is_lost`` (read without a lock: check again under one before failing)."""
        now = now or timezone.now()
        working = models.Q(status__in=cls.working_statuses, sign_of_life__lt=now - heartbeat_timeout())
        untaken = models.Q(status=cls.queued_status, created_at__lt=now - UNTAKEN_AFTER)
        return cls._with_sign_of_life().filter((working | untaken) if cls.fails_untaken else working)

    @classmethod
    def alive(cls, now=None) -> models.QuerySet:
        """The jobs of this kind a worker holds right now (working, heartbeat fresh)."""
        now = now or timezone.now()
        return cls._with_sign_of_life().filter(
            status__in=cls.working_statuses, sign_of_life__gte=now - heartbeat_timeout()
        )

    @classmethod
    def _with_sign_of_life(cls) -> models.QuerySet:
        """The jobs annotated with ``sign_of_life``: ``last_sign_of_life`` in SQL."""
        return cls.objects.annotate(sign_of_life=Coalesce("heartbeat_at", "started_at", "created_at"))

    def lost_reason(self) -> str:
        """Why the reaper failed it: the same sentence for every kind, then the kind's advice."""
        if self.is_working:
            reason = (
                f"The worker running this {self.label} ({self.worker or 'unknown'}) stopped reporting at "
                f"{self.last_sign_of_life:%Y-%m-%d %H:%M:%S} UTC and is taken as lost."
            )
        else:
            reason = (
                f"No worker took this {self.label} within {UNTAKEN_AFTER.total_seconds() / 60:.0f} minutes of "
                f"{self.created_at:%Y-%m-%d %H:%M:%S} UTC (its message was lost): it is taken as lost."
            )
        return f"{reason} {self.lost_advice}".strip()

    # --- taking one ------------------------------------------------------------------------
    @classmethod
    def claim(cls, pk: int, worker: str) -> Job | None:
        """Take the job for ``worker`` if it is there to take: lock it, check it is queued and may start
        (``_may_start``), start it (``start``, then ``_started``). None when it is not this worker's to carry out.

        A job returned may be finished already (``_started`` may fail it): the caller does no work on it then.
        """
        with transaction.atomic():
            job = (
                cls.objects.select_for_update(of=cls.claim_locks)
                .select_related(*cls.claim_related)
                .filter(pk=pk)
                .first()
            )
            if job is None or job.status != cls.queued_status:
                if job is not None and cls.fails_lost_when_claimed and job.is_working and job.is_lost():
                    job.fail_lost()
                return None
            if not job._may_start():
                return None
            job.start(worker)
            job._started()
        return job

    def _may_start(self) -> bool:
        """Under the claim's lock: whether the queued job starts now (a kind may also fail it here)."""
        return True

    def _started(self) -> None:
        """Under the claim's lock, once started: what else a kind begins with it."""

    def start(self, worker: str) -> None:
        """A worker takes the queued job: its first working status."""
        self._require(self.queued_status, action="start")
        self.save(update_fields=self._take(self.working_statuses[0], worker))

    # --- transitions -----------------------------------------------------------------------
    def _require(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise self.error_class(
                f"Cannot {action} {self.label} #{self.pk}: it is {self.get_status_display().lower()}."
            )

    def _take(self, status: str, worker: str) -> list[str]:
        """A worker takes the job: it is ``status`` now, under ``worker``'s heartbeat; returns the fields set."""
        now = timezone.now()
        self.status, self.worker, self.heartbeat_at = status, worker, now
        self.started_at = self.started_at or now
        return ["status", "worker", "heartbeat_at", "started_at"]

    def _fail(self, reason: str) -> list[str]:
        """The job failed with ``reason`` (kept for the user); returns the fields set. Refused once finished."""
        if self.is_finished:
            raise self.error_class(f"{self.label.capitalize()} #{self.pk} already {self.status}.")
        self.status, self.error, self.finished_at = self.failed_status, reason[:4000], timezone.now()
        return ["status", "error", "finished_at"]

    def fail(self, reason: str) -> None:
        self.save(update_fields=self._fail(reason))

    def fail_lost(self) -> str:
        """Fail the lost job with the reason every kind shares (job_lost tells the kind); returns that reason."""
        reason = self.lost_reason()
        self.fail(reason)
        self._failed_lost(reason)
        job_lost.send(sender=type(self), job=self, reason=reason)
        return reason

    def _failed_lost(self, reason: str) -> None:
        """Once failed as lost: what else the kind's own rows record of it."""


class JobEvent(models.Model):
    """One line of a job's output, in order (Terraform's -json events keep their structure in ``data``).

    Subclasses add the foreign key to their job, named by ``job_field``, and a unique (job, seq) constraint.
    """

    job_field: str

    seq = models.PositiveIntegerField()
    stream = models.CharField(max_length=10, choices=EventStream.choices)
    message = models.TextField()
    data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"#{self.seq} {self.message[:60]}"

    @classmethod
    def append(cls, job: Job, lines: list[tuple[str, str, dict | None]]) -> list[JobEvent]:
        """Append ``lines`` (stream, message, data) after the job's last event, in order."""
        with transaction.atomic():
            # Lock the job's row so concurrent appenders take turns on the sequence.
            type(job).objects.select_for_update().filter(pk=job.pk).first()
            last = cls.objects.filter(**{cls.job_field: job}).aggregate(models.Max("seq"))["seq__max"] or 0
            events = [
                cls(**{cls.job_field: job}, seq=last + index, stream=stream, message=message, data=data)
                for index, (stream, message, data) in enumerate(lines, start=1)
            ]
            return cls.objects.bulk_create(events)

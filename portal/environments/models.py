"""Blueprints (one per root composition of the module library) and the environments made from them."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from portal import crypto
from portal.activity.models import record
from portal.environments.choices import (
    CHANGEABLE_STATUSES,
    DRIFT_CHECK_UNDER_WAY,
    DRIFT_CHECKED_STATUSES,
    LIVE_STATUSES,
    REGIONS,
    DriftCheckStatus,
    EnvironmentStatus,
    Tier,
)
from portal.jobs.models import Job, JobEvent
from portal.refusals import Refused
from portal.runs.choices import FINISHED_STATUSES, WORKING_STATUSES, RunKind, RunStatus
from portal.text_input import shown_key, unencodable_problem
from provisioning.blueprints import VariableValueError, check_value, list_blueprints, read_blueprint
from provisioning.variable_rules import VariableRulesError, check_rules

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,19}$")
MAX_LIFETIME_HOURS = 720  # 30 days: a longer-lived environment is not a sandbox, and has no expiry at all
DEFAULT_LIFETIME = object()  # "the blueprint's default lifetime", as opposed to None: "never expires"
# Limits on what a user may give as variables (no blueprint comes near them): a hostile or mistaken request is
# refused with one sentence instead of being stored, echoed back key by key, or handed to Terraform.
MAX_VARIABLES = 100
MAX_STRING_LENGTH = 1024
MAX_VARIABLES_SIZE = 64 * 1024  # characters of the variables as JSON
MAX_NESTING = 8
# Control characters (NUL, newlines, escape...) have no place in any variable; PostgreSQL cannot store NUL in JSON.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_NUMBERED_STATE_KEY = re.compile(r"^environments/[^/]+/(\d+)/terraform\.tfstate$")


class LifecycleError(Refused):
    """A lifecycle action (drift check, extension) is refused; the message says why, for the user."""


class ExtensionRefused(LifecycleError):
    """The lifetime cannot be pushed further: none to extend, the environment going, or past the longest."""

    status_code = 400


class RulesUnavailable(Refused):
    """Terraform could not evaluate the blueprint's validation rules, so nothing is accepted unchecked."""

    status_code = 503


class Blueprint(models.Model):
    """A root composition in terraform_modules/blueprints/, with its variables as read from its .tf files."""

    name = models.SlugField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    variables = models.JSONField(default=list, help_text="[{name, type, description, required, default, sensitive}]")
    available = models.BooleanField(default=True, help_text="False once its folder is gone from the library.")
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def spec(self):
        """The live spec from the module library (the source of truth)."""
        return read_blueprint(self.name)

    @property
    def user_variables(self) -> list[dict]:
        return [v for v in self.variables if not v["managed"]]


def sync_blueprints() -> list[Blueprint]:
    """Make the Blueprint rows match the module library's blueprints (new variables appear at once)."""
    names = list_blueprints()
    synced = []
    for name in names:
        spec = read_blueprint(name)
        variables = [
            {
                "name": v.name,
                "type": v.type,
                "description": v.description,
                "required": v.required,
                "default": v.default,
                "sensitive": v.sensitive,
                "managed": v.managed,
            }
            for v in spec.variables
        ]
        blueprint, _ = Blueprint.objects.update_or_create(
            name=name,
            defaults={
                "description": spec.description,
                "variables": variables,
                "available": True,
                "synced_at": timezone.now(),
            },
        )
        synced.append(blueprint)
    Blueprint.objects.exclude(name__in=names).update(available=False)
    return synced


def sync_blueprints_after_migrate(**kwargs) -> None:
    sync_blueprints()


# The order of an environment's runs and drift checks: the latest is the first.
NEWEST_FIRST = ("-created_at", "-id")


# Of the environments that carried a name, the one it means first: not destroyed, then the newest.
_MEANT_FIRST = (
    models.Case(models.When(status=EnvironmentStatus.DESTROYED, then=1), default=0),
    "-created_at",
    "-id",
)


class EnvironmentQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def not_destroyed(self):
        """What the list, the fleet and the menus show unless asked for more: destroyed environments left out."""
        return self.exclude(status=EnvironmentStatus.DESTROYED)

    def named(self, name: str):
        """The environment ``name`` means, alone in the queryset (or none): the one not destroyed, which holds the
        name, else the latest destroyed one. A name is used again once destroyed (earlier ones: Environment.history).
        """
        meant = self.model.objects.filter(name=name).order_by(*_MEANT_FIRST)
        return self.filter(pk__in=models.Subquery(meant.values("pk")[:1]))

    def by_name(self) -> dict:
        """{name: the environment it means (as named)} over the queryset."""
        found = {}
        for environment in self.order_by(*_MEANT_FIRST):
            found.setdefault(environment.name, environment)
        return found

    def with_latest_run(self):
        """Each environment's newest run (Environment.latest_run) in one query for the whole page, not one a row."""
        # The Run model through the relation: runs.models imports this module.
        newest = self.model.runs.rel.related_model.objects.order_by(*NEWEST_FIRST).only(
            "id", "environment_id", "kind", "status", "created_at"
        )
        return self.prefetch_related(models.Prefetch("runs", queryset=newest[:1], to_attr="latest_runs"))

    def with_latest_drift_check(self):
        """Each environment's newest drift check (Environment.last_drift_check) in one query for the whole page."""
        newest = DriftCheck.objects.order_by(*NEWEST_FIRST).select_related("requested_by")
        return self.prefetch_related(
            models.Prefetch("drift_checks", queryset=newest[:1], to_attr="latest_drift_checks")
        )


def _prefetched_newest(environment, to_attr: str, read):
    """The newest row prefetched into ``to_attr`` (None when there is none), or ``read()`` without the prefetch."""
    rows = getattr(environment, to_attr, None)
    if rows is None:
        return read()
    return rows[0] if rows else None


class Environment(models.Model):
    """A Spotmusic environment: a blueprint, its variables, and what Terraform made of it."""

    # Unique among the environments not destroyed (Meta.constraints): a destroyed name may be used again.
    name = models.CharField(max_length=20)
    blueprint = models.ForeignKey(Blueprint, on_delete=models.PROTECT, related_name="environments")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.DEV)
    region = models.CharField(max_length=20, default="eu-west-1")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="environments")
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=EnvironmentStatus.choices, default=EnvironmentStatus.NEW)
    outputs = models.JSONField(default=dict, blank=True)
    # Generated secrets (database password, app key), Fernet-encrypted; never in clear.
    encrypted_secrets = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    # Set from the lifetime the owner chose at creation; Launchpad destroys the environment then.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    # The destroy run Launchpad asked for when the lifetime ended (asked once; extending clears it).
    expiry_destroy_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    # Where Terraform keeps the environment's state in the state store: one key per environment ever made, so one
    # that takes a destroyed environment's name starts from an empty state (state_key_for).
    state_key = models.CharField(max_length=100, unique=True, editable=False)

    objects = EnvironmentQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=~models.Q(status=EnvironmentStatus.DESTROYED),
                name="environment_name_unique_unless_destroyed",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def vpc_cidr(self) -> str | None:
        return self.setting("vpc_cidr")

    def setting(self, name: str):
        """The value of the blueprint variable ``name``: the one set, else the blueprint's default (None: none)."""
        value = self.variables.get(name)
        if value is None:
            return next((v["default"] for v in self.blueprint.variables if v["name"] == name), None)
        return value

    def secrets_reserve_name_until(self) -> datetime | None:
        """Until when AWS keeps the names of the secrets a destroy deleted (secret_recovery_window_days after it,
        when above 0: the secrets can be recovered meanwhile, and a new one of the same name is refused), or None
        when it keeps none: not destroyed, no window, or its destroy deleted nothing (never applied)."""
        days = self.setting("secret_recovery_window_days")
        if self.destroyed_at is None or not isinstance(days, int | float) or days <= 0:
            return None
        deleted = self.runs.filter(kind=RunKind.DESTROY, status=RunStatus.SUCCEEDED, has_changes=True).exists()
        return self.destroyed_at + timedelta(days=days) if deleted else None

    # --- secrets ---------------------------------------------------------------------------
    def ensure_secrets(self) -> None:
        """Generate a value for every sensitive variable of the blueprint that has none yet."""
        current = self.secrets()
        changed = False
        for variable in self.blueprint.variables:
            if variable["sensitive"] and variable["name"] not in current:
                # 40 URL-safe characters (240 random bits): free of the characters RDS refuses in passwords
                # (/ @ " space) and within MySQL's 41-character limit (the database module checks both).
                current[variable["name"]] = secrets.token_urlsafe(30)
                changed = True
        if changed or not self.encrypted_secrets:
            self.encrypted_secrets = crypto.encrypt_json(current)

    def secrets(self) -> dict[str, str]:
        return crypto.decrypt_json(self.encrypted_secrets) if self.encrypted_secrets else {}

    def terraform_variables(self) -> dict:
        """The non-secret variables of a run (secrets go through the environment, see secret_environment)."""
        return run_variables(name=self.name, tier=self.tier, region=self.region, variables=self.variables)

    def secret_environment(self) -> dict[str, str]:
        """``TF_VAR_*`` for each generated secret: how secrets reach Terraform."""
        return {f"TF_VAR_{name}": value for name, value in self.secrets().items()}

    def history(self):
        """Every environment that carried this name, this one included, the newest first."""
        return Environment.objects.filter(name=self.name).order_by("-created_at", "-id")

    @property
    def holds_nothing(self) -> bool:
        """Nothing of the environment exists in AWS: never applied (or its applies created nothing: the status
        stays new, Environment.applied) and no worker planning or applying a run of it (a queued run, or a plan
        waiting for an approver, has changed nothing)."""
        return self.status == EnvironmentStatus.NEW and not self.runs.filter(status__in=WORKING_STATUSES).exists()

    def page_url(self, section: str = "") -> str:
        """The environment's page in the browser (for notifications), at ``section`` when given."""
        url = settings.LAUNCHPAD_BASE_URL + reverse("environments:detail", args=[self.name])
        return f"{url}#{section}" if section else url

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    # --- status: every change goes through one method here, which checks the current status first ---------
    def _require(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise LifecycleError(f"{self.name} is {self.get_status_display().lower()}: it cannot {action}.")

    def _set_status(self, status: str, *fields: str) -> None:
        self.status = status
        self.save(update_fields=["status", *fields, "updated_at"])

    def run_refusal(self, destroy: bool) -> str | None:
        """Why no run (a destroy if ``destroy``, else a plan or an apply) may be asked for or begin applying, or
        None. A destroyed environment is never planned or applied again: its network block went back to the pool
        and may be another environment's now; a new environment takes the name instead."""
        if self.status != EnvironmentStatus.DESTROYED:
            return None
        if destroy:
            return f"{self.name} is already destroyed."
        if self.name_taken_again():
            return f"{self.name} is destroyed: a newer environment carries the name now."
        return f"{self.name} is destroyed: create a new environment (the name is free again)."

    def _begin(self, status: str, *, destroy: bool, action: str) -> None:
        refusal = self.run_refusal(destroy)
        if refusal:
            raise LifecycleError(refusal)
        self._require(*CHANGEABLE_STATUSES, action=action)
        self._set_status(status)

    def begin_provisioning(self) -> None:
        """An apply run starts applying: provisioning. Refused while another change is under way, or once
        destroyed (run_refusal)."""
        self._begin(EnvironmentStatus.PROVISIONING, destroy=False, action="begin an apply")

    def name_taken_again(self) -> bool:
        return Environment.objects.not_destroyed().filter(name=self.name).exclude(pk=self.pk).exists()

    def begin_destroying(self) -> None:
        """A destroy run starts applying: destroying. Refused while another change is under way, or once
        destroyed."""
        self._begin(EnvironmentStatus.DESTROYING, destroy=True, action="begin a destroy")

    def drift_checked(self, drifted: bool) -> None:
        """A drift check found the environment drifted, or as Terraform left it (ready again)."""
        self._require(*DRIFT_CHECKED_STATUSES, action="take a drift check's result")
        status = EnvironmentStatus.DRIFTED if drifted else EnvironmentStatus.READY
        if self.status != status:
            self._set_status(status)

    def applied(self, outputs: dict, holds_resources: bool) -> None:
        """An apply run succeeded, changes or not: the environment is what the state holds, with its outputs.

        Ready when the state holds resources, whatever the status was (failed included: a run whose worker was
        lost while Terraform finished its apply left it so). Refused while a destroy is under way.
        """
        if self.status == EnvironmentStatus.DESTROYING:
            raise LifecycleError(f"{self.name} is being destroyed: an apply cannot settle it meanwhile.")
        self.outputs = outputs
        self._set_status(EnvironmentStatus.READY if holds_resources else self.status, "outputs")

    def destroyed(self) -> bool:
        """A destroy run succeeded (or found nothing to destroy): nothing of the environment is left.

        Returns False when it was destroyed already (a second destroy queued behind the first): it stays so.
        """
        if self.status == EnvironmentStatus.DESTROYED:
            return False
        self.outputs, self.destroyed_at = {}, timezone.now()
        self._set_status(EnvironmentStatus.DESTROYED, "outputs", "destroyed_at")
        return True

    def run_failed(self) -> None:
        """A run failed: failed if the run was changing the environment; as it was if it had not begun to."""
        if self.status in (EnvironmentStatus.PROVISIONING, EnvironmentStatus.DESTROYING):
            self._set_status(EnvironmentStatus.FAILED)

    # --- settings --------------------------------------------------------------------------
    def settings_refusal(self) -> str | None:
        """Why the settings cannot change now (destroyed, being changed, a run under way), or None."""
        if self.status in (EnvironmentStatus.PROVISIONING, EnvironmentStatus.DESTROYING, EnvironmentStatus.DESTROYED):
            return f"{self.name} is {self.get_status_display().lower()}: its settings cannot change."
        busy = self.busy_run()
        if busy is not None:
            return (
                f"{busy.kind.capitalize()} run #{busy.pk} of {self.name} is {busy.get_status_display().lower()}: "
                "change the settings once it has ended."
            )
        return None

    def check_settings(self, variables: dict) -> CheckedDefinition:
        """``variables`` as new settings, checked by the rules of a new definition (validate_environment, the
        blueprint's variable rules included: a Terraform process, so call it before taking any lock). Refused
        (LifecycleError) while settings_refusal says so."""
        refusal = self.settings_refusal()
        if refusal:
            raise LifecycleError(refusal)
        validate_environment(
            name=self.name,
            blueprint=self.blueprint,
            tier=self.tier,
            region=self.region,
            variables=variables,
            instance=self,
        )
        return CheckedDefinition(self.name, self.blueprint, self.tier, self.region, variables, self.expires_at)

    def change_settings(self, settings_checked: CheckedDefinition, user=None, request=None) -> dict:
        """Make the settings check_settings accepted the environment's own, once what can change meanwhile is
        checked again (hold lock_networks of its region): no run under way (settings_refusal), the network free.
        Recorded with each changed value, before and after; nothing is written on a refusal. Returns the changes
        ({name: {before, after}}).

        Name, tier and region are not settings: they name and place every resource, so they never change here.
        """
        refusal = self.settings_refusal()
        if refusal:
            raise LifecycleError(refusal)
        checked = recheck_definition(settings_checked, instance=self)
        defaults = {variable["name"]: variable["default"] for variable in self.blueprint.variables}
        changes = {
            name: {
                "before": self.variables.get(name, defaults.get(name)),
                "after": checked.get(name, defaults.get(name)),
            }
            for name in sorted(set(self.variables) | set(checked))
            if self.variables.get(name, defaults.get(name)) != checked.get(name, defaults.get(name))
        }
        self.variables = checked
        self.save(update_fields=["variables", "updated_at"])
        record("environment.settings_changed", self, actor=user, request=request, changes=changes)
        return changes

    # --- lifetime --------------------------------------------------------------------------
    def has_expired(self, moment: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (moment or timezone.now())

    def extend(self, hours: int, user, request=None) -> None:
        """Push the end of the lifetime ``hours`` further (from now, if it has already passed); audited."""
        _check_hours(hours, "hours")
        if self.expires_at is None:
            raise ExtensionRefused(f"{self.name} has no lifetime: it does not expire, so there is nothing to extend.")
        if self.status in (EnvironmentStatus.DESTROYING, EnvironmentStatus.DESTROYED):
            raise ExtensionRefused(f"{self.name} is {self.get_status_display().lower()}: its lifetime cannot change.")
        run = self.expiry_destroy_run
        if run is not None and not run.is_finished:
            raise ExtensionRefused(
                f"{self.name} expired and Launchpad's destroy run #{run.pk} is under way: cancel that run first "
                "to keep the environment, then extend it."
            )
        now = timezone.now()
        expires_at = max(self.expires_at, now) + timedelta(hours=hours)
        if expires_at > now + timedelta(hours=MAX_LIFETIME_HOURS):
            raise ExtensionRefused(
                f"{self.name} would then live until {expires_at:%Y-%m-%d %H:%M} UTC: an environment may be given "
                f"at most {MAX_LIFETIME_HOURS} hours from now."
            )
        previous = self.expires_at
        self.expires_at, self.expiry_warned_at, self.expiry_destroy_run = expires_at, None, None
        self.save(update_fields=["expires_at", "expiry_warned_at", "expiry_destroy_run", "updated_at"])
        record(
            "environment.extended",
            self,
            actor=user,
            request=request,
            hours=hours,
            previous_expires_at=previous.isoformat(),
            expires_at=expires_at.isoformat(),
        )

    # --- drift -----------------------------------------------------------------------------
    def last_drift_check(self) -> DriftCheck | None:
        return _prefetched_newest(
            self, "latest_drift_checks", lambda: self.drift_checks.order_by(*NEWEST_FIRST).first()
        )

    def latest_run(self):
        """The newest run, or None (prefetched for a whole list by EnvironmentQuerySet.with_latest_run)."""
        return _prefetched_newest(self, "latest_runs", lambda: self.runs.order_by(*NEWEST_FIRST).first())

    def busy_run(self):
        """A run of the environment under way (queued, planning, waiting, applying), or None: no drift check
        begins meanwhile."""
        return self.runs.exclude(status__in=FINISHED_STATUSES).first()

    def new_drift_check(self, user=None, request=None) -> DriftCheck:
        """A queued drift check (a refresh-only plan; it never applies), recorded; refused with the reason when
        the environment is not applied, a run or a check is under way. The caller sends it to a worker
        (portal.environments.services.request_drift_check)."""
        if self.status not in DRIFT_CHECKED_STATUSES:
            raise LifecycleError(
                f"{self.name} is {self.get_status_display().lower()}: drift is checked on applied environments "
                "(ready or drifted)."
            )
        busy = self.busy_run()
        if busy is not None:
            raise LifecycleError(
                f"{busy.kind.capitalize()} run #{busy.pk} of {self.name} is under way: check drift after it ends."
            )
        # A check whose worker was lost is failed by the reaper (portal.jobs.tasks): under way is under way.
        under_way = self.drift_checks.filter(status__in=DRIFT_CHECK_UNDER_WAY).first()
        if under_way is not None:
            raise LifecycleError(f"Drift check #{under_way.pk} of {self.name} is already under way.")
        with transaction.atomic():
            check = DriftCheck.objects.create(environment=self, requested_by=user)
            record("drift_check.requested", check, actor=user, request=request, environment=self.name)
        return check


class DriftCheck(Job):
    """One drift check of an environment: a refresh-only plan, what it found, who or what asked for it.

    Its output (Terraform's, secrets masked) is its events, in order, as a run's.
    """

    queued_status, failed_status = DriftCheckStatus.QUEUED, DriftCheckStatus.FAILED
    working_statuses = (DriftCheckStatus.RUNNING,)
    finished_statuses = (DriftCheckStatus.CLEAN, DriftCheckStatus.DRIFTED, DriftCheckStatus.FAILED)
    error_class = LifecycleError
    label = "drift check"
    lost_advice = "The next scheduled check runs again."
    # The environment is locked with the check: no run begins while the check decides whether it may.
    claim_related, claim_locks = ("environment",), ("self", "environment")

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="drift_checks")
    status = models.CharField(max_length=10, choices=DriftCheckStatus.choices, default=DriftCheckStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="drift_checks"
    )
    resources = models.JSONField(
        default=list, blank=True, help_text="[{address, type, action, attributes: [{name, before, after}]}]"
    )
    reported_by_terraform = models.PositiveIntegerField(
        default=0, help_text="Objects Terraform listed as changed, before representation noise was left out."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"drift check #{self.pk} of {self.environment.name}"

    @property
    def attribute_count(self) -> int:
        return sum(len(resource["attributes"]) for resource in self.resources)

    @cached_property
    def output(self) -> str:
        """Terraform's output, secrets masked: the messages of its events, one a line."""
        return "\n".join(self.events.values_list("message", flat=True))

    def _may_start(self) -> bool:
        """A check begins on an applied environment with no run under way; otherwise it fails with the reason."""
        environment, busy = self.environment, self.environment.busy_run()
        if busy is None and environment.status in DRIFT_CHECKED_STATUSES:
            return True
        self.fail(
            f"{busy.kind.capitalize()} run #{busy.pk} of {environment.name} was under way; drift is checked again "
            "after it."
            if busy is not None
            else f"{environment.name} became {environment.get_status_display().lower()} before the check began."
        )
        return False

    def finish(self, resources: list[dict], reported_by_terraform: int) -> None:
        """Record what the refresh-only plan found: drifted when any resource is left after the noise."""
        self._require(DriftCheckStatus.RUNNING, action="finish")
        self.status = DriftCheckStatus.DRIFTED if resources else DriftCheckStatus.CLEAN
        self.resources, self.reported_by_terraform = resources, reported_by_terraform
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "resources", "reported_by_terraform", "finished_at"])


class DriftCheckEvent(JobEvent):
    """One line of a drift check's output."""

    job_field = "drift_check"
    drift_check = models.ForeignKey(DriftCheck, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["drift_check", "seq"]
        constraints = [models.UniqueConstraint(fields=["drift_check", "seq"], name="drift_check_event_seq_unique")]


def validate_environment(
    *,
    name: str,
    blueprint: Blueprint,
    tier: str,
    region: str,
    variables: dict,
    instance: Environment | None = None,
) -> dict:
    """Check a definition; raise ValidationError({field: [messages]}) naming every problem.

    Returns the variables to store: only those the user may set, checked against the blueprint's types, then
    against its variable rules as Terraform judges them (each broken rule's message under the variable's name).
    """
    errors: dict[str, list[str]] = {}
    if instance is None:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            errors.setdefault("name", []).append(
                "Use 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."
            )
        elif taken := _name_taken(name):
            errors.setdefault("name", []).append(taken)
        elif reserved := _name_reserved_by_secrets(name):
            errors.setdefault("name", []).append(reserved)
    if not blueprint.available:
        errors.setdefault("blueprint", []).append(f"The blueprint {blueprint.name!r} is no longer in the library.")
    if tier not in Tier.values:
        errors.setdefault("tier", []).append(f"Choose one of: {', '.join(Tier.values)}.")
    if region not in REGIONS:
        errors.setdefault("region", []).append(f"{region!r} is not a region Launchpad deploys to.")
    if not isinstance(variables, dict):
        errors.setdefault("variables", []).append("Variables must be an object of name: value.")
        raise ValidationError(errors)
    too_much = _size_problem(variables)
    if too_much:
        errors.setdefault("variables", []).append(too_much)
        raise ValidationError(errors)

    declared = {v["name"]: v for v in blueprint.variables}
    for key, value in variables.items():
        spec = declared.get(key)
        if spec is None:
            errors.setdefault("variables", []).append(
                f"{shown_key(key)}: the {blueprint.name} blueprint has no such variable."
            )
        elif spec["managed"]:
            errors.setdefault("variables", []).append(f"{key}: set by Launchpad, not by hand.")
        else:
            # The VPC CIDR has its own stricter check below, under its own field.
            problem = None if key == "vpc_cidr" else _string_problem(value, key)
            try:
                if problem:
                    raise VariableValueError(problem)
                check_value(spec["type"], value, key)
            except VariableValueError as error:
                errors.setdefault("variables", []).append(str(error))
    size = len(json.dumps(variables))
    if "variables" not in errors and size > MAX_VARIABLES_SIZE:
        errors["variables"] = [
            f"The variables take {size:,} characters as JSON: at most {MAX_VARIABLES_SIZE:,} are accepted."
        ]
    missing = [
        v["name"] for v in declared.values() if v["required"] and not v["managed"] and v["name"] not in variables
    ]
    if missing:
        errors.setdefault("variables", []).append(f"Missing required variables: {', '.join(sorted(missing))}.")

    if "variables" not in errors and region in REGIONS:
        variables, problem = _with_network(blueprint, region, variables, instance)
        if problem:
            errors.setdefault("vpc_cidr", []).append(problem)
    if "variables" not in errors and "blueprint" not in errors:
        for field, messages in _broken_rules(blueprint, name, tier, region, variables, errors).items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return variables


@dataclass(frozen=True)
class CheckedDefinition:
    """A definition (or an environment's new settings) that validate_environment accepted, the blueprint's variable
    rules included. That check runs Terraform, so it is made once per request and before the region's network lock:
    no create waits behind a Terraform process. Under the lock, recheck_definition checks again only what another
    request may have changed meanwhile: the name, the network."""

    name: str
    blueprint: Blueprint
    tier: str
    region: str
    variables: dict  # as given: without a vpc_cidr, a block is taken from the region's pool under the lock
    expires_at: datetime | None


def check_definition(
    *, name, blueprint: Blueprint, tier, region, variables, lifetime_hours=DEFAULT_LIFETIME
) -> CheckedDefinition:
    """A new environment's definition, checked (validate_environment, and its lifetime): ValidationError naming
    every problem. Call it before taking any lock; create_environment stores it."""
    errors: dict[str, list[str]] = {}
    expires_at = None
    try:
        validate_environment(name=name, blueprint=blueprint, tier=tier, region=region, variables=variables)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        expires_at = expiry_for(blueprint, tier, lifetime_hours)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return CheckedDefinition(name, blueprint, tier, region, variables, expires_at)


def recheck_definition(checked: CheckedDefinition, instance: Environment | None = None) -> dict:
    """Under lock_networks(checked.region): what may have changed since ``checked`` was checked, and no rule of the
    blueprint: the name taken by another environment (a new one), the network (the chosen vpc_cidr overlapping
    another's, or, none chosen, a free block taken from the pool: one of the same size as the block the rules were
    checked with). Returns the variables to store; ValidationError naming the field otherwise."""
    errors: dict[str, list[str]] = {}
    taken = _name_taken(checked.name) if instance is None else None
    if taken:
        errors["name"] = [taken]
    variables, problem = _with_network(checked.blueprint, checked.region, checked.variables, instance)
    if problem:
        errors["vpc_cidr"] = [problem]
    if errors:
        raise ValidationError(errors)
    return variables


def _name_taken(name: str) -> str | None:
    if Environment.objects.not_destroyed().filter(name=name).exists():
        return f"An environment called {name!r} already exists."
    return None


def _with_network(
    blueprint: Blueprint, region: str, variables: dict, instance: Environment | None
) -> tuple[dict, str | None]:
    """``variables`` with their network and the problem with it, or None: the chosen (or kept) vpc_cidr checked
    against the other live environments of ``region`` (an environment choosing none keeps its own), or, a new
    environment choosing none, a free block of the pool
    (free_network). Hold lock_networks(region) for the answer to stay true until the environment is stored."""
    if not any(variable["name"] == "vpc_cidr" for variable in blueprint.variables):
        return variables, None
    if "vpc_cidr" in variables:
        return variables, _cidr_problem(variables["vpc_cidr"], region, instance)
    if instance is not None:
        # An environment given no block keeps its own: another (the blueprint's default) would replace its network.
        return {**variables, "vpc_cidr": instance.vpc_cidr}, _cidr_problem(instance.vpc_cidr, region, instance)
    cidr = free_network(region)
    return {**variables, "vpc_cidr": cidr}, None if cidr else _pool_exhausted(region)


def run_variables(*, name: str, tier: str, region: str, variables: dict) -> dict:
    """The non-secret values a run gives Terraform for a definition: its variables, what Launchpad sets from the
    definition, and the operator's AWS endpoint and retry bound (LAUNCHPAD_AWS_MAX_RETRIES), never the user's.
    The variable rules are checked on these same values (_broken_rules)."""
    return {
        **variables,
        "environment": name,
        "tier": tier,
        "region": region,
        "aws_endpoint_url": settings.AWS_ENDPOINT_URL or "",
        "aws_max_retries": settings.LAUNCHPAD["AWS_MAX_RETRIES"],
    }


def _name_reserved_by_secrets(name: str) -> str | None:
    """Why ``name`` cannot be used again yet, or None: a destroyed environment's secrets, kept for recovery
    (Environment.secrets_reserve_name_until), still hold their names in AWS, which refuses new ones of the same
    names. Nothing else of a destroyed environment keeps its name."""
    now = timezone.now()
    reserved = [
        (until, earlier)
        for earlier in Environment.objects.filter(name=name, destroyed_at__isnull=False).select_related("blueprint")
        if (until := earlier.secrets_reserve_name_until()) is not None and until > now
    ]
    if not reserved:
        return None
    until, earlier = max(reserved, key=lambda pair: pair[0])
    days = earlier.setting("secret_recovery_window_days")
    return (
        f"The destroyed {name}'s secrets can be recovered for {days:g} days after its destroy "
        f"(secret_recovery_window_days), and AWS keeps their names meanwhile: the name {name} is free again at "
        f"{until:%Y-%m-%d %H:%M} UTC. Choose another name until then."
    )


# The blueprint variables Launchpad sets from the definition itself, and the field each comes from.
_DEFINITION_VARIABLES = {"environment": "name", "tier": "tier", "region": "region"}


def _broken_rules(blueprint: Blueprint, name: str, tier: str, region: str, variables: dict, errors: dict) -> dict:
    """The blueprint's validation rules the definition breaks, as Terraform judges them
    (provisioning.variable_rules) on the values a run gives it (run_variables): {field: [each rule's own message]}.
    A value already refused is not given."""
    given = run_variables(name=name, tier=tier, region=region, variables=variables)
    checked = {key: value for key, value in given.items() if _DEFINITION_VARIABLES.get(key, key) not in errors}
    try:
        broken = check_rules(blueprint.name, checked)
    except VariableRulesError as error:
        logger.error("The %s blueprint's variable rules could not be checked: %s", blueprint.name, error)
        raise RulesUnavailable(
            f"Launchpad could not check the values against the {blueprint.name} blueprint's rules, so nothing was "
            "saved: try again, and tell an administrator if it keeps failing (the reason is in the portal's log)."
        ) from error
    problems: dict[str, list[str]] = {}
    for rule in broken:
        problems.setdefault(_DEFINITION_VARIABLES.get(rule.variable, rule.variable), []).append(rule.message)
    return problems


def _size_problem(variables: dict) -> str | None:
    """Too many variables, too large or too deeply nested as a whole: refused at once, in one sentence."""
    if len(variables) > MAX_VARIABLES:
        return f"{len(variables)} variables given: at most {MAX_VARIABLES} are accepted."
    if _depth(variables) > MAX_NESTING:
        return f"The variables are nested more than {MAX_NESTING} levels deep."
    return None


def _depth(value, level: int = 0) -> int:
    if level > MAX_NESTING or not isinstance(value, dict | list):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(item, level + 1) for item in items), default=level + 1)


def _string_problem(value, path: str) -> str | None:
    """A string anywhere in ``value`` (keys included) that is too long, holds a control character or is not text."""
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            return f"{path} is {len(value):,} characters long: at most {MAX_STRING_LENGTH:,} are accepted."
        if _CONTROL_CHARACTERS.search(value):
            return f"{path} contains a control character (such as a NUL byte or a newline): not accepted."
        unencodable = unencodable_problem(value)
        return f"{path} {unencodable}." if unencodable else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        inner = f"{path}.{shown_key(key)}" if isinstance(key, str) else f"{path}[{key}]"
        problem = (_string_problem(key, f"{path} key") if isinstance(key, str) else None) or _string_problem(
            item, inner
        )
        if problem:
            return problem
    return None


# --- networks: a block per environment, no two live ones of a region overlapping -------------------------------
class NetworkPool(models.Model):
    """A region's pool of VPC blocks (LAUNCHPAD_NETWORK_POOLS). Its row is locked while a definition of the region
    takes or checks a block (lock_networks): two at the same moment never get overlapping blocks."""

    region = models.CharField(max_length=20, unique=True)

    def __str__(self) -> str:
        return f"network pool of {self.region}"


def lock_networks(region: str) -> None:
    """Hold ``region``'s pool until the transaction ends: a definition checking or taking a block there meanwhile
    waits, and then sees the block stored. Call it inside the transaction that stores the environment."""
    NetworkPool.objects.get_or_create(region=region)
    NetworkPool.objects.select_for_update().get(region=region)


def pool_networks(region: str) -> list[ipaddress.IPv4Network]:
    """The networks ``region``'s blocks are carved from (its own pools, or those of "*")."""
    pools = settings.LAUNCHPAD_NETWORK_POOLS
    return [ipaddress.IPv4Network(cidr) for cidr in pools.get(region, pools.get("*", []))]


def _networks_in_use(region: str, exclude: Environment | None) -> list[tuple[str, ipaddress.IPv4Network]]:
    """The blocks of the live environments of ``region`` (a destroyed environment's block is free again)."""
    others = Environment.objects.live().filter(region=region).select_related("blueprint")
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return [(other.name, ipaddress.IPv4Network(other.vpc_cidr, strict=False)) for other in others if other.vpc_cidr]


def free_network(region: str) -> str | None:
    """The first block of ``region``'s pools that no live environment's network overlaps, or None when none is
    left. Hold the pool (lock_networks) from this choice until the environment is stored."""
    size = 2 ** (32 - settings.LAUNCHPAD_NETWORK_BLOCK_PREFIX)
    used = [network for _, network in _networks_in_use(region, None)]
    for pool in pool_networks(region):
        start, end = int(pool.network_address), int(pool.broadcast_address)
        while start + size - 1 <= end:
            clash = next(
                (n for n in used if int(n.network_address) < start + size and int(n.broadcast_address) >= start), None
            )
            if clash is None:
                return str(ipaddress.IPv4Network((start, settings.LAUNCHPAD_NETWORK_BLOCK_PREFIX)))
            past = int(clash.broadcast_address) + 1  # the next block boundary after the clash
            start = -(-past // size) * size
    return None


def _pool_exhausted(region: str) -> str:
    pools = ", ".join(str(network) for network in pool_networks(region)) or "none configured"
    return (
        f"No free /{settings.LAUNCHPAD_NETWORK_BLOCK_PREFIX} is left in {region}'s network pool ({pools}): "
        "give a vpc_cidr of your own."
    )


def _cidr_problem(cidr, region: str, exclude: Environment | None) -> str | None:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError):
        return f"{str(cidr)[:64]!r} is not a valid IPv4 CIDR block (like 10.20.0.0/16)."
    if not 16 <= network.prefixlen <= 24:
        return f"{cidr} is a /{network.prefixlen}: use a block from /16 to /24."
    for other_name, other in _networks_in_use(region, exclude):
        if network.overlaps(other):
            return f"{cidr} overlaps {other_name}'s {other} in {region}."
    return None


def state_key_for(name: str) -> str:
    """The state key of a new environment called ``name``: numbered one past the highest number the name's
    environments have (not by how many there are: one deleted by an administrator leaves a gap), so each one that
    ever carried it has its own state (those made before names were reusable kept
    ``environments/<name>/terraform.tfstate``: the first)."""
    keys = Environment.objects.filter(name=name).values_list("state_key", flat=True)
    generations = [int(match.group(1)) if (match := _NUMBERED_STATE_KEY.match(key)) else 1 for key in keys]
    return f"environments/{name}/{max(generations, default=0) + 1}/terraform.tfstate"


def _check_hours(hours, field: str) -> None:
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_LIFETIME_HOURS:
        raise ValidationError({field: [f"Give a whole number of hours from 1 to {MAX_LIFETIME_HOURS}."]})


def default_lifetime_hours(blueprint: Blueprint, tier: str) -> int | None:
    """The lifetime an environment gets when its owner names none: per blueprint (sandbox: 72 h); prod none."""
    if tier == Tier.PROD:
        return None
    return settings.LAUNCHPAD_DEFAULT_LIFETIME_HOURS.get(blueprint.name)


def expiry_for(blueprint: Blueprint, tier: str, lifetime_hours=DEFAULT_LIFETIME, now: datetime | None = None):
    """When an environment created ``now`` with ``lifetime_hours`` ends (None: never).

    Production environments never expire: a lifetime for one is refused rather than ignored.
    """
    if lifetime_hours is DEFAULT_LIFETIME:
        lifetime_hours = default_lifetime_hours(blueprint, tier)
    if lifetime_hours is None:
        return None
    if tier == Tier.PROD:
        raise ValidationError(
            {
                "lifetime_hours": [
                    "Production environments never expire: leave the lifetime empty for a prod environment."
                ]
            }
        )
    _check_hours(lifetime_hours, "lifetime_hours")
    return (now or timezone.now()) + timedelta(hours=lifetime_hours)


@transaction.atomic
def create_environment(definition: CheckedDefinition, owner) -> Environment:
    """Create the environment check_definition accepted (nothing is written on a refusal): under its region's
    network lock, the name and the network are checked again (recheck_definition), then it is stored."""
    lock_networks(definition.region)
    variables = recheck_definition(definition)
    name = definition.name
    environment = Environment(
        name=name,
        blueprint=definition.blueprint,
        tier=definition.tier,
        region=definition.region,
        owner=owner,
        variables=variables,
        expires_at=definition.expires_at,
        state_key=state_key_for(name),
    )
    environment.ensure_secrets()
    try:
        with transaction.atomic():
            environment.save()
    except IntegrityError as error:  # the same name created at the same moment by someone else
        raise ValidationError({"name": [f"An environment called {name!r} already exists."]}) from error
    return environment

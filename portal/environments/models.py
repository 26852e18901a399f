"""Blueprints (one per root composition of the module library) and the environments made from them."""

from __future__ import annotations

import ipaddress
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from portal.environments import crypto
from portal.environments.choices import LIVE_STATUSES, REGIONS, EnvironmentStatus, Tier
from provisioning.blueprints import VariableValueError, check_value, list_blueprints, read_blueprint

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,19}$")


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


class EnvironmentQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE_STATUSES)


class Environment(models.Model):
    """A Spotmusic environment: a blueprint, its variables, and what Terraform made of it."""

    name = models.CharField(max_length=20, unique=True)
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

    objects = EnvironmentQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def vpc_cidr(self) -> str | None:
        value = self.variables.get("vpc_cidr")
        if value is None:
            default = next((v["default"] for v in self.blueprint.variables if v["name"] == "vpc_cidr"), None)
            return default
        return value

    # --- secrets ---------------------------------------------------------------------------
    def ensure_secrets(self) -> None:
        """Generate a value for every sensitive variable of the blueprint that has none yet."""
        current = self.secrets()
        changed = False
        for variable in self.blueprint.variables:
            if variable["sensitive"] and variable["name"] not in current:
                # URL-safe and free of the characters RDS refuses in passwords (/ @ " space).
                current[variable["name"]] = secrets.token_urlsafe(32)
                changed = True
        if changed or not self.encrypted_secrets:
            self.encrypted_secrets = crypto.encrypt_json(current)

    def secrets(self) -> dict[str, str]:
        return crypto.decrypt_json(self.encrypted_secrets) if self.encrypted_secrets else {}

    def terraform_variables(self, endpoint: str | None) -> dict:
        """The non-secret variables of a run (secrets go through the environment, see secret_environment)."""
        return {
            **self.variables,
            "environment": self.name,
            "tier": self.tier,
            "region": self.region,
            "aws_endpoint_url": endpoint or "",
        }

    def secret_environment(self) -> dict[str, str]:
        """``TF_VAR_*`` for each generated secret: how secrets reach Terraform."""
        return {f"TF_VAR_{name}": value for name, value in self.secrets().items()}

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


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

    Returns the variables to store: only those the user may set, checked against the blueprint's types.
    """
    errors: dict[str, list[str]] = {}
    if instance is None:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            errors.setdefault("name", []).append(
                "Use 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."
            )
        elif Environment.objects.filter(name=name).exists():
            errors.setdefault("name", []).append(f"An environment called {name!r} already exists.")
    if not blueprint.available:
        errors.setdefault("blueprint", []).append(f"The blueprint {blueprint.name!r} is no longer in the library.")
    if tier not in Tier.values:
        errors.setdefault("tier", []).append(f"Choose one of: {', '.join(Tier.values)}.")
    if region not in REGIONS:
        errors.setdefault("region", []).append(f"{region!r} is not a region Launchpad deploys to.")
    if not isinstance(variables, dict):
        errors.setdefault("variables", []).append("Variables must be an object of name: value.")
        raise ValidationError(errors)

    declared = {v["name"]: v for v in blueprint.variables}
    for key, value in variables.items():
        spec = declared.get(key)
        if spec is None:
            errors.setdefault("variables", []).append(f"{key}: the {blueprint.name} blueprint has no such variable.")
        elif spec["managed"]:
            errors.setdefault("variables", []).append(f"{key}: set by Launchpad, not by hand.")
        else:
            try:
                check_value(spec["type"], value, key)
            except VariableValueError as error:
                errors.setdefault("variables", []).append(str(error))
    missing = [
        v["name"] for v in declared.values() if v["required"] and not v["managed"] and v["name"] not in variables
    ]
    if missing:
        errors.setdefault("variables", []).append(f"Missing required variables: {', '.join(sorted(missing))}.")

    if "vpc_cidr" in declared and "variables" not in errors:
        cidr = variables.get("vpc_cidr", declared["vpc_cidr"]["default"])
        problem = _cidr_problem(cidr, region, exclude=instance)
        if problem:
            errors.setdefault("vpc_cidr", []).append(problem)
    if errors:
        raise ValidationError(errors)
    return variables


def _cidr_problem(cidr, region: str, exclude: Environment | None) -> str | None:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError):
        return f"{cidr!r} is not a valid IPv4 CIDR block (like 10.20.0.0/16)."
    if not 16 <= network.prefixlen <= 24:
        return f"{cidr} is a /{network.prefixlen}: use a block from /16 to /24."
    others = Environment.objects.live().filter(region=region).select_related("blueprint")
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    for other in others:
        other_cidr = other.vpc_cidr
        if other_cidr and network.overlaps(ipaddress.IPv4Network(other_cidr, strict=False)):
            return f"{cidr} overlaps {other.name}'s {other_cidr} in {region}."
    return None


@transaction.atomic
def create_environment(*, name, blueprint, tier, region, variables, owner) -> Environment:
    """Validate and create an environment (nothing is written when the definition is invalid)."""
    variables = validate_environment(name=name, blueprint=blueprint, tier=tier, region=region, variables=variables)
    environment = Environment(
        name=name, blueprint=blueprint, tier=tier, region=region, owner=owner, variables=variables
    )
    environment.ensure_secrets()
    try:
        with transaction.atomic():
            environment.save()
    except IntegrityError as error:  # the same name created at the same moment by someone else
        raise ValidationError({"name": [f"An environment called {name!r} already exists."]}) from error
    return environment

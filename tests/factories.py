"""Test data: users by role, environments and runs, made through the same code paths as the app."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.models import ApiToken
from portal.audit.models import Finding
from portal.environments.choices import EnvironmentStatus
from portal.environments.models import Blueprint, Environment, check_definition, create_environment, sync_blueprints
from portal.jobs.models import heartbeat_timeout
from portal.runs.models import Run

_names = itertools.count(1)
_networks = itertools.count(1)


def make_user(role: str = "engineer", username: str | None = None):
    """A user with ``role``: engineer, approver or admin."""
    user = get_user_model().objects.create_user(username=username or f"{role}{next(_names)}", password="pw-123456789")
    if role in ("approver", "admin"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def token_for(user) -> str:
    return ApiToken.issue(user, "tests")[1]


def blueprint(name: str = "sandbox") -> Blueprint:
    if not Blueprint.objects.filter(name=name).exists():
        sync_blueprints()
    return Blueprint.objects.get(name=name)


def make_environment(
    owner=None, name: str | None = None, blueprint_name: str = "sandbox", tier: str = "dev", **variables
) -> Environment:
    variables.setdefault("vpc_cidr", f"10.{next(_networks) % 250}.0.0/16")
    definition = check_definition(
        name=name or f"env{next(_names)}",
        blueprint=blueprint(blueprint_name),
        tier=tier,
        region="eu-west-1",
        variables=variables,
    )
    return create_environment(definition, owner or make_user())


def applied(environment: Environment) -> Environment:
    """``environment`` as its first apply left it: ready, its resources in AWS (a destroy then goes through
    Terraform; one that holds nothing is deleted at once)."""
    Environment.objects.filter(pk=environment.pk).update(status=EnvironmentStatus.READY)
    environment.refresh_from_db()
    return environment


def stale_heartbeat():
    """A heartbeat older than the timeout: the job's worker is taken as lost."""
    return timezone.now() - heartbeat_timeout() - timedelta(seconds=5)


def make_run(environment: Environment, kind: str = "apply", requested_by=None, **fields) -> Run:
    return Run.objects.create(
        environment=environment, kind=kind, requested_by=requested_by or environment.owner, **fields
    )


def api_client(user=None, **defaults) -> APIClient:
    """A REST client; with ``user``, it sends that user's new API token on every request."""
    client = APIClient(**defaults)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def record_enqueued_runs(monkeypatch) -> list[int]:
    """Replace only ``execute_run.delay`` with a recorder: the run ids it is given, in order (no broker)."""
    enqueued: list[int] = []
    monkeypatch.setattr("portal.runs.tasks.execute_run.delay", enqueued.append)
    return enqueued


def make_finding(environment: Environment | None, rule_id: str = "sg.open-ingress", **fields):
    """A finding of the security audit on a resource of ``environment`` (open and high unless told)."""
    resource_id = fields.pop("resource_id", f"spotmusic-{environment.name if environment else 'x'}-ecs-tasks")
    defaults = {
        "severity": "high",
        "title": "A security group lets in SSH or RDP from anywhere",
        "message": f"Security group {resource_id} lets in TCP port 22 from 0.0.0.0/0.",
        "resource_kind": "security_group",
        "region": "eu-west-1",
        "status": "open",
    }
    return Finding.objects.create(
        environment=environment,
        rule_id=rule_id,
        resource_id=resource_id,
        resource_key=f"security_group:eu-west-1:{resource_id}:{rule_id}",
        **{**defaults, **fields},
    )

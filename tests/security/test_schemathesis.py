"""The API against its own OpenAPI schema, fuzzed by schemathesis in-process (the WSGI app, no server).

Every operation of /api/v1/schema/ gets generated requests — valid ones and, in schemathesis's negative mode,
invalid ones — as an admin and as an engineer. Each answer must be no 5xx, a status code the schema documents
for that operation, a documented content type, and a body that matches the documented schema. Half of the
generated path parameters are swapped for objects that exist, so the answers are not only 404s.

Nothing real starts: the Celery dispatches (runs, drift checks, audits, webhook deliveries) are recorded
instead of sent, webhook URLs resolve to a made-up public address instead of asking DNS, and reaching AWS or
starting a process (but Terraform checking a definition's variable rules) fails the test. Deterministic: hypothesis derandomized, no example database.
"""

from __future__ import annotations

import ipaddress
import socket
import zlib

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.activity.models import record
from portal.audit.models import AuditRun, Finding
from portal.environments.models import DriftCheck
from portal.notifications import outbound
from portal.notifications.models import Webhook
from tests.factories import make_environment, make_run, make_user, record_enqueued_runs, token_for
from tests.support.processes import allow_only_the_rules_check

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 12
HOST = "localhost"  # in ALLOWED_HOSTS of the default settings

# Loaded when the module is collected (pytest-django has set Django up): the schema the app serves itself.
# As an admin, every operation gets schemathesis's coverage phase (deterministic boundary and negative cases:
# wrong types, missing and unknown fields and parameters) and none of the random fuzzing; as an engineer, random
# fuzzing only. Together about 2,600 requests (about 60 s on an idle 2-core machine).
ADMIN_SCHEMA = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    get_wsgi_application(),
    headers={"Host": HOST},
    config=schemathesis.Config.from_dict({"phases": {"fuzzing": {"enabled": False}}}),
)
ENGINEER_SCHEMA = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    get_wsgi_application(),
    headers={"Host": HOST},
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


class Forbidden(AssertionError):
    """Something the fuzzed API must never do in a test: reach AWS or start a process."""


@pytest.fixture(autouse=True)
def connections_kept_open():
    """Like Django's test client: the request signals must not close the test's connection (its transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def dispatched(monkeypatch):
    """Every Celery dispatch recorded instead of sent, and every outside effect refused and counted."""
    calls: dict[str, list] = {"runs": record_enqueued_runs(monkeypatch), "other": [], "forbidden": []}
    for target in (
        "portal.environments.tasks.check_drift.delay",
        "portal.audit.tasks.run_live_audit.delay",
        "portal.notifications.tasks.deliver_webhook.delay",
        "portal.notifications.tasks.deliver_webhook.apply_async",
    ):
        monkeypatch.setattr(target, lambda *args, _target=target, **kwargs: calls["other"].append((_target, args)))

    def forbidden(what):
        def refuse(*args, **kwargs):
            calls["forbidden"].append((what, args))
            raise Forbidden(f"the API tried to {what}")

        return refuse

    monkeypatch.setattr("provisioning.aws.client", forbidden("open an AWS client"))
    # The one process the API starts itself: Terraform checking the variable rules of a definition.
    allow_only_the_rules_check(monkeypatch, refuse=forbidden("start a process"))
    check_url = outbound.check_url
    monkeypatch.setattr(outbound, "check_url", lambda url, resolve=None: check_url(url, _public_resolver))
    yield calls
    assert calls["forbidden"] == []


def _public_resolver(host, port, **kwargs):
    """DNS without the network: an IP literal is itself, any name a documentation-range public address."""
    try:
        address = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        address = "93.184.216.34"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def world(db):
    """An admin's and an engineer's environments with runs, a drift check, a webhook, a finding, an audit run."""
    cache.clear()
    admin, engineer = make_user("admin"), make_user("engineer")
    mine = make_environment(owner=admin, name="fuzz-admin", vpc_cidr="172.30.0.0/16")
    theirs = make_environment(owner=engineer, name="fuzz-engineer", vpc_cidr="172.31.0.0/16", tier="staging")
    runs = [
        make_run(mine, kind="plan"),
        make_run(theirs, kind="apply", status="awaiting_approval"),
        make_run(mine, kind="apply", status="succeeded"),
    ]
    webhook = Webhook(
        owner=engineer, environment=theirs, name="fuzz", url="https://93.184.216.34/", events=["run.failed"]
    )
    webhook.set_secret()
    webhook.save()
    finding = Finding.objects.create(
        rule_id="iam-wildcard-action",
        severity="high",
        title="Wildcard action",
        message="A policy allows every action.",
        environment=mine,
        resource_kind="iam_role",
        resource_id="fuzz-role",
        resource_key="iam_role:fuzz-role",
    )
    logged = record("environment.created", mine, actor=admin).pk
    return {
        "tokens": {"admin": token_for(admin), "engineer": token_for(engineer)},
        "name": [mine.name, theirs.name],
        "environment_name": [mine.name, theirs.name],
        "id": {
            "runs": [run.pk for run in runs],
            "drift-checks": [DriftCheck.objects.create(environment=mine, status="clean").pk],
            "webhooks": [webhook.pk],
            "findings": [finding.pk],
            "audit/runs": [AuditRun.objects.create(environment=mine).pk],
            "activity": [logged],
            "audit-events": [logged],
            "tokens": list(engineer.api_tokens.values_list("pk", flat=True)),
        },
    }


def existing(world, path: str, parameter: str, generated) -> object:
    """An existing object for half of the generated values (chosen from the value itself: deterministic)."""
    pick = zlib.crc32(repr(generated).encode())
    if pick % 2:
        return generated
    if parameter in ("name", "environment_name"):
        choices = world[parameter]
    else:
        choices = next((ids for prefix, ids in world["id"].items() if f"/{prefix}/{{id}}" in path), None)
    return choices[pick // 2 % len(choices)] if choices else generated


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def call_and_validate(case, world, role: str) -> None:
    for parameter, value in (case.path_parameters or {}).items():
        case.path_parameters[parameter] = existing(world, case.path, parameter, value)
    case.call_and_validate(headers={"Authorization": f"Token {world['tokens'][role]}", "Host": HOST}, checks=CHECKS)


@ADMIN_SCHEMA.parametrize()
@FUZZ
def test_the_api_keeps_to_its_schema_for_an_admin(case, world, dispatched):
    call_and_validate(case, world, "admin")


@ENGINEER_SCHEMA.parametrize()
@FUZZ
def test_the_api_keeps_to_its_schema_for_an_engineer(case, world, dispatched):
    call_and_validate(case, world, "engineer")

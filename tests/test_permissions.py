"""Who may call what: every API endpoint against every role, as one table.

Anonymous callers get a 401 everywhere except where there is nothing to protect: the login itself, and the
OpenAPI schema and its docs page (they describe the API, not anyone's data). Everyone signed in reads
environments, runs and blueprints; changing an environment or asking for its runs is for its owner or an
admin; approving and rejecting is for approvers; the activity log is for admins; tokens are each user's own, and
only an admin's token may make tokens.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import caches
from django.urls import get_resolver, resolve

from portal.accounts import throttling
from portal.activity.models import ActivityEntry, record
from portal.environments.models import DriftCheck, Environment
from portal.notifications.models import Webhook
from portal.runs.models import Run
from tests.factories import api_client, applied, make_environment, make_run, make_user, record_enqueued_runs, token_for

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456789"  # what tests.factories.make_user gives every user
ROLES = ("anonymous", "owner", "engineer", "approver", "admin")


def expect(method: str, url: str, *statuses: int) -> list[tuple[str, str, str, int]]:
    """One row of the table: the expected status for each of ROLES, in order."""
    assert len(statuses) == len(ROLES)
    return [(method, url, role, status) for role, status in zip(ROLES, statuses, strict=True)]


# Method, endpoint, then the status for each role: anonymous, owner, engineer, approver, admin.
MATRIX = [
    *expect("GET", "/api/v1/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/schema/", 200, 200, 200, 200, 200),
    *expect("GET", "/api/v1/docs/", 200, 200, 200, 200, 200),
    *expect("POST", "/api/v1/auth/token/", 201, 201, 201, 201, 201),
    *expect("GET", "/api/v1/blueprints/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/status/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/environments/{env}/status/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/blueprints/sandbox/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/environments/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/environments/", 401, 201, 201, 201, 201),
    *expect("GET", "/api/v1/environments/{env}/", 401, 200, 200, 200, 200),
    *expect("PATCH", "/api/v1/environments/{env}/", 401, 200, 403, 403, 200),
    *expect("PUT", "/api/v1/environments/{env}/", 401, 405, 405, 405, 405),
    *expect("DELETE", "/api/v1/environments/{env}/", 401, 202, 403, 403, 202),
    *expect("GET", "/api/v1/environments/{env}/history/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/environments/{env}/runs/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/environments/{env}/runs/", 401, 201, 403, 403, 201),
    *expect("GET", "/api/v1/runs/{queued}/", 401, 200, 200, 200, 200),
    *expect("GET", "/api/v1/runs/{queued}/events/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/runs/{queued}/cancel/", 401, 200, 403, 403, 200),
    *expect("POST", "/api/v1/runs/{awaiting}/approve/", 401, 403, 403, 200, 200),
    *expect("POST", "/api/v1/runs/{awaiting}/reject/", 401, 403, 403, 200, 200),
    *expect("GET", "/api/v1/activity/", 401, 403, 403, 403, 200),
    *expect("GET", "/api/v1/activity/{audit}/", 401, 403, 403, 403, 200),
    # The activity log's former route (deprecated), answering the same.
    *expect("GET", "/api/v1/audit-events/", 401, 403, 403, 403, 200),
    *expect("GET", "/api/v1/audit-events/{audit}/", 401, 403, 403, 403, 200),
    *expect("GET", "/api/v1/tokens/", 401, 200, 200, 200, 200),
    # Every role here signs in with a token: only an admin's may make tokens (others need the password).
    *expect("POST", "/api/v1/tokens/", 401, 403, 403, 403, 201),
    *expect("DELETE", "/api/v1/tokens/{own_token}/", 401, 204, 204, 204, 204),
    *expect("DELETE", "/api/v1/tokens/{others_token}/", 401, 404, 404, 404, 404),
    # Lifecycle and notifications: drift checks are asked by the owner or an admin (409 here: a run is under
    # way); webhooks are their owner's (and an admin's); e-mail choices are each user's own.
    *expect("GET", "/api/v1/environments/{env}/drift-checks/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/environments/{env}/drift-checks/", 401, 409, 403, 403, 409),
    *expect("GET", "/api/v1/environments/{env}/drift-checks/{drift}/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/environments/{env}/extend/", 401, 200, 403, 403, 200),
    *expect("GET", "/api/v1/webhooks/", 401, 200, 200, 200, 200),
    *expect("POST", "/api/v1/webhooks/", 401, 201, 201, 201, 201),
    *expect("GET", "/api/v1/webhooks/{webhook}/", 401, 200, 404, 404, 200),
    *expect("PUT", "/api/v1/webhooks/{webhook}/", 401, 200, 404, 404, 200),
    *expect("PATCH", "/api/v1/webhooks/{webhook}/", 401, 200, 404, 404, 200),
    *expect("DELETE", "/api/v1/webhooks/{webhook}/", 401, 204, 404, 404, 204),
    *expect("GET", "/api/v1/webhooks/{webhook}/deliveries/", 401, 200, 404, 404, 200),
    *expect("GET", "/api/v1/notification-preferences/", 401, 200, 200, 200, 200),
    *expect("PUT", "/api/v1/notification-preferences/", 401, 200, 200, 200, 200),
    # The security audit is for admins only (ids 0: no such finding or audit run, so an admin gets a 404).
    *expect("GET", "/api/v1/audit/findings/", 401, 403, 403, 403, 200),
    *expect("GET", "/api/v1/audit/findings/export/", 401, 403, 403, 403, 200),
    *expect("GET", "/api/v1/audit/findings/0/", 401, 403, 403, 403, 404),
    *expect("POST", "/api/v1/audit/findings/0/suppress/", 401, 403, 403, 403, 404),
    *expect("GET", "/api/v1/audit/runs/", 401, 403, 403, 403, 200),
    *expect("POST", "/api/v1/audit/runs/", 401, 403, 403, 403, 201),
    *expect("GET", "/api/v1/audit/runs/0/", 401, 403, 403, 403, 404),
    *expect("GET", "/api/v1/audit/rules/", 401, 403, 403, 403, 200),
]

BODIES = {
    ("POST", "/api/v1/auth/token/"): {"username": "{username}", "password": PASSWORD},
    ("POST", "/api/v1/environments/"): {
        "name": "matrix-new",
        "blueprint": "sandbox",
        "variables": {"vpc_cidr": "172.21.0.0/16"},
    },
    ("PATCH", "/api/v1/environments/{env}/"): {"variables": {"log_level": "debug"}},
    ("PUT", "/api/v1/environments/{env}/"): {"name": "owned", "blueprint": "sandbox", "variables": {}},
    ("POST", "/api/v1/environments/{env}/runs/"): {"kind": "plan"},
    ("POST", "/api/v1/runs/{awaiting}/approve/"): {"comment": "matrix"},
    ("POST", "/api/v1/runs/{awaiting}/reject/"): {"comment": "matrix"},
    ("POST", "/api/v1/tokens/"): {"name": "matrix"},
    ("POST", "/api/v1/environments/{env}/extend/"): {"hours": 1},
    ("POST", "/api/v1/webhooks/"): {"name": "matrix", "url": "https://93.184.216.34/hook", "events": ["run.failed"]},
    ("PUT", "/api/v1/webhooks/{webhook}/"): {
        "name": "matrix",
        "url": "https://93.184.216.34/hook",
        "events": ["drift.found"],
    },
    ("PATCH", "/api/v1/webhooks/{webhook}/"): {"active": False},
    ("PUT", "/api/v1/notification-preferences/"): {
        "events": [{"event": "drift.found", "email": False}],
        "environments": [],
    },
}


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """The run ids given to ``execute_run.delay``, which alone is replaced by a recorder so no task reaches a broker."""
    return record_enqueued_runs(monkeypatch)


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """The login throttle counts attempts in the cache: each case starts with none."""
    caches[throttling.CACHE].clear()
    yield
    caches[throttling.CACHE].clear()


@pytest.fixture
def world():
    """One user per role, an environment of the owner's with a queued run and one awaiting approval."""
    users = {role: make_user(role if role in ("approver", "admin") else "engineer") for role in ROLES[1:]}
    environment = applied(make_environment(owner=users["owner"], name="owned", vpc_cidr="172.20.0.0/16"))
    stranger = make_user()
    token_for(stranger)
    return {
        "users": users,
        "env": environment.name,
        "queued": make_run(environment, kind="plan").pk,
        "awaiting": make_run(environment, kind="apply", status="awaiting_approval").pk,
        "audit": record("environment.created", environment, actor=users["owner"]).pk,
        "others_token": stranger.api_tokens.get().pk,
        "drift": DriftCheck.objects.create(environment=environment, status="clean").pk,
        "webhook": owned_webhook(users["owner"], environment).pk,
    }


def owned_webhook(owner, environment) -> Webhook:
    webhook = Webhook(
        owner=owner, environment=environment, name="owned", url="https://93.184.216.34/", events=["run.failed"]
    )
    webhook.set_secret()
    webhook.save()
    return webhook


def fill(template, values: dict):
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template.format(**values) if isinstance(template, str) else template


@pytest.mark.parametrize(("method", "url", "role", "expected"), MATRIX)
def test_permission_matrix(world, method, url, role, expected):
    user = world["users"].get(role)
    client = api_client(user)
    values = {
        **world,
        "username": (user or world["users"]["owner"]).username,
        "own_token": user.api_tokens.get().pk if user else 0,
    }
    before = (Environment.objects.count(), Run.objects.count(), ActivityEntry.objects.count())

    response = client.generic(
        method,
        fill(url, values),
        data=json.dumps(fill(BODIES.get((method, url), {}), values)),
        content_type="application/json",
    )

    assert response.status_code == expected, response.content
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"
    if expected >= 400:
        assert (Environment.objects.count(), Run.objects.count(), ActivityEntry.objects.count()) == before


def api_routes(patterns=None, prefix: str = ""):
    """(name, pattern) of every route under /api/v1/, format-suffix twins left out."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            yield from api_routes(pattern.url_patterns, route)
        elif route.startswith("api/v1/") and "format" not in route:
            yield pattern.name, route


def handled_methods(match) -> set[str]:
    """The methods a route answers other than HEAD and OPTIONS (they follow GET and need no row)."""
    methods = getattr(match.func, "actions", None)
    if not methods:
        view = match.func.view_class
        methods = [method for method in view.http_method_names if hasattr(view, method)]
    return {method.upper() for method in methods} - {"HEAD", "OPTIONS"}


def test_every_endpoint_and_method_of_the_api_is_in_the_matrix(world):
    covered: dict[str, set[str]] = {}
    handled: dict[str, set[str]] = {}
    for method, url, _, _ in MATRIX:
        match = resolve(fill(url, {**world, "own_token": 1}))
        covered.setdefault(match.url_name, set()).add(method)
        handled[match.url_name] = handled_methods(match)

    assert {name for name, _ in api_routes()} == set(covered)
    for name, methods in handled.items():
        assert methods <= covered[name], f"{name}: {sorted(methods - covered[name])} missing from the matrix"


def test_a_superuser_is_an_admin_without_the_group():
    root = make_user()
    root.is_superuser = True
    root.save()

    assert api_client(root).get("/api/v1/audit-events/").status_code == 200


# --- the web pages kept to a role (activity log and security audit: admins; approvals: approvers) × role -----

WEB_ROLES = ("anonymous", "engineer", "approver", "admin")
SIGN_IN = 302  # a page asks an anonymous visitor to sign in


def web_expect(method: str, url: str, *statuses: int) -> list[tuple[str, str, str, int]]:
    assert len(statuses) == len(WEB_ROLES)
    return [(method, url, role, status) for role, status in zip(WEB_ROLES, statuses, strict=True)]


# Method, page, then the status for each role: anonymous, engineer, approver, admin (ids 0 and made-up names:
# no such finding, role or web ACL, so an admin gets a 404 where the page names one).
WEB_ADMIN_MATRIX = [
    *web_expect("GET", "/activity/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/findings/0/", SIGN_IN, 403, 403, 404),
    *web_expect("POST", "/audit/findings/0/suppress/", SIGN_IN, 403, 403, 404),
    *web_expect("POST", "/audit/runs/", SIGN_IN, 403, 403, 302),
    *web_expect("GET", "/audit/changes/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/rules/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/export.csv", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/export.json", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/iam/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/iam/roles/nobody/", SIGN_IN, 403, 403, 404),
    *web_expect("GET", "/audit/waf/", SIGN_IN, 403, 403, 200),
    *web_expect("GET", "/audit/waf/REGIONAL/nothing/0/", SIGN_IN, 403, 403, 404),
    # Approving and rejecting are for approvers (and admins), whatever the run (run 0: none).
    *web_expect("POST", "/runs/0/approve/", SIGN_IN, 403, 404, 404),
    *web_expect("POST", "/runs/0/reject/", SIGN_IN, 403, 404, 404),
]
# Pages anyone may open without signing in.
PUBLIC_PAGES = {"healthz", "accounts:login", "accounts:logout"}


@pytest.fixture
def no_aws(monkeypatch):
    """The audit's live browsers read an empty account, and queued audits are recorded: nothing reaches AWS."""
    from provisioning.audit.collect_live import Collection

    monkeypatch.setattr("provisioning.audit.collect_live.read_roles", lambda *a, **k: Collection(regions=[]))
    monkeypatch.setattr("provisioning.audit.collect_live.read_web_acls", lambda *a, **k: Collection(regions=[]))
    monkeypatch.setattr("portal.audit.tasks.run_live_audit.delay", lambda *a, **k: None)


def web_client(role: str):
    from django.test import Client

    client = Client()
    if role != "anonymous":
        client.force_login(make_user(role))
    return client


@pytest.mark.parametrize(("method", "url", "role", "expected"), WEB_ADMIN_MATRIX)
def test_admin_pages_matrix(no_aws, method, url, role, expected):
    response = web_client(role).generic(method, url)

    assert response.status_code == expected, response.content[:300]
    if expected == SIGN_IN and role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


def web_routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(namespaced name, route) of every page outside /api/ and Django's own /admin/."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            if not route.startswith(("api/", "admin/")):
                yield from web_routes(pattern.url_patterns, route, pattern.namespace or namespace)
        else:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route


def sample_url(route: str) -> str:
    """The route with every converter given a value that names nothing (0, "nothing")."""
    import re

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "0" if m.group(1) == "int" else "nothing", route)


def test_every_page_kept_to_a_role_is_in_the_matrix(no_aws):
    """An engineer refused (403) on a page that names nothing can only be refused for their role."""
    engineer = web_client("engineer")
    covered = {resolve(url).view_name for _, url, _, _ in WEB_ADMIN_MATRIX}
    refused = set()
    for name, route in web_routes():
        if name in PUBLIC_PAGES:  # (a POST to the sign-out would sign the engineer out)
            continue
        url = sample_url(route)
        if any(engineer.generic(method, url).status_code == 403 for method in ("GET", "POST")):
            refused.add(name)

    assert refused == covered


def test_every_page_but_the_sign_in_asks_an_anonymous_visitor_to_sign_in(no_aws):
    anonymous = web_client("anonymous")
    for name, route in web_routes():
        if name in PUBLIC_PAGES:
            continue
        for method in ("GET", "POST"):
            response = anonymous.generic(method, sample_url(route))
            assert response.status_code in (SIGN_IN, 405), (name, method, response.status_code)
            if response.status_code == SIGN_IN:
                assert response["Location"].startswith("/accounts/login/"), name

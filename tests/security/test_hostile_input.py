"""Hostile input through the API and the new-environment form: refused with a clear error, and nothing happens.

Refused means a 400 (a 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a 404 for a path naming nothing) whose
answer names the problem — JSON from the API, never an HTML error page — and nothing written: no Environment,
Run or ActivityEntry, no Celery message, no file under LAUNCHPAD["WORK_DIR"], and no process started but the
check of the blueprint's variable rules (any other Popen fails the test): a `terraform plan` of a configuration
without provider, whose command line holds no value (the values that passed the other checks are in a private
file). What the schema legitimately allows (free-form strings such as tag values) is accepted and reaches
Terraform only as data: in terraform.tfvars.json, read back exactly, never in an HCL file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from portal.accounts.models import ApiToken
from portal.activity.models import ActivityEntry
from portal.environments.models import MAX_NESTING, MAX_STRING_LENGTH, MAX_VARIABLES, Environment
from portal.notifications.models import Webhook
from portal.runs.models import Run
from provisioning.workspace import render_workspace
from tests.factories import api_client, blueprint, make_environment, make_user, record_enqueued_runs
from tests.support.processes import allow_only_the_rules_check

pytestmark = pytest.mark.django_db

SHELL = ["; rm -rf /", "$(id)", "`id`", "a && curl evil.example", "a | sh", "a\nid", "a\x00b"]
HCL_BREAKOUT = '"}\nresource "aws_iam_user" "x" {\n  name = "owned'
JSON_BREAKOUT = '", "aws_endpoint_url": "http://evil.example", "x": "'
INTERPOLATION = '${file("/etc/passwd")}'
# Free-form strings a tag value may legitimately hold (no control character): data, whatever they look like.
DATA_ONLY = {
    "semicolon": "; rm -rf /",
    "subshell": "$(id)",
    "backticks": "`id`",
    "and": "a && curl evil.example",
    "pipe": "a | sh",
    "hcl": HCL_BREAKOUT.replace("\n", " "),
    "json": JSON_BREAKOUT,
    "interpolation": INTERPOLATION,
    "directive": "%{ for x in [1] }x%{ endfor }",
}


def work_files() -> set[Path]:
    root = Path(settings.LAUNCHPAD["WORK_DIR"])
    return set(root.rglob("*")) if root.exists() else set()


@pytest.fixture
def nothing_happens(monkeypatch):
    """Yields after taking stock; afterwards nothing may have been written, queued or started."""

    allow_only_the_rules_check(monkeypatch)
    enqueued = record_enqueued_runs(monkeypatch)
    blueprint("sandbox")
    owner = make_user("admin")
    existing = make_environment(owner=owner, name="target", vpc_cidr="172.16.0.0/16")
    before = (Environment.objects.count(), Run.objects.count(), ActivityEntry.objects.count(), work_files())
    variables = dict(Environment.objects.get(pk=existing.pk).variables)
    yield owner
    assert (Environment.objects.count(), Run.objects.count(), ActivityEntry.objects.count(), work_files()) == before
    assert Environment.objects.get(pk=existing.pk).variables == variables
    assert enqueued == []


def new(**changes) -> dict:
    return {"name": "hostile", "blueprint": "sandbox", "variables": {"vpc_cidr": "172.17.0.0/16"}, **changes}


def tags(value) -> dict:
    return {"vpc_cidr": "172.17.0.0/16", "tags": {"team": value}}


API_CASES = {
    **{f"name {value!r}": (new(name=f"env{value}"), "name") for value in SHELL},
    "name with a path": (new(name="../../etc/passwd"), "name"),
    "name too long": (new(name="a" * 1_000_000), "name"),
    **{f"tag {value!r}": (new(variables=tags(value)), "control character") for value in ["a\nid", "a\x00b"]},
    "hcl with newlines": (new(variables=tags(HCL_BREAKOUT)), "control character"),
    "variable name with a path": (new(variables={"../../etc/passwd": "x"}), "no such variable"),
    "variable name with a shell": (new(variables={"x; rm -rf /": "x"}), "no such variable"),
    "managed variable": (new(variables={"aws_endpoint_url": "http://evil.example"}), "set by Launchpad"),
    "secret variable": (new(variables={"db_password": "hunter2hunter2hunter2"}), "set by Launchpad"),
    "blueprint ../bootstrap": (new(blueprint="../bootstrap"), "blueprint"),
    "blueprint ..%2f": (new(blueprint="..%2fbootstrap"), "blueprint"),
    "a 1 MB string": (new(variables=tags("x" * 1_000_000)), f"at most {MAX_STRING_LENGTH:,}"),
    "10 000 variables": (new(variables={f"v{i}": i for i in range(10_000)}), f"at most {MAX_VARIABLES}"),
    "nested variables": (new(variables={"tags": json.loads("[" * 50 + "]" * 50)}), f"{MAX_NESTING} levels"),
    "variables not an object": (new(variables="; rm -rf /"), "object"),
}


@pytest.mark.parametrize(("body", "named"), API_CASES.values(), ids=API_CASES.keys())
def test_the_api_refuses_a_hostile_definition_and_writes_nothing(nothing_happens, body, named):
    response = api_client(nothing_happens).post("/api/v1/environments/", body, format="json")

    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert named in json.dumps(response.json()), response.json()
    assert len(response.content) < 10_000  # the problem named, not the payload echoed back


PATCH_CASES = {
    "tag with NUL": ({"tags": {"team": "a\x00b"}}, "control character"),
    "tag with a newline": ({"tags": {"team": HCL_BREAKOUT}}, "control character"),
    "a 1 MB string": ({"tags": {"team": "x" * 1_000_000}}, "at most"),
    "path as a variable name": ({"../../etc/passwd": "x"}, "no such variable"),
    "managed variable": ({"environment": "other"}, "set by Launchpad"),
    "10 000 variables": ({f"v{i}": i for i in range(10_000)}, f"at most {MAX_VARIABLES}"),
}


@pytest.mark.parametrize(("variables", "named"), PATCH_CASES.values(), ids=PATCH_CASES.keys())
def test_the_api_refuses_a_hostile_change_and_writes_nothing(nothing_happens, variables, named):
    response = api_client(nothing_happens).patch(
        "/api/v1/environments/target/", {"variables": variables}, format="json"
    )

    assert response.status_code == 400, response.content[:500]
    assert named in json.dumps(response.json()), response.json()


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (json.dumps(new(padding="x" * 10 * 1024 * 1024)), 413, "larger than"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
        ('{"name": "hostile", "variables": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, "nested too deeply"),
        ('{"name": NaN}', 400, "JSON parse error"),
        ("\x00" * 1000, 400, "JSON parse error"),
    ],
    ids=["10 MB body", "deeply nested body", "deeply nested variables", "NaN", "NUL bytes"],
)
def test_a_body_the_api_cannot_take_is_a_clear_json_error(nothing_happens, body, status, named):
    client = api_client(nothing_happens)
    response = client.generic("POST", "/api/v1/environments/", body, content_type="application/json")

    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert named in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/environments/..%2f..%2fetc%2fpasswd/",
        "/api/v1/environments/target%2f..%2f..%2f/",
        "/api/v1/environments/$(id)/",
        "/api/v1/environments/..%2ftarget/runs/",
        "/api/v1/blueprints/..%2fbootstrap/",
        "/api/v1/blueprints/../bootstrap/",
        "/api/v1/runs/1;id/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "POST"])
def test_a_path_that_names_nothing_is_a_json_404(nothing_happens, path, method):
    response = api_client(nothing_happens).generic(method, path, json.dumps({"variables": {}}), "application/json")

    assert response.status_code in (404, 405), response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# JSON may escape half of a UTF-16 surrogate pair on its own: Python parses it into a string UTF-8 cannot encode.
# Stored, it made every later answer that shows it a 500 (the environment list, for every user).
SURROGATE_BODIES = {
    "in a tag value": (
        '"variables": {"vpc_cidr": "172.17.0.0/16", "tags": {"a": "\\ud800"}}',
        "variables",
        "variables.tags.a",
    ),
    "in a tag key": (
        '"variables": {"vpc_cidr": "172.17.0.0/16", "tags": {"\\udfff": "x"}}',
        "variables",
        "variables.tags has a key",
    ),
    "in a variable name": (
        '"variables": {"vpc_cidr": "172.17.0.0/16", "x\\udc80": 1}',
        "variables",
        "variables has a key",
    ),
    "in a list": (
        '"variables": {"vpc_cidr": "172.17.0.0/16", "tags": {"a": ["ok", "\\ud83d"]}}',
        "variables",
        "variables.tags.a[1]",
    ),
    "in the name": ('"name": "hostile\\ud800", "variables": {"vpc_cidr": "172.17.0.0/16"}', "name", "name holds"),
    "in the tier": ('"name": "hostile", "tier": "\\udbff", "variables": {}', "tier", "tier holds"),
}


@pytest.mark.parametrize(("fields", "field", "named"), SURROGATE_BODIES.values(), ids=SURROGATE_BODIES.keys())
def test_a_lone_surrogate_in_a_json_body_is_a_400_naming_the_field_and_the_list_stays_whole(
    nothing_happens, fields, field, named
):
    client = api_client(nothing_happens)
    body = '{"blueprint": "sandbox", "apply": false, "name": "hostile", ' + fields + "}"

    response = client.generic("POST", "/api/v1/environments/", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    assert list(response.json()) == [field]
    assert named in response.json()[field][0] and "surrogate" in response.json()[field][0]
    assert client.get("/api/v1/environments/").status_code == 200


def test_a_lone_surrogate_is_refused_in_a_change_of_variables(nothing_happens):
    client = api_client(nothing_happens)
    body = '{"variables": {"tags": {"team": "audio\\ud800"}}}'

    response = client.generic("PATCH", "/api/v1/environments/target/", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    assert "variables.tags.team holds \\ud800" in response.json()["variables"][0]
    assert client.get("/api/v1/environments/target/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/tokens/", '{"name": "ci\\ud800"}'),
        ("POST", "/api/v1/auth/token/", '{"username": "admin\\ud800", "password": "x"}'),
        ("POST", "/api/v1/webhooks/", '{"name": "\\ud800", "url": "https://93.184.216.34/", "events": []}'),
        ("PUT", "/api/v1/notification-preferences/", '{"events": [{"event": "\\ud800", "email": true}]}'),
        ("POST", "/api/v1/environments/target/runs/", '{"kind": "plan\\ud800"}'),
        ("POST", "/api/v1/audit/runs/", '{"environment": "\\ud800"}'),
        ("POST", "/api/v1/environments/", '["\\ud800"]'),
        ("POST", "/api/v1/environments/", '{"\\ud800": 1}'),
    ],
)
def test_every_json_body_of_the_api_refuses_a_lone_surrogate(nothing_happens, method, path, body):
    client = api_client(nothing_happens)
    tokens = ApiToken.objects.count()

    response = client.generic(method, path, body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    assert "surrogate" in response.content.decode()
    assert ApiToken.objects.count() == tokens and not Webhook.objects.exists()


def test_form_fields_and_query_strings_never_hold_a_lone_surrogate():
    """Django decodes form fields and query strings itself, replacing bytes that are not UTF-8 (a surrogate's
    UTF-8-like bytes %ED%A0%80 included): what is stored or searched is text, and the pages show it."""
    surrogate_bytes = "%ED%A0%80"
    user = make_user()
    browser = Client()
    browser.force_login(user)

    assert browser.get(f"/?search=x{surrogate_bytes}").status_code == 200
    assert api_client(user).get(f"/api/v1/environments/?search={surrogate_bytes}").status_code == 200
    response = browser.generic(
        "POST",
        "/accounts/tokens/",
        f"name=ci{surrogate_bytes}&scope=full&password=pw-123456789",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    name = ApiToken.objects.latest("pk").name
    assert name.startswith("ci\ufffd") and name.encode("utf-8")
    assert browser.get("/accounts/tokens/").status_code == 200


# --- the web form -------------------------------------------------------------------------------------------


@pytest.fixture
def browser(nothing_happens) -> Client:
    client = Client()
    client.force_login(nothing_happens)
    return client


def form(**fields) -> dict:
    return {"name": "hostile", "tier": "dev", "region": "eu-west-1", "var_vpc_cidr": "172.17.0.0/16", **fields}


FORM_CASES = {
    **{f"name {value!r}": (form(name=f"env{value}"), "3-20 characters") for value in SHELL if "\x00" not in value},
    "name with NUL": (form(name="env\x00x"), "Null characters"),
    "name with a path": (form(name="../../etc/passwd"), "3-20 characters"),
    "tags with a newline": (form(var_tags=json.dumps({"team": HCL_BREAKOUT})), "control character"),
    "image tag with a newline": (form(var_image_tag="v1\nid"), "control character"),
    "a 1 MB string": (form(var_image_tag="x" * 1_000_000), f"at most {MAX_STRING_LENGTH:,}"),
    "deeply nested tags": (form(var_tags="[" * 100_000 + "]" * 100_000), "Write valid JSON"),
    "nested tags": (form(var_tags=json.dumps({"team": json.loads("[" * 20 + "]" * 20)})), f"{MAX_NESTING} levels"),
    "tags with a lone surrogate": (form(var_tags='{"team": "\\ud800"}'), "tags.team holds \\ud800"),
    "tags with a lone surrogate as a key": (form(var_tags='{"\\udc00": "x"}'), "tags key holds \\udc00"),
}


@pytest.mark.parametrize(("fields", "named"), FORM_CASES.values(), ids=FORM_CASES.keys())
def test_the_new_environment_form_refuses_hostile_input_and_writes_nothing(browser, fields, named):
    response = browser.post("/environments/new/?blueprint=sandbox", fields)

    assert response.status_code == 400
    assert named in response.content.decode()


def test_a_form_over_the_size_limit_is_a_413_page(browser):
    response = browser.post("/environments/new/?blueprint=sandbox", form(var_image_tag="x" * 10 * 1024 * 1024))

    assert response.status_code == 413
    assert "larger than" in response.content.decode()


def test_a_form_with_too_many_fields_is_a_400_page(browser):
    fields = form(**{f"var_x{i}": "1" for i in range(10_000)})

    response = browser.post("/environments/new/?blueprint=sandbox", fields)

    assert response.status_code == 400
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields" in response.content.decode()


@pytest.mark.parametrize("name", ["../bootstrap", "..%2fbootstrap", "sandbox/../../bootstrap"])
def test_the_form_of_a_blueprint_that_is_not_one_is_a_404(browser, name):
    assert browser.get("/environments/new/", {"blueprint": name}).status_code == 404
    assert browser.post(f"/environments/new/?blueprint={name}", form()).status_code == 404


@pytest.mark.parametrize(
    "address",
    [
        "/environments/new/?blueprint=sandbox%00",
        "/api/v1/environments/?owner=alice%00",
        "/api/v1/environments/?search=%00",
        "/api/v1/blueprints/sandbox%00/",
        "/api/v1/environments/x%00/",
    ],
)
def test_a_nul_character_in_the_address_is_a_clear_400_on_every_database(browser, address):
    """PostgreSQL cannot compare text with NUL (a 500 there, "not found" on SQLite): refused before any view."""
    token_client = api_client(make_user())
    client = token_client if address.startswith("/api/") else browser
    response = client.get(address)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_character_in_a_json_body_is_a_clear_400(monkeypatch):
    enqueued = record_enqueued_runs(monkeypatch)
    client = api_client(make_user())
    before = Environment.objects.count()
    body = '{"name": "nul-test", "blueprint": "sandbox", "variables": {"vpc_cidr": "10.9.0.0/16", "x\\u0000": 1}}'
    response = client.post("/api/v1/environments/", body, content_type="application/json")
    assert response.status_code == 400
    preferences = client.put(
        "/api/v1/notification-preferences/",
        '{"events": [], "environments": [{"environment": "a\\u0000", "event": "run.failed", "email": false}]}',
        content_type="application/json",
    )
    # PostgreSQL cannot even compare the name (a DataError, answered as a 400 naming the NUL); SQLite finds none.
    assert preferences.status_code == 400, preferences.content
    assert Environment.objects.count() == before and enqueued == []


# --- what is accepted reaches Terraform only as data --------------------------------------------------------


def test_free_form_strings_are_accepted_and_reach_terraform_only_as_data(monkeypatch, tmp_path):
    allow_only_the_rules_check(monkeypatch)
    enqueued = record_enqueued_runs(monkeypatch)
    client = api_client(make_user())

    response = client.post(
        "/api/v1/environments/",
        new(variables={"vpc_cidr": "172.18.0.0/16", "tags": DATA_ONLY}, apply=False),
        format="json",
    )

    assert response.status_code == 201, response.content
    environment = Environment.objects.get(name="hostile")
    assert environment.variables["tags"] == DATA_ONLY and enqueued == []
    variables = environment.terraform_variables()
    workspace = render_workspace("sandbox", tmp_path / "workspace", variables)
    assert json.loads(workspace.var_file.read_text()) == variables
    for path in workspace.directory.rglob("*"):
        if path.is_file() and path != workspace.var_file:
            text = path.read_text(errors="replace")
            assert not any(value in text for value in DATA_ONLY.values()), path

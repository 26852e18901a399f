"""The OpenAPI schema is valid and the docs page works offline: everything it loads is served by Launchpad."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import timezone
from openapi_schema_validator import OAS30Validator

from portal.audit.choices import AuditTrigger
from portal.audit.models import Finding, create_audit_run, suppress
from tests.audit.documents import bucket
from tests.audit.test_models import audit
from tests.factories import api_client, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


def test_the_schema_validates_without_a_single_warning(tmp_path):
    schema_file = tmp_path / "schema.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.test_settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "openapi: 3" in schema_file.read_text()


def test_the_schema_is_served_to_anyone_and_describes_every_resource():
    response = api_client().get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["info"]["title"] == "Launchpad API"
    paths = set(schema["paths"])
    assert {
        "/api/v1/auth/token/",
        "/api/v1/environments/",
        "/api/v1/environments/{name}/",
        "/api/v1/environments/{environment_name}/runs/",
        "/api/v1/runs/{id}/approve/",
        "/api/v1/runs/{id}/events/",
        "/api/v1/blueprints/{name}/",
        "/api/v1/activity/",
        "/api/v1/audit-events/",
        "/api/v1/tokens/{id}/",
    } <= paths
    assert "/api/v1/schema/" not in paths
    events = schema["paths"]["/api/v1/runs/{id}/events/"]["get"]
    assert "after" in {parameter["name"] for parameter in events["parameters"]}


SCRIPT_SOURCE = re.compile(r"<script[^>]*\bsrc=[\"']([^\"']+)[\"']", re.I)


def query_parameters(schema: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in schema["paths"][path]["get"].get("parameters", []) if p["in"] == "query"}


FILTERSET_PARAMETERS = {  # path: {parameter: (enum holds, description starts with)}
    "/api/v1/environments/": {
        "status": ("ready", "Status"),
        "tier": ("prod", "Tier"),
        "region": ("eu-west-1", "Region"),
        "blueprint": (None, "Blueprint"),
        "owner": (None, "Owner"),
        "search": (None, "Part of the name"),
    },
    "/api/v1/activity/": {
        "action": (None, "Action"),
        "actor": (None, "Username, or launchpad for the system"),
        "object_type": (None, "Object"),
        "search": (None, "Part of the object's name"),
    },
    "/api/v1/audit/findings/": {
        "environment": (None, "An environment's name, or 'account' for account-wide."),
        "severity": ("high", "Severity"),
        "rule": ("iam.wildcard-action", "A rule id, such as iam.wildcard-action."),
        "status": ("all", "Default: open and suppressed."),
        "resource_kind": ("s3_bucket", "Resource"),
        "search": (None, "Part of the resource's name or ARN."),
        "first_seen_after": (None, "Only findings first seen after this time (ISO 8601)."),
        "resolved_after": (None, "Only findings resolved after this time (ISO 8601)."),
    },
    "/api/v1/runs/{id}/events/": {"after": (None, "Only events after this sequence number (tailing).")},
}


@pytest.mark.parametrize("path", FILTERSET_PARAMETERS)
def test_the_filters_of_a_list_are_documented_from_its_filterset(path):
    schema = yaml.safe_load(api_client().get("/api/v1/schema/").content)
    documented = query_parameters(schema, path)

    for name, (choice, description) in FILTERSET_PARAMETERS[path].items():
        assert documented[name]["description"].startswith(description), name
        if choice is not None:
            assert choice in documented[name]["schema"]["enum"], name


def test_the_findings_export_takes_the_filters_of_the_list():
    schema = yaml.safe_load(api_client().get("/api/v1/schema/").content)

    listed = query_parameters(schema, "/api/v1/audit/findings/")
    exported = query_parameters(schema, "/api/v1/audit/findings/export/")

    assert set(listed) - {"limit", "offset"} <= set(exported)
    assert set(exported["format"]["schema"]["enum"]) == {"json", "csv"}


def test_the_docs_page_renders_and_loads_its_scripts_from_launchpad_not_a_cdn():
    response = api_client().get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    scripts = SCRIPT_SOURCE.findall(page)
    assert scripts, page
    assert "cdn" not in page.lower()
    for source in scripts:
        assert not re.match(r"^(https?:)?//", source), source
        assert source.startswith(settings.STATIC_URL), source
        # The file belongs to an installed app, so collectstatic ships it with Launchpad.
        assert finders.find(source.removeprefix(settings.STATIC_URL)), source
    assert "/api/v1/schema/" in page


def answer_schema(schema: dict, path: str) -> dict:
    """The JSON schema of GET ``path``'s 200 answer, with the components its $refs point into."""
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return {**content["schema"], "components": schema["components"]}


def test_account_wide_audit_runs_and_findings_match_the_schema_which_marks_their_nulls_nullable(monkeypatch):
    """An account-wide audit and its findings have no environment, a suppression may outlive its author: the API
    answers null there, and the schema must say so (schemathesis found these three fields typed string)."""
    monkeypatch.setattr("portal.audit.tasks.run_live_audit.delay", lambda run_id: None)
    audit(bucket(ServerSideEncryption=None))  # no Environment tag: an account-wide finding
    finding = Finding.objects.get()
    author = make_user("admin")
    suppress(finding, author, "Accepted until the bucket moves.", timezone.now() + timedelta(days=1))
    author.delete()
    run = create_audit_run(None, AuditTrigger.ON_DEMAND)
    schema = yaml.safe_load(api_client().get("/api/v1/schema/").content)
    components = schema["components"]["schemas"]

    assert components["AuditRun"]["properties"]["environment"]["nullable"] is True
    assert components["FindingDetail"]["properties"]["environment"]["nullable"] is True
    assert components["Suppression"]["properties"]["created_by"]["nullable"] is True
    client = api_client(make_user("admin"))
    run_answer = client.get(f"/api/v1/audit/runs/{run.pk}/").json()
    finding_answer = client.get(f"/api/v1/audit/findings/{finding.pk}/").json()
    assert run_answer["environment"] is None and finding_answer["environment"] is None
    assert finding_answer["suppressions"][0]["created_by"] is None
    OAS30Validator(answer_schema(schema, "/api/v1/audit/runs/{id}/")).validate(run_answer)
    OAS30Validator(answer_schema(schema, "/api/v1/audit/findings/{id}/")).validate(finding_answer)

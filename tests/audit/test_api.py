"""The audit's API: findings with filters, a finding, suppressing one, audit runs (on demand); admins only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from portal.activity.models import ActivityEntry
from portal.audit.choices import AuditRunStatus, FindingStatus
from portal.audit.models import AuditRun, Finding
from provisioning.audit.rules import RULES
from tests.audit.documents import bucket, db_instance, role
from tests.audit.test_models import audit
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "engineer", "approver", "admin")


@pytest.fixture
def world(enqueued_audits):
    make_environment(name="dev")
    audit(db_instance(PubliclyAccessible=True), role(UsedBy=[]), bucket(ServerSideEncryption=None))
    return {
        "users": {role_name: make_user(role_name) for role_name in ROLES[1:]},
        "finding": Finding.objects.get(rule_id="rds.public").pk,
        "audit_run": AuditRun.objects.get().pk,
    }


MATRIX = [
    ("GET", "/api/v1/audit/findings/", None),
    ("GET", "/api/v1/audit/findings/{finding}/", None),
    ("POST", "/api/v1/audit/findings/{finding}/suppress/", {"justification": "Matrix.", "expires_at": "{tomorrow}"}),
    ("GET", "/api/v1/audit/runs/", None),
    ("POST", "/api/v1/audit/runs/", {}),
    ("GET", "/api/v1/audit/runs/{audit_run}/", None),
    ("GET", "/api/v1/audit/rules/", None),
]
EXPECTED = {"anonymous": 401, "engineer": 403, "approver": 403}
ADMIN_STATUS = {"GET": 200, "POST": 201}


@pytest.mark.parametrize("role_name", ROLES)
@pytest.mark.parametrize(("method", "url", "body"), MATRIX)
def test_only_admins_may_use_the_audit_api(world, method, url, body, role_name):
    values = {**world, "tomorrow": (timezone.now() + timedelta(days=1)).isoformat()}
    client = api_client(world["users"].get(role_name))
    before = (Finding.objects.filter(status=FindingStatus.SUPPRESSED).count(), AuditRun.objects.count())

    response = client.generic(
        method,
        url.format(**values),
        data=json.dumps({k: v.format(**values) for k, v in (body or {}).items()}),
        content_type="application/json",
    )

    assert response.status_code == EXPECTED.get(role_name, ADMIN_STATUS[method]), response.content
    if role_name != "admin":
        assert (Finding.objects.filter(status=FindingStatus.SUPPRESSED).count(), AuditRun.objects.count()) == before


def admin_get(world, url: str):
    response = api_client(world["users"]["admin"]).get(url)
    assert response.status_code == 200, response.content
    return response.json()


def test_findings_are_listed_most_severe_first_with_their_environment(world):
    body = admin_get(world, "/api/v1/audit/findings/")

    assert [(f["rule_id"], f["severity"]) for f in body["results"]] == [
        ("rds.public", "high"),
        ("s3.unencrypted", "medium"),
        ("iam.unused-role", "low"),
    ]
    assert {f["environment"] for f in body["results"]} == {"dev"}
    assert "evidence" not in body["results"][0]


@pytest.mark.parametrize(
    ("query", "rules"),
    [
        ("severity=high", ["rds.public"]),
        ("rule=iam.unused-role", ["iam.unused-role"]),
        ("resource_kind=s3_bucket", ["s3.unencrypted"]),
        ("environment=dev&severity=medium", ["s3.unencrypted"]),
        ("environment=account", []),
        ("status=resolved", []),
        ("search=mysql", ["rds.public"]),
    ],
)
def test_findings_are_filtered(world, query, rules):
    body = admin_get(world, f"/api/v1/audit/findings/?{query}")

    assert [f["rule_id"] for f in body["results"]] == rules


def test_what_changed_since_yesterday_is_a_filter(world):
    audit(role(UsedBy=[]), bucket(ServerSideEncryption=None))  # the database was fixed
    yesterday = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    new = admin_get(world, f"/api/v1/audit/findings/?status=all&first_seen_after={yesterday}")
    resolved = admin_get(world, f"/api/v1/audit/findings/?status=resolved&resolved_after={yesterday}")

    assert len(new["results"]) == 3
    assert [f["rule_id"] for f in resolved["results"]] == ["rds.public"]
    bad = api_client(world["users"]["admin"]).get("/api/v1/audit/findings/?resolved_after=yesterday")
    assert bad.status_code == 400 and "resolved_after" in bad.json()


def test_a_finding_has_its_rule_reasons_evidence_and_pointers(world):
    body = admin_get(world, f"/api/v1/audit/findings/{world['finding']}/")

    assert body["rationale"] == RULES["rds.public"].rationale
    assert body["remediation"] == RULES["rds.public"].remediation
    assert body["evidence"]["PubliclyAccessible"] is True
    assert body["pointers"] == ["/PubliclyAccessible"]
    assert body["suppressions"] == []


def test_an_admin_suppresses_a_finding_through_the_api(world):
    expires = (timezone.now() + timedelta(days=14)).isoformat()

    response = api_client(world["users"]["admin"]).post(
        f"/api/v1/audit/findings/{world['finding']}/suppress/",
        {"justification": "Read replica for BI, public until the VPN lands.", "expires_at": expires},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "suppressed"
    assert body["suppressions"][0]["justification"] == "Read replica for BI, public until the VPN lands."
    assert body["suppressions"][0]["active"] is True
    assert ActivityEntry.objects.filter(action="finding.suppressed").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"justification": "", "expires_at": "2099-01-01T00:00:00Z"}, "justification"),
        ({"justification": "Why not."}, "expires_at"),
        ({"justification": "Why not.", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_a_suppression_without_justification_or_future_expiry_is_a_400_naming_the_field(world, body, field):
    response = api_client(world["users"]["admin"]).post(
        f"/api/v1/audit/findings/{world['finding']}/suppress/", body, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert Finding.objects.get(pk=world["finding"]).status == FindingStatus.OPEN


def test_an_admin_asks_for_an_audit_and_it_is_handed_to_a_worker_after_commit(
    world, enqueued_audits, django_capture_on_commit_callbacks
):
    client = api_client(world["users"]["admin"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/audit/runs/", {"environment": "dev"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["scope"], body["status"], body["trigger"]) == ("dev", AuditRunStatus.QUEUED, "on_demand")
    assert enqueued_audits == [body["id"]]
    assert ActivityEntry.objects.filter(action="audit.requested").exists()

    again = client.post("/api/v1/audit/runs/", {"environment": "dev"}, format="json")
    assert again.status_code == 409
    assert "already under way" in again.json()["detail"]
    assert client.post("/api/v1/audit/runs/", {"environment": "nope"}, format="json").status_code == 404


def test_the_rules_are_served(world):
    rules = api_client(world["users"]["admin"]).get("/api/v1/audit/rules/").json()

    assert [rule["id"] for rule in rules] == list(RULES)
    assert rules[0]["severity"] == "high" and rules[0]["rationale"]


def test_the_audit_api_is_in_the_openapi_schema():
    schema = yaml.safe_load(api_client().get("/api/v1/schema/").content)

    assert {
        "/api/v1/audit/findings/",
        "/api/v1/audit/findings/{id}/",
        "/api/v1/audit/findings/{id}/suppress/",
        "/api/v1/audit/runs/",
        "/api/v1/audit/runs/{id}/",
        "/api/v1/audit/rules/",
    } <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/audit/findings/"]["get"]["parameters"]}
    assert {"environment", "severity", "rule", "status", "first_seen_after", "resolved_after"} <= parameters

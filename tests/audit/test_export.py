"""Exporting findings as CSV and JSON, from the findings page and the API: exactly the filtered ones; admins only."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from portal.audit.choices import FindingStatus
from portal.audit.models import Finding
from tests.audit.documents import bucket, db_instance, inline, role
from tests.audit.test_models import audit
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db

HEADER = [
    "id",
    "rule",
    "severity",
    "status",
    "environment",
    "resource kind",
    "resource id",
    "title",
    "first seen",
    "last seen",
    "resolved at",
]
PAGES = ["/audit/export.csv", "/audit/export.json"]


@pytest.fixture
def findings(enqueued_audits):
    make_environment(name="dev")
    wide = inline({"Sid": "TooWide", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::a/*"}, name="wide")
    audit(role(Policies=[wide]), db_instance(PubliclyAccessible=True), bucket(ServerSideEncryption=None))
    audit(role(Policies=[wide]), db_instance(PubliclyAccessible=True))  # the bucket was fixed: resolved
    return Finding.objects.select_related("environment")


def admin() -> Client:
    browser = Client()
    browser.force_login(make_user("admin"))
    return browser


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_export_has_a_header_row_and_one_row_per_unresolved_finding(findings):
    response = admin().get("/audit/export.csv")

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="launchpad-audit-findings-')
    header, *body = rows(response)
    assert header == HEADER
    unresolved = findings.exclude(status=FindingStatus.RESOLVED)
    assert sorted(int(row[0]) for row in body) == sorted(unresolved.values_list("pk", flat=True))
    rds = next(row for row in body if row[1] == "rds.public")
    finding = unresolved.get(rule_id="rds.public")
    assert rds == [
        str(finding.pk),
        "rds.public",
        finding.severity,
        "open",
        "dev",
        "rds_instance",
        finding.resource_id,
        finding.title,
        finding.first_seen_at.isoformat(),
        finding.last_seen_at.isoformat(),
        "",
    ]


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        ("severity=high", {"severity": "high", "status__in": ["open", "suppressed"]}),
        ("severity=medium&status=all", {"severity": "medium"}),
        ("rule=rds.public", {"rule_id": "rds.public", "status__in": ["open", "suppressed"]}),
        ("kind=iam_role", {"resource_kind": "iam_role", "status__in": ["open", "suppressed"]}),
        ("status=resolved", {"status": "resolved"}),
        ("status=all&search=audio", {"resource_id__icontains": "audio"}),
    ],
)
def test_the_exports_contain_exactly_the_findings_the_filters_select(findings, query, selected):
    expected = sorted(findings.filter(**selected).values_list("pk", flat=True))
    assert expected  # each filter selects something, and not everything
    assert len(expected) < findings.count()
    browser = admin()

    from_csv = [int(row[0]) for row in rows(browser.get(f"/audit/export.csv?{query}"))[1:]]
    from_json = [record["id"] for record in json.loads(browser.get(f"/audit/export.json?{query}").content)]

    assert sorted(from_csv) == sorted(from_json) == expected


def test_the_json_export_has_the_same_fields_plus_evidence_and_pointers(findings):
    response = admin().get("/audit/export.json?rule=iam.wildcard-action")

    assert response["Content-Disposition"].startswith("attachment;") and response["Content-Disposition"].endswith(
        '.json"'
    )
    (record,) = json.loads(response.content)
    finding = findings.get(rule_id="iam.wildcard-action")
    assert record["id"] == finding.pk and record["environment"] == "dev"
    assert record["evidence"]["RoleName"] == "spotmusic-dev-web-api-task"
    assert record["pointers"] == finding.pointers
    assert set(record) == {
        "id",
        "rule",
        "severity",
        "status",
        "environment",
        "resource_kind",
        "resource_id",
        "title",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
        "evidence",
        "pointers",
    }


def test_the_findings_page_links_to_the_exports_keeping_its_filters(findings):
    html = admin().get("/audit/?severity=medium&status=all&page=1").content.decode()

    assert 'href="/audit/export.csv?severity=medium&amp;status=all"' in html
    assert 'href="/audit/export.json?severity=medium&amp;status=all"' in html
    assert 'href="/audit/export.csv"' in admin().get("/audit/").content.decode()


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role_name", ["engineer", "approver"])
def test_the_exports_are_for_admins_only(findings, url, role_name):
    browser = Client()
    browser.force_login(make_user(role_name))

    assert browser.get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_the_api_exports_the_filtered_findings_as_csv_or_json(findings):
    api = api_client(make_user("admin"))
    high = sorted(findings.filter(severity="high").exclude(status="resolved").values_list("pk", flat=True))

    as_csv = api.get("/api/v1/audit/findings/export/?format=csv&severity=high")
    as_json = api.get("/api/v1/audit/findings/export/?format=json&severity=high")
    default = api.get("/api/v1/audit/findings/export/?severity=high")

    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert as_csv["Content-Disposition"].endswith('.csv"')
    header, *body = rows(as_csv)
    assert header == HEADER and sorted(int(row[0]) for row in body) == high
    assert as_json["Content-Disposition"].endswith('.json"')
    assert sorted(record["id"] for record in as_json.json()) == high
    assert default.json() == as_json.json()
    assert "evidence" in as_json.json()[0]


@pytest.mark.parametrize(("role_name", "expected"), [(None, 401), ("engineer", 403), ("approver", 403)])
@pytest.mark.parametrize("export_format", ["csv", "json"])
def test_only_admins_may_export_through_the_api(findings, role_name, expected, export_format):
    api = api_client(make_user(role_name) if role_name else None)

    assert api.get(f"/api/v1/audit/findings/export/?format={export_format}").status_code == expected

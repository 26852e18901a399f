"""The audit pages: findings with filters, a finding with its highlighted evidence, changes, rules; admins only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.activity.models import ActivityEntry
from portal.audit.choices import FindingStatus
from portal.audit.evidence import evidence_lines
from portal.audit.models import AuditRun, Finding
from provisioning.audit.rules import RULES
from tests.audit.documents import bucket, db_instance, inline, role
from tests.audit.test_models import audit
from tests.factories import make_environment, make_user

pytestmark = pytest.mark.django_db

PAGES = ["/audit/", "/audit/findings/{finding}/", "/audit/changes/", "/audit/rules/"]


@pytest.fixture
def finding(enqueued_audits) -> Finding:
    make_environment(name="dev")
    wide = inline(
        {"Sid": "Fine", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"},
        {"Sid": "TooWide", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::a/*"},
        name="wide",
    )
    audit(role(Policies=[wide]), db_instance(PubliclyAccessible=True), bucket(ServerSideEncryption=None))
    return Finding.objects.get(rule_id="iam.wildcard-action")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role_name", ["engineer", "approver"])
def test_the_audit_pages_are_for_admins_only(finding, url, role_name):
    assert client_for(make_user(role_name)).get(url.format(finding=finding.pk)).status_code == 403
    assert Client().get(url.format(finding=finding.pk)).status_code == 302  # to the login page


def test_only_admins_see_the_audit_link_in_the_navigation(finding):
    assert 'href="/audit/"' in text(client_for(make_user("admin")).get("/audit/rules/"))
    assert 'href="/audit/"' not in text(client_for(make_user("approver")).get("/"))


def test_the_findings_table_lists_open_findings_most_severe_first(finding):
    html = text(client_for(make_user("admin")).get("/audit/"))
    table = html.split('id="findings"', 1)[1]

    # High first (by rule), then medium.
    assert table.index("iam.wildcard-action") < table.index("rds.public") < table.index("s3.unencrypted")
    assert "spotmusic-dev-web-api-task" in table
    assert 'id="run-audit-button"' in html
    assert 'id="open-counts"' in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("severity=medium", ["s3.unencrypted"], ["rds.public"]),
        ("rule=rds.public", ["rds.public"], ["s3.unencrypted"]),
        ("environment=account", [], ["rds.public", "s3.unencrypted"]),
        ("kind=iam_role", ["iam.wildcard-action"], ["rds.public"]),
        ("status=resolved", [], ["rds.public"]),
    ],
)
def test_the_findings_table_is_filtered(finding, query, shown, hidden):
    html = text(client_for(make_user("admin")).get(f"/audit/?{query}"))
    table = html.split('id="findings"', 1)[1]

    for rule_id in shown:
        assert rule_id in table
    for rule_id in hidden:
        assert f"<code>{rule_id}</code>" not in table


def test_a_findings_page_shows_why_how_to_fix_and_the_guilty_statement_highlighted(finding):
    html = text(client_for(make_user("admin")).get(f"/audit/findings/{finding.pk}/"))

    assert 'id="rule-rationale"' in html and 'id="rule-remediation"' in html
    guilty = [line.text.strip() for line in evidence_lines(finding.evidence, finding.pointers) if line.guilty]
    assert '"Sid": "TooWide",' in guilty and '"Action": "s3:*",' in guilty
    assert '"Sid": "Fine",' not in guilty
    assert html.count('class="line guilty"') == len(guilty)
    assert 'data-pointer="/Policies/0/PolicyDocument/Statement/1"' in html


def test_an_absent_part_is_named_as_missing(finding):
    unencrypted = Finding.objects.get(rule_id="s3.unencrypted")

    html = text(client_for(make_user("admin")).get(f"/audit/findings/{unencrypted.pk}/"))

    assert "Missing:" in html and "<code>/ServerSideEncryption</code>" in html


def test_an_admin_suppresses_a_finding_on_its_page(finding):
    admin = make_user("admin")
    until = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")

    response = client_for(admin).post(
        f"/audit/findings/{finding.pk}/suppress/",
        {"justification": "Legacy job, replaced next sprint.", "expires_at": until},
        follow=True,
    )

    assert "Finding suppressed until" in text(response)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.SUPPRESSED
    assert ActivityEntry.objects.get(action="finding.suppressed").actor == admin


def test_a_suppression_without_justification_shows_the_reason_next_to_the_field(finding):
    until = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client_for(make_user("admin")).post(
        f"/audit/findings/{finding.pk}/suppress/", {"justification": "", "expires_at": until}
    )

    assert response.status_code == 400
    assert "This field is required." in text(response) or "needs a justification" in text(response)
    assert Finding.objects.get(pk=finding.pk).status == FindingStatus.OPEN


def test_a_suppression_in_the_past_is_refused_on_the_page(finding):
    until = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client_for(make_user("admin")).post(
        f"/audit/findings/{finding.pk}/suppress/", {"justification": "Because.", "expires_at": until}
    )

    assert response.status_code == 400
    assert "The expiry must be in the future." in text(response)


def test_run_audit_now_queues_an_audit_of_the_chosen_scope(
    finding, enqueued_audits, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(make_user("admin")).post("/audit/runs/", {"environment": "dev"}, follow=True)

    run = AuditRun.objects.latest("created_at")
    assert (run.scope, run.trigger) == ("dev", "on_demand")
    assert enqueued_audits == [run.pk]
    assert f"Audit #{run.pk} of dev queued" in text(response)


def test_the_changes_page_shows_what_is_new_and_what_was_resolved_in_a_day(finding):
    audit(role(Policies=[]), bucket(ServerSideEncryption=None))  # the role and the database were fixed
    Finding.objects.filter(rule_id="s3.unencrypted").update(first_seen_at=timezone.now() - timedelta(days=3))

    html = text(client_for(make_user("admin")).get("/audit/changes/"))
    new = html.split('id="new-findings"', 1)[1].split('id="reopened-findings"', 1)[0]
    resolved = html.split('id="resolved-findings"', 1)[1]

    assert "rds.public" in new and "s3.unencrypted" not in new
    assert "rds.public" in resolved and "iam.wildcard-action" in resolved


RULE_ROW = re.compile(
    r'<tr>\s*<td><code>(?P<id>[^<]+)</code></td>\s*<td><span class="badge severity severity-(?P<severity>\w+)">'
    r"[^<]*</span></td>\s*<td>(?P<kind>[^<]*)</td>"
)


def test_the_rules_page_lists_every_rule(finding):
    html = text(client_for(make_user("admin")).get("/audit/rules/"))
    table = html.split('<table id="rules">', 1)[1].split("</table>", 1)[0]

    listed = [(row["id"], row["severity"], row["kind"]) for row in RULE_ROW.finditer(table)]
    assert listed == [(rule.id, str(rule.severity), str(rule.kind.label)) for rule in RULES.values()]
    assert len(listed) == len(RULES) > 0

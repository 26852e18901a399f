"""The IAM and WAF browsers: the account read live (briefly cached), findings marked on what they point at."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from django.core.cache import cache
from django.test import Client

from portal.audit.choices import AuditTrigger
from portal.audit.models import AuditRun, Finding, create_audit_run
from portal.audit.recording import record_audit
from provisioning import aws
from provisioning.audit import collect_live, evaluate
from provisioning.aws import client
from tests.audit.test_collect_live import ECS_TRUST, VISIBLE, _stage, tags
from tests.factories import make_user
from tests.support.emulator import REGION

pytestmark = pytest.mark.django_db

PAGES = ["/audit/iam/", "/audit/iam/roles/{role}/", "/audit/waf/", "/audit/waf/regional/{acl}/"]
SQLI_GROUP = {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}


@pytest.fixture(autouse=True)
def fresh_reads():
    """Each test reads the account anew (the browsers keep a read for a minute)."""
    cache.clear()
    yield
    cache.clear()


def admin() -> Client:
    browser = Client()
    browser.force_login(make_user("admin"))
    return browser


def text(response) -> str:
    return response.content.decode()


def audit_account() -> None:
    """A live audit of the whole account, recorded as the worker records it."""
    collection = collect_live.collect([REGION])
    run = AuditRun.claim(create_audit_run(None, AuditTrigger.SCHEDULE).pk, "worker")
    record_audit(run, collection, evaluate(collection.resources))


@pytest.fixture
def planted_role(emulator, unique) -> dict:
    """A role with a trust policy, an inline policy whose second statement allows s3:*, and an attached policy."""
    environment, name = unique("browse-env"), unique("browse-role")
    iam = client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ECS_TRUST), Tags=tags(environment))
    statements = [
        {"Sid": "ReadAudio", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::audio/*"},
        {"Sid": "TooWide", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::audio/*"},
    ]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="audio-access",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    managed = iam.create_policy(
        PolicyName=unique("browse-logs"),
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Sid": "WriteLogs", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
            }
        ),
    )["Policy"]
    iam.attach_role_policy(RoleName=name, PolicyArn=managed["Arn"])
    return {"name": name, "environment": environment, "managed": managed}


@pytest.fixture
def planted_acl(emulator, unique) -> dict:
    """A regional web ACL: SQLi managed rules only counted, a rate limit, associated with a stage, logged."""
    name = unique("browse-acl")
    wafv2 = client("wafv2")
    acl = wafv2.create_web_acl(
        Name=name,
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={**VISIBLE, "MetricName": name},
        Rules=[
            {
                "Name": "rate-limit",
                "Priority": 2,
                "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
                "Action": {"Block": {}},
                "VisibilityConfig": {**VISIBLE, "MetricName": "rate-limit"},
            },
            {
                "Name": "sqli-counted",
                "Priority": 1,
                "Statement": {"ManagedRuleGroupStatement": SQLI_GROUP},
                "OverrideAction": {"Count": {}},
                "VisibilityConfig": {**VISIBLE, "MetricName": "sqli-counted"},
            },
        ],
        Tags=tags(unique("browse-waf-env")),
    )["Summary"]
    stage = _stage(unique("browse-api"))
    wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
    log_group = f"arn:aws:logs:{REGION}:123456789012:log-group:aws-waf-logs-{name}"
    client("logs").create_log_group(logGroupName=f"aws-waf-logs-{name}")
    wafv2.put_logging_configuration(
        LoggingConfiguration={"ResourceArn": acl["ARN"], "LogDestinationConfigs": [log_group]}
    )
    return {"name": name, "id": acl["Id"], "arn": acl["ARN"], "stage": stage, "log_group": log_group}


def acl_url(acl: dict) -> str:
    return f"/audit/waf/regional/{acl['name']}/{acl['id']}/"


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role_name", ["engineer", "approver"])
def test_the_browsers_are_for_admins_only(url, role_name):
    page = url.format(role="any-role", acl="any-acl/any-id")
    browser = Client()
    browser.force_login(make_user(role_name))

    assert browser.get(page).status_code == 403
    assert Client().get(page).status_code == 302  # to the login page


def test_the_roles_list_shows_a_planted_role_with_its_open_findings(planted_role):
    audit_account()
    opened = Finding.objects.filter(resource_id=planted_role["name"], status="open").count()

    html = text(admin().get("/audit/iam/"))

    row = html.split(f'href="/audit/iam/roles/{planted_role["name"]}/"', 1)[1].split("</tr>", 1)[0]
    assert planted_role["environment"] in row
    assert f'<span class="badge severity-high open-count">{opened}</span>' in row
    assert opened >= 1


def test_the_roles_list_is_filtered_by_environment_tag_and_name(planted_role, unique):
    other = unique("browse-other")
    client("iam").create_role(RoleName=other, AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
    browser = admin()

    by_tag = text(browser.get(f"/audit/iam/?environment={planted_role['environment']}"))
    by_name = text(browser.get(f"/audit/iam/?search={other.upper()}"))

    assert planted_role["name"] in by_tag and other not in by_tag
    assert other in by_name and planted_role["name"] not in by_name


def test_a_role_page_shows_its_trust_policy_and_policies_and_highlights_the_statement_a_finding_points_at(
    planted_role,
):
    audit_account()
    wildcard = Finding.objects.get(rule_id="iam.wildcard-action", resource_id=planted_role["name"])

    html = text(admin().get(f"/audit/iam/roles/{planted_role['name']}/"))

    assert 'id="trust-policy"' in html and "ecs-tasks.amazonaws.com" in html
    assert 'class="statement" id="policy-audio-access-statement-0"' in html  # ReadAudio: nothing wrong
    assert 'class="statement highlighted" id="policy-audio-access-statement-1"' in html
    highlighted = html.split('id="policy-audio-access-statement-1"', 1)[1].split('class="statement', 1)[0]
    assert f'href="/audit/findings/{wildcard.pk}/"' in highlighted
    assert "&quot;s3:*&quot;" in highlighted
    assert planted_role["managed"]["Arn"] in html and "logs:PutLogEvents" in html


def test_the_read_is_kept_briefly_and_refresh_reads_again(planted_role, unique):
    browser = admin()
    browser.get("/audit/iam/")
    later = unique("browse-later")
    client("iam").create_role(RoleName=later, AssumeRolePolicyDocument=json.dumps(ECS_TRUST))

    assert later not in text(browser.get("/audit/iam/"))
    assert later in text(browser.get("/audit/iam/?refresh=1"))


def test_a_role_not_in_the_account_is_not_found(emulator):
    assert admin().get("/audit/iam/roles/no-such-role-anywhere/").status_code == 404


def test_an_aws_error_shows_as_a_message_on_the_page(emulator, monkeypatch):
    real = aws.client
    dead = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)

    def iam_unreachable(service, region=None, endpoint=None):
        if service == "iam":
            return boto3.client("iam", region_name=REGION, endpoint_url="http://127.0.0.1:9", config=dead)
        return real(service, region, endpoint)

    monkeypatch.setattr(aws, "client", iam_unreachable)

    for url in ("/audit/iam/", "/audit/iam/roles/any-role/"):
        response = admin().get(url)
        assert response.status_code == 200
        assert 'id="aws-error"' in text(response) and "AWS could not be read" in text(response)


def test_the_web_acl_list_shows_default_action_rules_logging_and_associations(planted_acl):
    html = text(admin().get("/audit/waf/"))

    row = html.split(f'href="{acl_url(planted_acl)}"', 1)[1].split("</tr>", 1)[0]
    cells = [cell.split(">", 1)[1].split("</td>", 1)[0] for cell in row.split("<td")[1:]]
    assert "REGIONAL" in cells[0]
    assert cells[1:4] == ["Allow", "2", "on"]
    assert planted_acl["stage"] in cells[4]


def test_the_web_acl_page_shows_rules_default_action_association_and_logging_with_findings_marked(planted_acl):
    audit_account()
    counted = Finding.objects.get(rule_id="waf.no-sqli-rules", resource_id=planted_acl["name"])
    no_xss = Finding.objects.get(rule_id="waf.no-xss-rules", resource_id=planted_acl["name"])

    html = text(admin().get(acl_url(planted_acl)))

    rules = html.split('id="rules"', 1)[1]
    assert rules.index('id="rule-sqli-counted"') < rules.index('id="rule-rate-limit"')  # by priority
    sqli = rules.split('id="rule-sqli-counted"', 1)[1].split("</tr>", 1)[0]
    assert 'class="waf-rule highlighted"' in rules.split('id="rule-sqli-counted"', 1)[0][-60:]
    assert "Managed rule group AWS/AWSManagedRulesSQLiRuleSet" in sqli and "Override: Count" in sqli
    assert f'href="/audit/findings/{counted.pk}/"' in sqli
    rate = rules.split('id="rule-rate-limit"', 1)[1].split("</tr>", 1)[0]
    assert "Rate-based: 2000 requests per 300 s by IP" in rate and "<td>Block</td>" in rate
    assert "highlighted" not in rules.split('id="rule-rate-limit"', 1)[0][-60:]
    # A finding about the rules as a whole is shown on the section.
    assert f'href="/audit/findings/{no_xss.pk}/"' in rules.split("<table>", 1)[0]
    assert "<strong>Allow</strong>" in html.split('id="default-action"', 1)[1]
    assert planted_acl["stage"] in html.split('id="associations"', 1)[1]
    logging = html.split('id="logging"', 1)[1]
    assert "Logging: on" in logging and planted_acl["log_group"] in logging


def test_a_web_acl_not_in_the_account_is_not_found(emulator):
    assert admin().get("/audit/waf/regional/no-such-acl/0000/").status_code == 404


def test_the_audit_pages_link_to_each_other_as_tabs(emulator):
    html = text(admin().get("/audit/waf/"))

    tabs = html.split('class="audit-tabs"', 1)[1].split("</nav>", 1)[0]
    for href in ("/audit/", "/audit/changes/", "/audit/iam/", "/audit/waf/", "/audit/rules/"):
        assert f'href="{href}"' in tabs
    assert 'class="active" aria-current="page">WAF' in tabs

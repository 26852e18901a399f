"""Every audit rule, on a document that breaks it and on one that does not; and what each rule does not judge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from provisioning.audit.resources import UNKNOWN
from provisioning.audit.rules import RULES, Severity, evaluate
from tests.audit.documents import (
    ACCOUNT,
    FULL_BLOCK,
    RATE_RULE,
    bucket,
    db_instance,
    inline,
    managed_group,
    permission,
    role,
    role_with,
    security_group,
    web_acl,
)


def allow(action, resource="arn:aws:s3:::spotmusic-dev-audio/*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal, **extra) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}],
    }


def rule_ids(resource) -> set[str]:
    return {finding.rule_id for finding in evaluate([resource])}


def finding_of(rule_id: str, resource):
    return next(finding for finding in evaluate([resource]) if finding.rule_id == rule_id)


# Rule → (a resource that breaks it, a resource that keeps it).
CASES = {
    "iam.wildcard-action": (role_with(allow("s3:*")), role()),
    "iam.write-on-any-resource": (role_with(allow(["s3:PutObject", "s3:GetObject"], "*")), role()),
    "iam.admin-access": (
        role(
            Policies=[
                {
                    "PolicyName": "AdministratorAccess",
                    "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                    "Type": "aws-managed",
                    "PolicyDocument": None,
                }
            ]
        ),
        role(
            Policies=[
                {
                    "PolicyName": "ReadOnlyAccess",
                    "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    "Type": "aws-managed",
                    "PolicyDocument": None,
                }
            ]
        ),
    ),
    "iam.open-trust": (role(AssumeRolePolicyDocument=trust({"AWS": "*"})), role()),
    "iam.pass-role-any": (
        role_with(allow("iam:PassRole", "*")),
        role_with(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/spotmusic-dev-web-api-task")),
    ),
    "iam.unused-role": (role(UsedBy=[]), role()),
    "waf.no-sqli-rules": (web_acl(Rules=[RATE_RULE, managed_group("AWSManagedRulesCommonRuleSet", 30)]), web_acl()),
    "waf.no-xss-rules": (web_acl(Rules=[RATE_RULE, managed_group("AWSManagedRulesSQLiRuleSet", 20)]), web_acl()),
    "waf.no-rate-limit": (
        web_acl(
            Rules=[managed_group("AWSManagedRulesSQLiRuleSet", 20), managed_group("AWSManagedRulesCommonRuleSet", 30)]
        ),
        web_acl(),
    ),
    "waf.allows-everything": (web_acl(Rules=[]), web_acl()),
    "waf.visibility-off": (
        web_acl(
            VisibilityConfig={"CloudWatchMetricsEnabled": False, "SampledRequestsEnabled": True, "MetricName": "m"}
        ),
        web_acl(),
    ),
    "waf.logging-off": (web_acl(LoggingConfiguration=None), web_acl()),
    "waf.not-associated": (web_acl(AssociatedResources=[]), web_acl()),
    "sg.open-ingress": (
        security_group(permission(22, cidrs=["0.0.0.0/0"])),
        security_group(permission(443, cidrs=["0.0.0.0/0", "::/0"])),
    ),
    "sg.datastore-exposed": (
        security_group(permission(3306, cidrs=["10.0.0.0/8"])),
        security_group(permission(3306, groups=["sg-ecs-tasks"])),
    ),
    "s3.public-access-not-blocked": (bucket(PublicAccessBlock=None), bucket()),
    "s3.unencrypted": (bucket(ServerSideEncryption=None), bucket()),
    "s3.audio-unversioned": (bucket(Versioning="Suspended"), bucket()),
    "rds.public": (db_instance(PubliclyAccessible=True), db_instance()),
    "rds.unencrypted": (db_instance(StorageEncrypted=False), db_instance()),
}


def test_every_rule_of_the_registry_has_a_breaking_and_a_passing_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_a_document_breaking_the_rule_is_a_finding_and_a_good_one_is_not(rule_id):
    bad, good = CASES[rule_id]

    finding = finding_of(rule_id, bad)

    assert finding.severity == RULES[rule_id].severity
    assert finding.resource_kind == RULES[rule_id].kind
    assert finding.message and finding.evidence and finding.pointers
    assert rule_id not in rule_ids(good)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_each_rule_is_documented_with_a_title_a_rationale_and_a_remediation(rule_id):
    rule = RULES[rule_id]

    assert rule.severity in Severity
    assert len(rule.title) > 20 and len(rule.rationale) > 40 and len(rule.remediation) > 20


def test_the_good_documents_break_no_rule_at_all():
    assert evaluate([good for _, good in CASES.values()]) == []


# --- IAM -----------------------------------------------------------------------------------------
def test_the_guilty_statement_is_pointed_at_inside_the_offending_policy_only():
    resource = role(
        Policies=[
            inline(allow("s3:GetObject"), name="fine"),
            inline(allow("s3:GetObject"), allow("sqs:*", "arn:aws:sqs:eu-west-1:1:jobs"), name="wide"),
        ]
    )

    finding = finding_of("iam.wildcard-action", resource)

    assert [policy["PolicyName"] for policy in finding.evidence["Policies"]] == ["wide"]
    assert finding.pointers == ["/Policies/0/PolicyDocument/Statement/1"]
    assert "'sqs:*'" in finding.message


def test_deny_statements_never_count_as_granting_anything():
    resource = role_with(allow("s3:GetObject"), {"Effect": "Deny", "Action": "*", "Resource": "*"})

    assert rule_ids(resource) == set()


def test_allow_with_not_action_counts_as_a_wildcard():
    resource = role_with({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::x"})

    assert "iam.wildcard-action" in rule_ids(resource)


def test_get_authorization_token_on_every_resource_is_read_only_and_allowed():
    # The iam module's task execution policy: ECR's token has no resource-level permission.
    resource = role_with(allow("ecr:GetAuthorizationToken", "*"), allow(["logs:DescribeLogGroups", "s3:List*"], "*"))

    assert rule_ids(resource) == set()


@pytest.mark.parametrize("action", ["s3:PutObject", "sts:AssumeRole", "s3:Put*", "logs:CreateLogStream"])
def test_writes_on_every_resource_are_found(action):
    assert "iam.write-on-any-resource" in rule_ids(role_with(allow(action, "*")))


def test_not_resource_counts_as_every_resource():
    resource = role_with({"Effect": "Allow", "Action": "s3:DeleteObject", "NotResource": "arn:aws:s3:::keep/*"})

    assert "iam.write-on-any-resource" in rule_ids(resource)


def test_a_policy_allowing_everything_is_administrator_access_whatever_its_name():
    finding = finding_of("iam.admin-access", role_with(allow("*", "*")))

    assert finding.pointers == ["/Policies/0/PolicyDocument/Statement/0"]


def test_pass_role_through_a_wildcard_action_is_found():
    assert "iam.pass-role-any" in rule_ids(role_with(allow("iam:Pass*", "*")))


@pytest.mark.parametrize(
    ("principal", "condition", "found"),
    [
        ("*", None, True),
        ({"AWS": "*"}, None, True),
        ({"AWS": "arn:aws:iam::999988887777:root"}, None, True),
        ({"AWS": "999988887777"}, None, True),
        ({"AWS": "arn:aws:iam::999988887777:root"}, {"StringEquals": {"sts:ExternalId": "spotmusic"}}, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, None, False),
        ({"Service": "ecs-tasks.amazonaws.com"}, None, False),
    ],
)
def test_trust_in_anyone_or_another_account_without_a_condition_is_found(principal, condition, found):
    extra = {"Condition": condition} if condition else {}
    resource = role(AssumeRolePolicyDocument=trust(principal, **extra))

    assert ("iam.open-trust" in rule_ids(resource)) is found


def test_a_role_used_recently_outside_ecs_is_not_unused():
    recently = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    long_ago = (datetime.now(UTC) - timedelta(days=200)).isoformat()

    assert "iam.unused-role" not in rule_ids(role(UsedBy=[], RoleLastUsed={"LastUsedDate": recently}))
    assert "iam.unused-role" in rule_ids(role(UsedBy=[], RoleLastUsed={"LastUsedDate": long_ago}))


def test_the_unused_role_rule_is_not_applied_to_plans():
    resource = role()
    del resource.document["UsedBy"]

    assert evaluate([resource], source="plan") == []
    assert RULES["iam.unused-role"].live_only


def test_unknown_values_of_a_plan_neither_break_nor_satisfy_a_rule():
    resource = role(
        AssumeRolePolicyDocument=UNKNOWN,
        Policies=[
            inline(allow(["s3:PutObject"], [UNKNOWN, UNKNOWN])),
            {"PolicyName": "later", "Type": "inline", "PolicyDocument": UNKNOWN},
        ],
    )

    assert rule_ids(resource) == set()


# --- WAF -----------------------------------------------------------------------------------------
def test_a_managed_group_that_only_counts_does_not_protect():
    counted = managed_group("AWSManagedRulesSQLiRuleSet", 20)
    counted["OverrideAction"] = {"Count": {}}

    finding = finding_of(
        "waf.no-sqli-rules", web_acl(Rules=[RATE_RULE, counted, managed_group("AWSManagedRulesCommonRuleSet", 30)])
    )

    assert finding.pointers == ["/Rules/1"]


def test_excluding_the_cross_site_scripting_rules_of_the_common_set_is_found():
    common = managed_group(
        "AWSManagedRulesCommonRuleSet",
        30,
        ExcludedRules=[{"Name": "SizeRestrictions_BODY"}, {"Name": "CrossSiteScripting_BODY"}],
    )

    finding = finding_of(
        "waf.no-xss-rules", web_acl(Rules=[RATE_RULE, managed_group("AWSManagedRulesSQLiRuleSet", 20), common])
    )

    assert finding.pointers == ["/Rules/2/Statement/ManagedRuleGroupStatement/ExcludedRules/1"]


def test_own_match_statements_nested_in_an_and_statement_protect():
    sqli = {
        "Name": "sqli-in-body",
        "Priority": 5,
        "Action": {"Block": {}},
        "Statement": {
            "AndStatement": {
                "Statements": [
                    {"ByteMatchStatement": {"SearchString": "/api"}},
                    {"SqliMatchStatement": {"FieldToMatch": {"Body": {}}}},
                ]
            }
        },
        "VisibilityConfig": {"CloudWatchMetricsEnabled": True, "SampledRequestsEnabled": True, "MetricName": "s"},
    }

    assert "waf.no-sqli-rules" not in rule_ids(
        web_acl(Rules=[RATE_RULE, sqli, managed_group("AWSManagedRulesCommonRuleSet", 30)])
    )


def test_a_default_block_web_acl_does_not_allow_everything():
    assert "waf.allows-everything" not in rule_ids(web_acl(DefaultAction={"Block": {}}, Rules=[]))


def test_visibility_off_on_a_rule_points_at_that_rule():
    rule = managed_group("AWSManagedRulesSQLiRuleSet", 20)
    rule["VisibilityConfig"]["SampledRequestsEnabled"] = False

    finding = finding_of(
        "waf.visibility-off", web_acl(Rules=[RATE_RULE, rule, managed_group("AWSManagedRulesCommonRuleSet", 30)])
    )

    assert finding.pointers == ["/Rules/1/VisibilityConfig"]


# --- Security groups -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("open_permission", "found"),
    [
        (permission(80, cidrs=["0.0.0.0/0"]), False),
        (permission(443, cidrs=["::/0"]), False),
        (permission(80, 443, cidrs=["0.0.0.0/0"]), True),
        (permission(22, cidrs=["::/0"]), True),
        (permission(-1, protocol="-1", cidrs=["0.0.0.0/0"]), True),
        (permission(443, protocol="udp", cidrs=["0.0.0.0/0"]), True),
        (permission(22, cidrs=["10.0.0.0/8"]), False),
        (permission(8, protocol="icmp", cidrs=["0.0.0.0/0"]), False),
    ],
)
def test_only_web_ports_may_be_open_to_the_internet(open_permission, found):
    group = security_group(open_permission, GroupId="sg-api", GroupName="api")

    assert ("sg.open-ingress" in rule_ids(group)) is found


def test_a_group_used_by_a_database_is_a_data_store_on_every_port():
    group = security_group(permission(8080, groups=["sg-bastion"]), AttachedTo=["RDS spotmusic-dev-mysql"])

    finding = finding_of("sg.datastore-exposed", group)

    assert finding.pointers == ["/IpPermissions/0/UserIdGroupPairs/0"]
    assert "sg-bastion" in finding.message


def test_a_data_store_group_may_let_in_itself_and_the_app():
    group = security_group(
        permission(6379, groups=["sg-database", "sg-ecs-tasks"]), AttachedTo=["ElastiCache spotmusic-dev"]
    )

    assert rule_ids(group) == set()


# --- S3 and RDS ------------------------------------------------------------------------------------
def test_one_public_access_setting_off_is_pointed_at():
    finding = finding_of(
        "s3.public-access-not-blocked", bucket(PublicAccessBlock={**FULL_BLOCK, "BlockPublicPolicy": False})
    )

    assert finding.pointers == ["/PublicAccessBlock/BlockPublicPolicy"]


def test_only_the_audio_bucket_must_keep_versions():
    state = bucket(
        Name="spotmusic-dev-tfstate", Tags={"Environment": "dev", "Component": "state_backend"}, Versioning=None
    )
    named_audio = bucket(Name="spotmusic-qa-audio", Tags={}, Versioning=None)

    assert "s3.audio-unversioned" not in rule_ids(state)
    assert "s3.audio-unversioned" in rule_ids(named_audio)


def test_findings_come_most_severe_first():
    findings = evaluate([role(UsedBy=[]), db_instance(PubliclyAccessible=True), bucket(ServerSideEncryption=None)])

    assert [f.severity for f in findings] == ["high", "medium", "low"]


def test_a_finding_keeps_its_resource_identity_and_environment():
    finding = finding_of("rds.public", db_instance(PubliclyAccessible=True))

    assert finding.resource_key == f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:spotmusic-dev-mysql"
    assert finding.environment == "dev"
    assert finding.evidence["PubliclyAccessible"] is True

"""The live audit reads the account through the boto3 factory (against the emulator) and finds what is wrong."""

from __future__ import annotations

import json

from provisioning.audit import collect_live, evaluate
from provisioning.aws import client
from tests.support.emulator import REGION

OPEN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
VISIBLE = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "audit"}


def tags(environment: str, **extra) -> list[dict]:
    return [{"Key": "Environment", "Value": environment}, *({"Key": k, "Value": v} for k, v in extra.items())]


def audit(environment: str):
    collection = collect_live.collect([REGION], environment)
    return collection, evaluate(collection.resources)


def found(findings, resource_id: str) -> set[str]:
    return {f.rule_id for f in findings if f.resource_id == resource_id}


def make_role(name: str, environment: str, trust: dict = ECS_TRUST) -> str:
    return client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=tags(environment))[
        "Role"
    ]["Arn"]


def test_a_role_open_to_anyone_with_every_permission_is_found_with_its_guilty_statements(emulator, unique):
    environment, name = unique("live-iam"), unique("wide-open")
    iam = client("iam")
    make_role(name, environment, OPEN_TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(EVERYTHING))
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    _, findings = audit(environment)

    assert found(findings, name) >= {
        "iam.open-trust",
        "iam.wildcard-action",
        "iam.admin-access",
        "iam.write-on-any-resource",
        "iam.pass-role-any",
        "iam.unused-role",
    }
    wildcard = next(f for f in findings if f.rule_id == "iam.wildcard-action" and f.resource_id == name)
    inline = wildcard.evidence["Policies"][0]
    assert inline["PolicyName"] == "everything" and inline["Type"] == "inline"
    assert "/Policies/0/PolicyDocument/Statement/0" in wildcard.pointers
    assert wildcard.environment == environment
    # The AWS managed policy's own document was read (attached policies are judged by what they allow).
    assert any(
        p.get("PolicyArn", "").endswith("/AdministratorAccess") and p["PolicyDocument"]
        for p in wildcard.evidence["Policies"]
    )


def test_a_role_an_ecs_task_definition_uses_is_not_unused(emulator, unique):
    environment = unique("live-usage")
    used, unused = unique("task-role"), unique("orphan-role")
    used_arn = make_role(used, environment)
    make_role(unused, environment)
    client("ecs").register_task_definition(
        family=unique("family"),
        taskRoleArn=used_arn,
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}],
    )

    collection, findings = audit(environment)

    assert "iam.unused-role" not in found(findings, used)
    assert "iam.unused-role" in found(findings, unused)
    role = next(r for r in collection.resources if r.id == used)
    assert role.document["UsedBy"] and "taskRoleArn" in role.document["UsedBy"][0]


def test_more_than_a_page_of_roles_is_read_whole(emulator, unique):
    environment = unique("live-paging")
    names = [unique("paged") for _ in range(105)]  # IAM lists 100 roles a page
    for name in names:
        make_role(name, environment)
    client("iam").put_role_policy(RoleName=names[-1], PolicyName="everything", PolicyDocument=json.dumps(EVERYTHING))

    collection, findings = audit(environment)

    assert sorted(r.id for r in collection.resources if r.kind == "iam_role") == sorted(names)
    assert "iam.wildcard-action" in found(findings, names[-1])


def test_open_security_groups_and_an_exposed_public_database_are_found(emulator, unique):
    environment = unique("live-net")
    ec2, rds = client("ec2"), client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]

    def group(name: str) -> str:
        return ec2.create_security_group(
            GroupName=unique(name),
            Description=name,
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(environment)}],
        )["GroupId"]

    bastion, database, other = group("bastion"), group("database"), group("other")
    ec2.authorize_security_group_ingress(
        GroupId=bastion,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=database,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 5000, "UserIdGroupPairs": [{"GroupId": other}]}
        ],
    )
    instance = unique("db")
    rds.create_db_instance(
        DBInstanceIdentifier=instance,
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-123",
        PubliclyAccessible=True,
        StorageEncrypted=False,
        VpcSecurityGroupIds=[database],
        Tags=tags(environment),
    )

    _, findings = audit(environment)

    assert found(findings, bastion) == {"sg.open-ingress"}
    exposed = next(f for f in findings if f.resource_id == database)
    assert exposed.rule_id == "sg.datastore-exposed"
    assert exposed.evidence["AttachedTo"] == [f"RDS {instance}"]
    assert exposed.pointers == ["/IpPermissions/0/UserIdGroupPairs/0"]
    assert found(findings, instance) == {"rds.public", "rds.unencrypted"}


def test_an_unprotected_audio_bucket_is_found_and_a_protected_one_is_not(emulator, unique):
    environment = unique("live-s3")
    s3 = client("s3")
    loose, guarded = f"{unique('loose')}-audio", f"{unique('guarded')}-audio"
    for name in (loose, guarded):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(environment, Component="audio_storage")})
    s3.put_public_access_block(
        Bucket=guarded,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=guarded,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=guarded, VersioningConfiguration={"Status": "Enabled"})

    _, findings = audit(environment)

    assert found(findings, loose) == {"s3.public-access-not-blocked", "s3.unencrypted", "s3.audio-unversioned"}
    assert found(findings, guarded) == set()


def _stage(name: str) -> str:
    apigateway = client("apigateway")
    api_id = apigateway.create_rest_api(name=name)["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = apigateway.create_deployment(restApiId=api_id)["id"]
    apigateway.create_stage(restApiId=api_id, stageName="live", deploymentId=deployment)
    return f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/live"


def test_a_bare_web_acl_is_found_and_fixing_it_clears_the_findings(emulator, unique):
    environment, name = unique("live-waf"), unique("bare-acl")
    wafv2 = client("wafv2")
    acl = wafv2.create_web_acl(
        Name=name,
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={**VISIBLE, "SampledRequestsEnabled": False},
        Rules=[],
        Tags=tags(environment),
    )["Summary"]

    _, findings = audit(environment)

    assert found(findings, name) == {
        "waf.no-sqli-rules",
        "waf.no-xss-rules",
        "waf.no-rate-limit",
        "waf.allows-everything",
        "waf.visibility-off",
        "waf.logging-off",
        "waf.not-associated",
    }

    wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=_stage(unique("protected-api")))
    client("logs").create_log_group(logGroupName=f"aws-waf-logs-{name}")
    wafv2.put_logging_configuration(
        LoggingConfiguration={
            "ResourceArn": acl["ARN"],
            "LogDestinationConfigs": [f"arn:aws:logs:{REGION}:123456789012:log-group:aws-waf-logs-{name}"],
        }
    )

    collection, findings = audit(environment)

    assert "waf.not-associated" not in found(findings, name)
    assert "waf.logging-off" not in found(findings, name)
    document = next(r.document for r in collection.resources if r.id == name)
    assert document["AssociatedResources"][0].endswith("/stages/live")


def test_an_environment_scoped_audit_reads_only_that_environments_resources(emulator, unique):
    mine, theirs = unique("scope-mine"), unique("scope-theirs")
    my_role, their_role = unique("mine"), unique("theirs")
    make_role(my_role, mine)
    make_role(their_role, theirs)

    collection = collect_live.collect([REGION], mine)

    assert [r.id for r in collection.resources] == [my_role]
    assert collection.resources[0].environment == mine

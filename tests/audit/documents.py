"""Normalised resource documents for the rule tests: a passing one of each kind, changed by each test."""

from __future__ import annotations

import copy

from provisioning.audit.resources import AuditedResource, ResourceKind

ACCOUNT = "123456789012"

ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}

TASK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "EcrAuthorizationToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "ReadWriteAudioObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::spotmusic-dev-audio/*",
        },
    ],
}


def role(**changes) -> AuditedResource:
    document = {
        "RoleName": "spotmusic-dev-web-api-task",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/spotmusic-dev-web-api-task",
        "Path": "/",
        "AccountId": ACCOUNT,
        "Tags": {"Environment": "dev"},
        "AssumeRolePolicyDocument": copy.deepcopy(ECS_TRUST),
        "Policies": [{"PolicyName": "web-api", "Type": "inline", "PolicyDocument": copy.deepcopy(TASK_POLICY)}],
        "UsedBy": ["ECS service spotmusic-dev-web-api (taskRoleArn)"],
        "RoleLastUsed": {},
        **changes,
    }
    return AuditedResource(
        ResourceKind.IAM_ROLE, document["RoleName"], document, arn=document["Arn"], tags=document["Tags"]
    )


def inline(*statements: dict, name: str = "extra") -> dict:
    return {
        "PolicyName": name,
        "Type": "inline",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
    }


def role_with(*statements: dict) -> AuditedResource:
    return role(Policies=[inline(*statements)])


VISIBLE = {"CloudWatchMetricsEnabled": True, "SampledRequestsEnabled": True, "MetricName": "m"}


def managed_group(name: str, priority: int, **group) -> dict:
    return {
        "Name": name,
        "Priority": priority,
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name, **group}},
        "VisibilityConfig": dict(VISIBLE),
    }


RATE_RULE = {
    "Name": "rate-limit-per-ip",
    "Priority": 0,
    "Action": {"Block": {}},
    "Statement": {"RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}},
    "VisibilityConfig": dict(VISIBLE),
}


def web_acl(**changes) -> AuditedResource:
    document = {
        "Name": "spotmusic-dev-web-acl",
        "ARN": f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/spotmusic-dev-web-acl/1",
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "Rules": [
            copy.deepcopy(RATE_RULE),
            managed_group("AWSManagedRulesSQLiRuleSet", 20),
            managed_group("AWSManagedRulesCommonRuleSet", 30),
        ],
        "VisibilityConfig": dict(VISIBLE),
        "LoggingConfiguration": {"LogDestinationConfigs": ["arn:aws:logs:eu-west-1:1:log-group:aws-waf-logs-dev"]},
        "AssociatedResources": ["arn:aws:apigateway:eu-west-1::/restapis/a1/stages/live"],
        "Tags": {"Environment": "dev"},
        **changes,
    }
    return AuditedResource(
        ResourceKind.WAF_WEB_ACL, document["Name"], document, arn=document["ARN"], tags=document["Tags"]
    )


def permission(port_from: int, port_to: int | None = None, protocol: str = "tcp", cidrs=(), groups=()) -> dict:
    return {
        "IpProtocol": protocol,
        "FromPort": port_from,
        "ToPort": port_from if port_to is None else port_to,
        "IpRanges": [{"CidrIp": cidr} for cidr in cidrs if ":" not in cidr],
        "Ipv6Ranges": [{"CidrIpv6": cidr} for cidr in cidrs if ":" in cidr],
        "UserIdGroupPairs": [{"GroupId": group} for group in groups],
    }


def security_group(*permissions: dict, **changes) -> AuditedResource:
    document = {
        "GroupId": "sg-database",
        "GroupName": "spotmusic-dev-database",
        "VpcId": "vpc-1",
        "Tags": {"Environment": "dev"},
        "IpPermissions": list(permissions),
        "AttachedTo": [],
        "AppSecurityGroupIds": ["sg-ecs-tasks"],
        **changes,
    }
    return AuditedResource(
        ResourceKind.SECURITY_GROUP, document["GroupId"], document, region="eu-west-1", tags=document["Tags"]
    )


FULL_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def bucket(**changes) -> AuditedResource:
    document = {
        "Name": "spotmusic-dev-audio",
        "Arn": "arn:aws:s3:::spotmusic-dev-audio",
        "Tags": {"Environment": "dev", "Component": "audio_storage"},
        "PublicAccessBlock": dict(FULL_BLOCK),
        "ServerSideEncryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "Versioning": "Enabled",
        **changes,
    }
    return AuditedResource(
        ResourceKind.S3_BUCKET, document["Name"], document, arn=document["Arn"], tags=document["Tags"]
    )


def db_instance(**changes) -> AuditedResource:
    identifier = changes.get("DBInstanceIdentifier", "spotmusic-dev-mysql")
    document = {
        "DBInstanceIdentifier": identifier,
        "DBInstanceArn": f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:{identifier}",
        "Engine": "mysql",
        "PubliclyAccessible": False,
        "StorageEncrypted": True,
        "Tags": {"Environment": "dev"},
        **changes,
    }
    return AuditedResource(
        ResourceKind.RDS_INSTANCE,
        document["DBInstanceIdentifier"],
        document,
        arn=document["DBInstanceArn"],
        tags=document["Tags"],
    )

"""What an environment left in the account: every kind of resource the blueprints create, read with boto3."""

from __future__ import annotations

from collections.abc import Callable

from provisioning import aws


def _paged(service: str, operation: str, key: str) -> list[dict]:
    """Every item of a list call, all pages."""
    return [item for page in aws.client(service).get_paginator(operation).paginate() for item in page[key]]


def _ec2(kind: str, call: str, key: str, id_key: str, live: Callable[[dict], bool] = lambda item: True):
    def find(environment: str) -> list[str]:
        filters = [{"Name": "tag:Environment", "Values": [environment]}]
        items = getattr(aws.client("ec2"), call)(Filters=filters)[key]
        # The tag is checked here too: not every emulated describe call honours a tag filter (NAT gateways).
        tagged = [item for item in items if {"Key": "Environment", "Value": environment} in item.get("Tags", [])]
        return [item[id_key] for item in tagged if live(item)]

    return kind, find


def _ecs_clusters(environment: str) -> list[str]:
    ecs = aws.client("ecs")
    arns = ecs.list_clusters()["clusterArns"]
    clusters = ecs.describe_clusters(clusters=arns)["clusters"] if arns else []
    return [c["clusterName"] for c in clusters if c["status"] == "ACTIVE"]


def _distributions(environment: str) -> list[str]:
    cloudfront = aws.client("cloudfront")
    items = cloudfront.list_distributions()["DistributionList"].get("Items", [])
    tagged = []
    for item in items:
        tags = cloudfront.list_tags_for_resource(Resource=item["ARN"])["Tags"].get("Items", [])
        if {"Key": "Environment", "Value": environment} in tags:
            tagged.append(item["Id"])
    return tagged


# (kind, lister): EC2 kinds are found by their Environment tag; the rest by name, filtered by prefix below.
_TAGGED = [
    _ec2("vpc", "describe_vpcs", "Vpcs", "VpcId"),
    _ec2("subnet", "describe_subnets", "Subnets", "SubnetId"),
    _ec2("nat gateway", "describe_nat_gateways", "NatGateways", "NatGatewayId", lambda n: n["State"] != "deleted"),
    _ec2("elastic ip", "describe_addresses", "Addresses", "AllocationId"),
    _ec2("security group", "describe_security_groups", "SecurityGroups", "GroupId"),
    ("cloudfront distribution", _distributions),
]
_NAMED: list[tuple[str, Callable[[], list[str]]]] = [
    ("s3 bucket", lambda: [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]),
    ("sqs queue", lambda: [u.rsplit("/", 1)[-1] for u in aws.client("sqs").list_queues().get("QueueUrls", [])]),
    (
        "ecr repository",
        lambda: [r["repositoryName"] for r in aws.client("ecr").describe_repositories()["repositories"]],
    ),
    ("ecs cluster", lambda: _ecs_clusters("")),
    ("iam role", lambda: [r["RoleName"] for r in _paged("iam", "list_roles", "Roles")]),
    ("secret", lambda: [s["Name"] for s in _paged("secretsmanager", "list_secrets", "SecretList")]),
    ("ssm parameter", lambda: [p["Name"] for p in _paged("ssm", "describe_parameters", "Parameters")]),
    ("log group", lambda: [g["logGroupName"] for g in _paged("logs", "describe_log_groups", "logGroups")]),
    ("alarm", lambda: [a["AlarmName"] for a in _paged("cloudwatch", "describe_alarms", "MetricAlarms")]),
    ("dashboard", lambda: [d["DashboardName"] for d in aws.client("cloudwatch").list_dashboards()["DashboardEntries"]]),
    ("dynamodb table", lambda: aws.client("dynamodb").list_tables()["TableNames"]),
    (
        "rds instance",
        lambda: [i["DBInstanceIdentifier"] for i in aws.client("rds").describe_db_instances()["DBInstances"]],
    ),
    (
        "elasticache cluster",
        lambda: [c["CacheClusterId"] for c in aws.client("elasticache").describe_cache_clusters()["CacheClusters"]],
    ),
    (
        "elasticache replication group",
        lambda: [
            g["ReplicationGroupId"]
            for g in aws.client("elasticache").describe_replication_groups()["ReplicationGroups"]
        ],
    ),
    ("api gateway", lambda: [a["name"] for a in aws.client("apigateway").get_rest_apis()["items"]]),
    ("waf web acl", lambda: [w["Name"] for w in aws.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]]),
]


def belongs(name: str, prefix: str) -> bool:
    """Whether a resource name belongs to the environment ``prefix`` (name, path or ECR-style spelling)."""
    slashed = prefix.replace("-", "/", 1)
    return any(form in name for form in (prefix, slashed))


def leftovers(prefix: str) -> list[str]:
    """Resources of environment ``prefix`` (``<name_prefix>-<environment>``) still in the account.

    Empty after a complete destroy. Each entry reads "<kind>: <name>".
    """
    environment = prefix.split("-", 1)[1]
    found = [f"{kind}: {name}" for kind, find in _TAGGED for name in find(environment)]
    found += [f"{kind}: {name}" for kind, names in _NAMED for name in names() if belongs(name, prefix)]
    return found

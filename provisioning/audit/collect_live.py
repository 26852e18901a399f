"""Read the account for the audit: IAM roles, WAF web ACLs, security groups, S3 buckets and RDS instances.

Every client comes from :func:`provisioning.aws.client`; every list call is paginated (a paginator where boto3
has one, ``NextMarker`` by hand for WAFv2). Resources are scoped by their ``Environment`` tag: with an
environment name, only that environment's resources are returned; without one, all of them (account-wide
ones have no such tag, or a tag naming no environment).

What the rules need beyond a resource itself is read here too: who uses each role (the task and execution
roles of every ECS task definition in use, in any environment, and API Gateway's CloudWatch role), which
security groups the app (ECS services) and the data stores (RDS, ElastiCache) use, and what each web ACL
is associated with. AWS service-linked roles (path ``/aws-service-role/``) are left out: AWS owns them.

A resource that cannot be read (AccessDenied, a bucket deleted meanwhile) is reported in
:attr:`Collection.unreadable` rather than failing the audit; its earlier findings are then kept as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from botocore.exceptions import ClientError

from provisioning import aws
from provisioning.audit.resources import ENVIRONMENT_TAG, AuditedResource, ResourceKind, tag_map

SERVICE_LINKED_PATH = "/aws-service-role/"
CLOUDFRONT_REGION = "us-east-1"
# ListResourcesForWebACL answers for one resource type at a time.
WEB_ACL_RESOURCE_TYPES = (
    "API_GATEWAY",
    "APPLICATION_LOAD_BALANCER",
    "APPSYNC",
    "COGNITO_USER_POOL",
    "APP_RUNNER_SERVICE",
    "VERIFIED_ACCESS_INSTANCE",
)
ECS_DESCRIBE_BATCH = 10


@dataclass(frozen=True)
class Unreadable:
    """A resource (``key``) or a whole kind in a region (``key`` empty) the audit could not read."""

    kind: str
    region: str
    key: str
    error: str


@dataclass
class Collection:
    resources: list[AuditedResource] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def _error(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _pages(client, operation: str, **kwargs) -> Iterator[dict]:
    """Every page of a paginated operation."""
    yield from client.get_paginator(operation).paginate(**kwargs)


def _marker_pages(call, **kwargs) -> Iterator[dict]:
    """Every page of a WAFv2 list call (``NextMarker``; boto3 has no paginators for WAFv2)."""
    marker = None
    while True:
        page = call(**kwargs, **({"NextMarker": marker} if marker else {}))
        yield page
        marker = page.get("NextMarker")
        if not marker:
            return


def _in_scope(tags: dict[str, str], environment: str | None) -> bool:
    return environment is None or tags.get(ENVIRONMENT_TAG) == environment


def collect(regions: Sequence[str], environment: str | None = None) -> Collection:
    """Read every audited resource of ``regions`` (and the global ones: IAM, S3, CloudFront)."""
    regions = list(dict.fromkeys(regions)) or [aws.default_region()]
    collection = Collection(regions=regions)
    ecs_usage = [(region, _ecs_usage(region)) for region in regions]
    role_users: dict[str, list[str]] = {}
    app_groups: set[str] = set()
    for region, usage in ecs_usage:
        for arn, users in usage.role_users.items():
            role_users.setdefault(arn, []).extend(users)
        app_groups |= usage.security_groups
        for arn in _api_gateway_roles(region):
            role_users.setdefault(arn, []).append(f"API Gateway account settings ({region})")
    _roles(collection, environment, role_users)
    _buckets(collection, environment)
    for region in regions:
        _security_groups(collection, region, environment, app_groups)
        _db_instances(collection, region, environment)
        _web_acls(collection, region, environment, "REGIONAL")
    _web_acls(collection, CLOUDFRONT_REGION, environment, "CLOUDFRONT")
    return collection


# --- who uses what: ECS and API Gateway --------------------------------------------------------
@dataclass
class _EcsUsage:
    role_users: dict[str, list[str]] = field(default_factory=dict)
    security_groups: set[str] = field(default_factory=set)


def _ecs_usage(region: str) -> _EcsUsage:
    """Roles of the task definitions of every service and every active family, and the services' groups."""
    ecs = aws.client("ecs", region)
    usage = _EcsUsage()
    task_definitions: dict[str, str] = {}
    for page in _pages(ecs, "list_clusters"):
        for cluster in page["clusterArns"]:
            service_arns = [arn for p in _pages(ecs, "list_services", cluster=cluster) for arn in p["serviceArns"]]
            for start in range(0, len(service_arns), ECS_DESCRIBE_BATCH):
                batch = service_arns[start : start + ECS_DESCRIBE_BATCH]
                for service in ecs.describe_services(cluster=cluster, services=batch)["services"]:
                    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
                    usage.security_groups |= set(network.get("securityGroups") or [])
                    if service.get("taskDefinition"):
                        task_definitions[service["taskDefinition"]] = f"ECS service {service['serviceName']}"
    for page in _pages(ecs, "list_task_definition_families", status="ACTIVE"):
        for family in page["families"]:
            task_definitions.setdefault(family, f"ECS task definition {family}")
    for reference, user in task_definitions.items():
        try:
            definition = ecs.describe_task_definition(taskDefinition=reference)["taskDefinition"]
        except ClientError:
            continue  # deregistered between the listing and now: it uses nothing any more
        for key in ("taskRoleArn", "executionRoleArn"):
            if definition.get(key):
                usage.role_users.setdefault(definition[key], []).append(f"{user} ({key})")
    return usage


def _api_gateway_roles(region: str) -> list[str]:
    try:
        account = aws.client("apigateway", region).get_account()
    except ClientError:
        return []
    return [account["cloudwatchRoleArn"]] if account.get("cloudwatchRoleArn") else []


# --- IAM -----------------------------------------------------------------------------------------
def _policy_document(value: object) -> dict | None:
    """IAM returns documents URL-encoded in some SDKs, decoded in boto3; accept both."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return None
    return None


def _roles(collection: Collection, environment: str | None, role_users: dict[str, list[str]]) -> None:
    iam = aws.client("iam")
    managed_documents: dict[str, dict | None] = {}
    try:
        listed = [role for page in _pages(iam, "list_roles") for role in page["Roles"]]
    except ClientError as error:
        collection.unreadable.append(Unreadable(ResourceKind.IAM_ROLE, "", "", _error(error)))
        return
    for listed_role in listed:
        if listed_role.get("Path", "/").startswith(SERVICE_LINKED_PATH):
            continue
        name, arn = listed_role["RoleName"], listed_role["Arn"]
        try:
            role = iam.get_role(RoleName=name)["Role"]
            tags = tag_map(role.get("Tags"))
            if not _in_scope(tags, environment):
                continue
            policies = []
            for page in _pages(iam, "list_role_policies", RoleName=name):
                for policy_name in page["PolicyNames"]:
                    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                    policies.append(
                        {"PolicyName": policy_name, "Type": "inline", "PolicyDocument": _policy_document(document)}
                    )
            for page in _pages(iam, "list_attached_role_policies", RoleName=name):
                for attached in page["AttachedPolicies"]:
                    policy_arn = attached["PolicyArn"]
                    if policy_arn not in managed_documents:
                        managed_documents[policy_arn] = _managed_policy_document(iam, policy_arn)
                    policies.append(
                        {
                            "PolicyName": attached["PolicyName"],
                            "PolicyArn": policy_arn,
                            "Type": "aws-managed" if ":iam::aws:policy/" in policy_arn else "managed",
                            "PolicyDocument": managed_documents[policy_arn],
                        }
                    )
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                continue  # deleted while the audit read it
            collection.unreadable.append(Unreadable(ResourceKind.IAM_ROLE, "", arn, _error(error)))
            continue
        last_used = role.get("RoleLastUsed") or {}
        document = {
            "RoleName": name,
            "Arn": arn,
            "Path": role.get("Path", "/"),
            "AccountId": arn.split(":")[4],
            "Tags": tags,
            "AssumeRolePolicyDocument": _policy_document(role.get("AssumeRolePolicyDocument")),
            "Policies": policies,
            "UsedBy": sorted(set(role_users.get(arn, []))),
            "RoleLastUsed": {key: str(value) for key, value in last_used.items()},
        }
        collection.resources.append(AuditedResource(ResourceKind.IAM_ROLE, name, document, arn=arn, tags=tags))


def _managed_policy_document(iam, policy_arn: str) -> dict | None:
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    return _policy_document(document)


# --- S3 ------------------------------------------------------------------------------------------
def _optional(call, missing: str, **kwargs) -> dict | None:
    """The answer of ``call``, or None when AWS answers the ``missing`` error code (nothing configured)."""
    try:
        return call(**kwargs)
    except ClientError as error:
        if _code(error) == missing:
            return None
        raise


def _buckets(collection: Collection, environment: str | None) -> None:
    s3 = aws.client("s3")
    try:
        names = [bucket["Name"] for page in _pages(s3, "list_buckets") for bucket in page.get("Buckets", [])]
    except ClientError as error:
        collection.unreadable.append(Unreadable(ResourceKind.S3_BUCKET, "", "", _error(error)))
        return
    for name in names:
        arn = f"arn:aws:s3:::{name}"
        try:
            tagging = _optional(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=name)
            tags = tag_map((tagging or {}).get("TagSet"))
            if not _in_scope(tags, environment):
                continue
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
            block = _optional(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=name)
            encryption = _optional(
                s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError", Bucket=name
            )
            versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
        except ClientError as error:
            if _code(error) == "NoSuchBucket":
                continue
            collection.unreadable.append(Unreadable(ResourceKind.S3_BUCKET, "", arn, _error(error)))
            continue
        document = {
            "Name": name,
            "Arn": arn,
            "Region": location,
            "Tags": tags,
            "PublicAccessBlock": (block or {}).get("PublicAccessBlockConfiguration"),
            "ServerSideEncryption": (encryption or {}).get("ServerSideEncryptionConfiguration"),
            "Versioning": versioning,
        }
        collection.resources.append(
            AuditedResource(ResourceKind.S3_BUCKET, name, document, arn=arn, region=location, tags=tags)
        )


# --- EC2 security groups -----------------------------------------------------------------------
def _data_store_groups(region: str) -> dict[str, list[str]]:
    """Security group id → the RDS instances and ElastiCache clusters using it."""
    users: dict[str, list[str]] = {}
    for page in _pages(aws.client("rds", region), "describe_db_instances"):
        for instance in page["DBInstances"]:
            for group in instance.get("VpcSecurityGroups") or []:
                users.setdefault(group["VpcSecurityGroupId"], []).append(f"RDS {instance['DBInstanceIdentifier']}")
    for page in _pages(aws.client("elasticache", region), "describe_cache_clusters"):
        for cluster in page["CacheClusters"]:
            for group in cluster.get("SecurityGroups") or []:
                users.setdefault(group["SecurityGroupId"], []).append(f"ElastiCache {cluster['CacheClusterId']}")
    return users


def _security_groups(collection: Collection, region: str, environment: str | None, app_groups: set[str]) -> None:
    try:
        data_stores = _data_store_groups(region)
        groups = [
            g for page in _pages(aws.client("ec2", region), "describe_security_groups") for g in page["SecurityGroups"]
        ]
    except ClientError as error:
        collection.unreadable.append(Unreadable(ResourceKind.SECURITY_GROUP, region, "", _error(error)))
        return
    for group in groups:
        tags = tag_map(group.get("Tags"))
        if not _in_scope(tags, environment):
            continue
        document = {
            "GroupId": group["GroupId"],
            "GroupName": group.get("GroupName"),
            "VpcId": group.get("VpcId"),
            "Tags": tags,
            "IpPermissions": group.get("IpPermissions") or [],
            "AttachedTo": sorted(set(data_stores.get(group["GroupId"], []))),
            "AppSecurityGroupIds": sorted(app_groups),
        }
        arn = (
            group.get("SecurityGroupArn")
            or f"arn:aws:ec2:{region}:{group.get('OwnerId', '')}:security-group/{group['GroupId']}"
        )
        collection.resources.append(
            AuditedResource(ResourceKind.SECURITY_GROUP, group["GroupId"], document, arn=arn, region=region, tags=tags)
        )


# --- RDS -----------------------------------------------------------------------------------------
def _db_instances(collection: Collection, region: str, environment: str | None) -> None:
    try:
        instances = [
            i for page in _pages(aws.client("rds", region), "describe_db_instances") for i in page["DBInstances"]
        ]
    except ClientError as error:
        collection.unreadable.append(Unreadable(ResourceKind.RDS_INSTANCE, region, "", _error(error)))
        return
    for instance in instances:
        tags = tag_map(instance.get("TagList"))
        if not _in_scope(tags, environment):
            continue
        document = {
            "DBInstanceIdentifier": instance["DBInstanceIdentifier"],
            "DBInstanceArn": instance.get("DBInstanceArn"),
            "Engine": instance.get("Engine"),
            "PubliclyAccessible": instance.get("PubliclyAccessible"),
            "StorageEncrypted": instance.get("StorageEncrypted"),
            "KmsKeyId": instance.get("KmsKeyId"),
            "Tags": tags,
        }
        collection.resources.append(
            AuditedResource(
                ResourceKind.RDS_INSTANCE,
                instance["DBInstanceIdentifier"],
                document,
                arn=instance.get("DBInstanceArn", ""),
                region=region,
                tags=tags,
            )
        )


# --- WAFv2 ---------------------------------------------------------------------------------------
def _distributions_by_web_acl() -> dict[str, list[str]]:
    """CloudFront distributions by the web ACL they use (WebACLId holds a WAFv2 web ACL's ARN)."""
    protected: dict[str, list[str]] = {}
    for page in _pages(aws.client("cloudfront", CLOUDFRONT_REGION), "list_distributions"):
        for distribution in (page.get("DistributionList") or {}).get("Items") or []:
            if distribution.get("WebACLId"):
                protected.setdefault(distribution["WebACLId"], []).append(distribution["ARN"])
    return protected


def _regional_associations(wafv2, arn: str) -> list[str]:
    """The resources of every type a regional web ACL protects (a type the region lacks answers an error)."""
    associated = []
    for resource_type in WEB_ACL_RESOURCE_TYPES:
        try:
            page = wafv2.list_resources_for_web_acl(WebACLArn=arn, ResourceType=resource_type)
        except ClientError as error:
            if _code(error) == "WAFInvalidParameterException":
                continue
            raise
        associated += page.get("ResourceArns") or []
    return associated


def _web_acls(collection: Collection, region: str, environment: str | None, scope: str) -> None:
    wafv2 = aws.client("wafv2", region)
    try:
        summaries = [s for page in _marker_pages(wafv2.list_web_acls, Scope=scope) for s in page["WebACLs"]]
        distributions = _distributions_by_web_acl() if scope == "CLOUDFRONT" and summaries else {}
    except ClientError as error:
        collection.unreadable.append(Unreadable(ResourceKind.WAF_WEB_ACL, region, "", _error(error)))
        return
    for summary in summaries:
        arn = summary["ARN"]
        try:
            tags = tag_map(
                [
                    tag
                    for page in _marker_pages(wafv2.list_tags_for_resource, ResourceARN=arn)
                    for tag in (page.get("TagInfoForResource") or {}).get("TagList") or []
                ]
            )
            if not _in_scope(tags, environment):
                continue
            acl = wafv2.get_web_acl(Name=summary["Name"], Scope=scope, Id=summary["Id"])["WebACL"]
            logging = _optional(wafv2.get_logging_configuration, "WAFNonexistentItemException", ResourceArn=arn)
            # CloudFront web ACLs are set on distributions; ListResourcesForWebACL is for regional ones.
            associated = distributions.get(arn, []) if scope == "CLOUDFRONT" else _regional_associations(wafv2, arn)
        except ClientError as error:
            if _code(error) == "WAFNonexistentItemException":
                continue
            collection.unreadable.append(Unreadable(ResourceKind.WAF_WEB_ACL, region, arn, _error(error)))
            continue
        document = {
            "Name": acl["Name"],
            "ARN": arn,
            "Scope": scope,
            "DefaultAction": acl.get("DefaultAction"),
            "Rules": acl.get("Rules") or [],
            "VisibilityConfig": acl.get("VisibilityConfig"),
            "LoggingConfiguration": (logging or {}).get("LoggingConfiguration"),
            "AssociatedResources": associated,
            "Tags": tags,
        }
        collection.resources.append(
            AuditedResource(ResourceKind.WAF_WEB_ACL, acl["Name"], document, arn=arn, region=region, tags=tags)
        )


# --- what the admin browsers read ----------------------------------------------------------------
def read_roles(environment: str | None = None) -> Collection:
    """Every IAM role (not service-linked) with its trust policy and inline and attached policies, for browsing.

    Who uses each role is not read here (it costs a pass over ECS in every region); the rules need it, the
    IAM browser does not. A role or the listing that cannot be read is in :attr:`Collection.unreadable`.
    """
    collection = Collection()
    _roles(collection, environment, {})
    return collection


def read_web_acls(regions: Sequence[str]) -> Collection:
    """Every WAFv2 web ACL of ``regions`` (REGIONAL) and CloudFront's, with rules, logging and associations."""
    regions = list(dict.fromkeys(regions)) or [aws.default_region()]
    collection = Collection(regions=regions)
    for region in regions:
        _web_acls(collection, region, None, "REGIONAL")
    _web_acls(collection, CLOUDFRONT_REGION, None, "CLOUDFRONT")
    return collection

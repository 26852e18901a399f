"""The normalised resource documents every audit rule reads, whether they come from the account or from a plan.

Documents use the shapes and key names of the AWS APIs (``RoleName``, ``IpPermissions``, ``DefaultAction``...),
so a finding's evidence reads like what the console or the CLI shows. Both readers fill the same keys:

``iam_role``
    ``RoleName``, ``Arn``, ``Path``, ``AccountId``, ``Tags`` (a mapping), ``AssumeRolePolicyDocument`` and
    ``Policies``: ``[{PolicyName, PolicyArn (attached only), Type: inline | managed | aws-managed,
    PolicyDocument}]``. Live only: ``UsedBy`` (what refers to the role) and ``RoleLastUsed``.
``waf_web_acl``
    ``Name``, ``ARN``, ``Scope``, ``DefaultAction``, ``Rules``, ``VisibilityConfig`` (GetWebACL's shapes),
    ``LoggingConfiguration`` (None when logging is off), ``AssociatedResources`` (ARNs, or plan addresses).
``security_group``
    ``GroupId``, ``GroupName``, ``VpcId``, ``Tags``, ``IpPermissions`` (DescribeSecurityGroups' shape),
    ``AttachedTo`` (the databases and caches using the group) and ``AppSecurityGroupIds`` (the groups of the
    ECS services, i.e. the app).
``s3_bucket``
    ``Name``, ``Arn``, ``Tags``, ``PublicAccessBlock`` (None when absent), ``ServerSideEncryption`` (None when
    absent), ``Versioning`` ("Enabled", "Suspended" or None).
``rds_instance``
    ``DBInstanceIdentifier``, ``DBInstanceArn``, ``Engine``, ``PubliclyAccessible``, ``StorageEncrypted``, ``Tags``.

A value a plan cannot know yet (Terraform's "known after apply") is :data:`UNKNOWN`; rules never guess
about it: an unknown value neither breaks nor satisfies a rule, and the live audit checks it after apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

UNKNOWN = "(known after apply)"
ENVIRONMENT_TAG = "Environment"


class ResourceKind(StrEnum):
    IAM_ROLE = "iam_role"
    WAF_WEB_ACL = "waf_web_acl"
    SECURITY_GROUP = "security_group"
    S3_BUCKET = "s3_bucket"
    RDS_INSTANCE = "rds_instance"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    ResourceKind.IAM_ROLE: "IAM role",
    ResourceKind.WAF_WEB_ACL: "WAF web ACL",
    ResourceKind.SECURITY_GROUP: "Security group",
    ResourceKind.S3_BUCKET: "S3 bucket",
    ResourceKind.RDS_INSTANCE: "RDS instance",
}


@dataclass
class AuditedResource:
    """One resource as the rules see it: what it is, where it lives, and its normalised document."""

    kind: ResourceKind
    id: str
    document: dict
    arn: str = ""
    region: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    # The Terraform address, for resources read from a plan.
    address: str = ""

    @property
    def environment(self) -> str | None:
        """The Spotmusic environment the resource belongs to (its Environment tag), None for account-wide."""
        value = self.tags.get(ENVIRONMENT_TAG)
        return value if isinstance(value, str) and value and value != UNKNOWN else None

    @property
    def key(self) -> str:
        """A stable identity across audits: the ARN, or the kind, region and id."""
        if self.arn and self.arn != UNKNOWN:
            return self.arn
        return f"{self.kind}:{self.region}:{self.address or self.id}"


def tag_map(tags: object) -> dict[str, str]:
    """Tags as a mapping, from AWS's ``[{Key, Value}]`` lists or a mapping already."""
    if isinstance(tags, dict):
        return {str(k): v for k, v in tags.items() if isinstance(v, str)}
    if isinstance(tags, list):
        return {item["Key"]: item.get("Value", "") for item in tags if isinstance(item, dict) and "Key" in item}
    return {}

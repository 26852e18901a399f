"""The audit's rules, in one registry: id, severity, resource kind, title, why it matters, how to fix it, and the check.

This module is the one documented place of the rules: ``manage.py audit_rules`` prints :data:`RULES` as the
Markdown table of docs/audit-rules.md, and a test keeps the two equal. Every check reads one normalised
resource document (see :mod:`provisioning.audit.resources`) and returns at most one :class:`Violation`: what is
wrong in a sentence, the offending JSON, and JSON pointers (RFC 6901) to the guilty parts of it.

The same checks run on the live account and on the state a plan would leave; a rule marked ``live_only``
needs facts a plan cannot have (who uses a role) and is skipped on plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from provisioning.audit import policy
from provisioning.audit.resources import UNKNOWN, AuditedResource, ResourceKind


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


@dataclass(frozen=True)
class Violation:
    """What a check found wrong with one resource."""

    message: str
    evidence: dict
    pointers: list[str]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    kind: ResourceKind
    title: str
    rationale: str
    remediation: str
    check: Callable[[AuditedResource], Violation | None] = field(repr=False, compare=False)
    live_only: bool = False


@dataclass
class Finding:
    """One rule broken by one resource, with the evidence; plain data (``to_dict`` is JSON)."""

    rule_id: str
    severity: str
    title: str
    resource_kind: str
    resource_id: str
    resource_arn: str
    resource_key: str
    environment: str | None
    region: str
    address: str
    message: str
    evidence: dict
    pointers: list[str]

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity,
    kind: ResourceKind,
    title: str,
    rationale: str,
    remediation: str,
    live_only: bool = False,
):
    """Register the decorated check as rule ``rule_id``."""

    def register(check: Callable[[AuditedResource], Violation | None]):
        if rule_id in RULES:
            raise ValueError(f"Audit rule {rule_id} is defined twice.")
        RULES[rule_id] = Rule(rule_id, severity, kind, title, rationale, remediation, check, live_only)
        return check

    return register


def evaluate(resources: Iterable[AuditedResource], source: str = "live") -> list[Finding]:
    """Every rule on every resource of its kind; ``source="plan"`` skips the live-only rules."""
    findings = []
    for resource in resources:
        for registered in RULES.values():
            if registered.kind != resource.kind or (source == "plan" and registered.live_only):
                continue
            violation = registered.check(resource)
            if violation is None:
                continue
            findings.append(
                Finding(
                    rule_id=registered.id,
                    severity=registered.severity.value,
                    title=registered.title,
                    resource_kind=resource.kind.value,
                    resource_id=resource.id,
                    resource_arn=resource.arn if resource.arn != UNKNOWN else "",
                    resource_key=resource.key,
                    environment=resource.environment,
                    region=resource.region,
                    address=resource.address,
                    message=violation.message,
                    evidence=violation.evidence,
                    pointers=violation.pointers,
                )
            )
    findings.sort(key=lambda f: (SEVERITY_ORDER[Severity(f.severity)], f.rule_id, f.resource_id))
    return findings


def markdown_table() -> str:
    """The registry as the Markdown table of docs/audit-rules.md."""
    lines = [
        "| Rule | Severity | Resource | What it finds | Why it matters | How to fix it |",
        "|---|---|---|---|---|---|",
    ]
    for registered in RULES.values():
        scope = " (live audit only)" if registered.live_only else ""
        cells = [
            f"`{registered.id}`",
            registered.severity.value,
            registered.kind.label,
            registered.title + scope,
            registered.rationale,
            registered.remediation,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


# --- IAM ---------------------------------------------------------------------------------------
ADMIN_EQUIVALENT_POLICIES = {"AdministratorAccess", "IAMFullAccess"}
UNUSED_AFTER_DAYS = 90


def _statement_name(pointer: str, statement: dict) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else f"statement {pointer.rsplit('/', 1)[-1]}"


def _policy_name(entry: dict) -> str:
    kind = {"inline": "inline policy", "managed": "managed policy", "aws-managed": "AWS managed policy"}
    return f"{kind.get(entry.get('Type'), 'policy')} {entry.get('PolicyName')!r}"


def _policy_statements(role: dict, judge: Callable[[dict], str | None]) -> Violation | None:
    """Each Allow statement of the role's policies that ``judge`` condemns (it returns why), as one violation."""
    offending, pointers, reasons = [], [], []
    for entry in role.get("Policies") or []:
        document = entry.get("PolicyDocument")
        guilty = []
        for pointer, statement in policy.statements(document):
            if not policy.is_allow(statement):
                continue
            reason = judge(statement)
            if reason:
                guilty.append(pointer)
                reasons.append(f"{_statement_name(pointer, statement)} of {_policy_name(entry)} {reason}")
        if guilty:
            index = len(offending)
            offending.append(entry)
            pointers += [f"/Policies/{index}/PolicyDocument{pointer}" for pointer in guilty]
    if not offending:
        return None
    return Violation(
        message=f"Role {role.get('RoleName')}: " + "; ".join(reasons) + ".",
        evidence={"RoleName": role.get("RoleName"), "Policies": offending},
        pointers=pointers,
    )


@rule(
    "iam.wildcard-action",
    Severity.HIGH,
    ResourceKind.IAM_ROLE,
    "A policy allows every action (`*`), every action of a service (`service:*`), or all but some (`NotAction`)",
    "A wildcard grants today's and tomorrow's actions of the service, destructive ones included, so a leaked "
    "task credential can do far more than the task ever needs.",
    "List the actions the workload calls (the iam module's policies show how), and drop `NotAction` from Allow "
    "statements.",
)
def wildcard_action(resource: AuditedResource) -> Violation | None:
    def judge(statement: dict) -> str | None:
        wildcards = [action for action in policy.actions(statement) if policy.is_service_wildcard(action)]
        if wildcards:
            return "allows " + ", ".join(f"'{action}'" for action in wildcards)
        if policy.not_actions(statement) is not None:
            return "allows every action but its NotAction list"
        return None

    return _policy_statements(resource.document, judge)


@rule(
    "iam.write-on-any-resource",
    Severity.HIGH,
    ResourceKind.IAM_ROLE,
    'A policy allows write actions on every resource (`Resource: "*"` or `NotResource`)',
    "Write access to every bucket, queue or secret of the account lets one environment's task change or "
    "delete another environment's data. Write actions are those whose verb does not start with Get, List, "
    "Describe or Head; read-only actions on `*` (such as `ecr:GetAuthorizationToken`, which has no "
    "resource-level permission) are allowed.",
    "Name the resources (ARNs of this environment's bucket, queues, secrets, log groups) in `Resource`.",
)
def write_on_any_resource(resource: AuditedResource) -> Violation | None:
    def judge(statement: dict) -> str | None:
        if not policy.applies_to_any_resource(statement):
            return None
        if policy.not_actions(statement) is not None:
            return "allows every action but its NotAction list on every resource"
        writes = [action for action in policy.actions(statement) if policy.is_write_action(action)]
        if writes:
            return "allows " + ", ".join(f"'{action}'" for action in writes) + " on every resource"
        return None

    return _policy_statements(resource.document, judge)


@rule(
    "iam.admin-access",
    Severity.HIGH,
    ResourceKind.IAM_ROLE,
    "AdministratorAccess or an equivalent (IAMFullAccess, or any policy allowing `*` on `*`) is attached",
    "An administrator role can do anything in the account, including granting itself more and erasing "
    "what it did; a workload never needs it.",
    "Detach the policy and give the role a least-privilege policy of the actions and resources it uses.",
)
def admin_access(resource: AuditedResource) -> Violation | None:
    role = resource.document
    offending, pointers, reasons = [], [], []
    for entry in role.get("Policies") or []:
        guilty = []
        if entry.get("Type") == "aws-managed" and entry.get("PolicyName") in ADMIN_EQUIVALENT_POLICIES:
            guilty.append("")
            reasons.append(f"{_policy_name(entry)} is attached")
        for pointer, statement in policy.statements(entry.get("PolicyDocument")):
            if policy.is_allow(statement) and "*" in policy.actions(statement) and "*" in policy.resources(statement):
                guilty.append(f"/PolicyDocument{pointer}")
                reasons.append(f"{_statement_name(pointer, statement)} of {_policy_name(entry)} allows '*' on '*'")
        if guilty:
            index = len(offending)
            offending.append(entry)
            pointers += [f"/Policies/{index}{pointer}" for pointer in dict.fromkeys(guilty)]
    if not offending:
        return None
    return Violation(
        message=f"Role {role.get('RoleName')}: " + "; ".join(reasons) + ".",
        evidence={"RoleName": role.get("RoleName"), "Policies": offending},
        pointers=pointers,
    )


@rule(
    "iam.open-trust",
    Severity.HIGH,
    ResourceKind.IAM_ROLE,
    "The trust policy lets anyone (`*`) or another AWS account assume the role without a condition",
    "Whoever can assume the role gets its permissions: a `*` principal opens it to every AWS account, "
    "another account's principal to everyone in that account, unless a condition narrows it.",
    "Trust the service that runs the workload (`ecs-tasks.amazonaws.com`) with an `aws:SourceAccount` "
    "condition, or add `sts:ExternalId` / `aws:PrincipalOrgID` conditions to cross-account trust.",
)
def open_trust(resource: AuditedResource) -> Violation | None:
    role = resource.document
    document = role.get("AssumeRolePolicyDocument")
    own_account = role.get("AccountId")
    pointers, reasons = [], []
    for pointer, statement in policy.statements(document):
        if not policy.is_allow(statement) or policy.has_condition(statement):
            continue
        principals = policy.principal_values(statement)
        open_to = []
        if "*" in principals or "*" in principals.get("AWS", []):
            open_to.append("anyone ('*')")
        if own_account and own_account != UNKNOWN:
            for principal in principals.get("AWS", []):
                account = policy.principal_account(principal)
                if account and account != own_account:
                    open_to.append(f"account {account} ({principal})")
        if open_to:
            pointers.append(f"/AssumeRolePolicyDocument{pointer}")
            reasons.append(f"{_statement_name(pointer, statement)} lets {', '.join(open_to)} assume it")
    if not pointers:
        return None
    return Violation(
        message=f"Role {role.get('RoleName')}: " + "; ".join(reasons) + " without a condition.",
        evidence={"RoleName": role.get("RoleName"), "AssumeRolePolicyDocument": document},
        pointers=pointers,
    )


@rule(
    "iam.pass-role-any",
    Severity.HIGH,
    ResourceKind.IAM_ROLE,
    "A policy allows `iam:PassRole` on every role",
    "Passing any role to a service (ECS, Lambda, EC2) lets the holder run code with that role's "
    "permissions, an administrator role included: a privilege escalation.",
    "Allow `iam:PassRole` only on the ARNs of the roles the workload hands over, with an "
    "`iam:PassedToService` condition.",
)
def pass_role_any(resource: AuditedResource) -> Violation | None:
    def judge(statement: dict) -> str | None:
        if policy.grants(statement, "iam:PassRole") and policy.applies_to_any_resource(statement):
            return "allows iam:PassRole on every role"
        return None

    return _policy_statements(resource.document, judge)


@rule(
    "iam.unused-role",
    Severity.LOW,
    ResourceKind.IAM_ROLE,
    f"The role is used by nothing: no ECS task definition or service of any environment, nor API Gateway, "
    f"refers to it, and IAM saw no use in {UNUSED_AFTER_DAYS} days",
    "A forgotten role keeps its permissions and its trust: it is attack surface that nobody reviews, and it "
    "often outlives the environment that made it.",
    "Delete the role, or the environment that left it behind; if something outside ECS uses it, suppress "
    "the finding and say what.",
    live_only=True,
)
def unused_role(resource: AuditedResource) -> Violation | None:
    role = resource.document
    if "UsedBy" not in role or role["UsedBy"]:
        return None
    last_used = (role.get("RoleLastUsed") or {}).get("LastUsedDate")
    if last_used:
        when = datetime.fromisoformat(str(last_used).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when > datetime.now(UTC) - timedelta(days=UNUSED_AFTER_DAYS):
            return None
    return Violation(
        message=f"Role {role.get('RoleName')} is not the task or execution role of any ECS task definition or "
        f"service, nor API Gateway's logging role, and IAM saw no use of it "
        + (f"since {last_used}." if last_used else "ever."),
        evidence={
            "RoleName": role.get("RoleName"),
            "UsedBy": role["UsedBy"],
            "RoleLastUsed": role.get("RoleLastUsed") or {},
        },
        pointers=["/UsedBy"],
    )


# --- WAF ---------------------------------------------------------------------------------------
SQLI_GROUP = ("AWSManagedRulesSQLiRuleSet", "SQLi")
COMMON_GROUP = ("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_")
# Nested statements, by the key holding them (a list for And/Or, one statement otherwise).
NESTED_STATEMENTS = {
    "AndStatement": "Statements",
    "OrStatement": "Statements",
    "NotStatement": "Statement",
    "RateBasedStatement": "ScopeDownStatement",
    "ManagedRuleGroupStatement": "ScopeDownStatement",
}


def _walk(statement: object, pointer: str) -> Iterable[tuple[str, dict]]:
    """The statement and every statement nested in it, with their pointers."""
    if not isinstance(statement, dict):
        return
    yield pointer, statement
    for kind, key in NESTED_STATEMENTS.items():
        body = statement.get(kind)
        if not isinstance(body, dict) or key not in body:
            continue
        nested = body[key]
        if isinstance(nested, list):
            for index, child in enumerate(nested):
                yield from _walk(child, f"{pointer}/{kind}/{key}/{index}")
        else:
            yield from _walk(nested, f"{pointer}/{kind}/{key}")


def _blocks(waf_rule: dict) -> bool:
    """A rule that can stop a request: Block/CAPTCHA/Challenge, or a rule group keeping its own actions."""
    action = waf_rule.get("Action") or {}
    override = waf_rule.get("OverrideAction") or {}
    return bool({"Block", "Captcha", "Challenge"} & set(action)) or "None" in override


def _rules(acl: dict) -> list[tuple[int, dict]]:
    rules = acl.get("Rules")
    return [(i, r) for i, r in enumerate(rules) if isinstance(r, dict)] if isinstance(rules, list) else []


def _counted_rules(group: dict, pointer: str, prefix: str) -> list[tuple[str, str]]:
    """(pointer, name) of the group's rules of the family ``prefix`` that were excluded or set to count."""
    counted = []
    for index, excluded in enumerate(group.get("ExcludedRules") or []):
        name = str(excluded.get("Name", ""))
        if name.startswith(prefix):
            counted.append((f"{pointer}/ExcludedRules/{index}", name))
    for index, override in enumerate(group.get("RuleActionOverrides") or []):
        name = str(override.get("Name", ""))
        action_to_use = override.get("ActionToUse") or {}
        if name.startswith(prefix) and not ({"Block", "Captcha", "Challenge"} & set(action_to_use)):
            counted.append((f"{pointer}/RuleActionOverrides/{index}", name))
    return counted


def _protection(acl: dict, match_statement: str, group: tuple[str, str], what: str) -> Violation | None:
    """Whether a blocking rule matches ``match_statement`` or runs the AWS managed ``group`` in full."""
    group_name, prefix = group
    weak: list[tuple[str, str]] = []
    for index, waf_rule in _rules(acl):
        for pointer, statement in _walk(waf_rule.get("Statement"), f"/Rules/{index}/Statement"):
            managed = statement.get("ManagedRuleGroupStatement")
            uses_group = (
                isinstance(managed, dict) and managed.get("Name") == group_name and managed.get("VendorName") == "AWS"
            )
            if not (match_statement in statement or uses_group):
                continue
            if not _blocks(waf_rule):
                weak.append((f"/Rules/{index}", f"rule {waf_rule.get('Name')!r} only counts matching requests"))
                continue
            counted = _counted_rules(managed, f"{pointer}/ManagedRuleGroupStatement", prefix) if uses_group else []
            if not counted:
                return None
            weak += [(p, f"{name} of {group_name} is excluded or set to count") for p, name in counted]
    evidence = _acl_evidence(acl)
    if weak:
        return Violation(
            message=f"Web ACL {acl.get('Name')} does not block {what}: " + "; ".join(r for _, r in weak) + ".",
            evidence=evidence,
            pointers=[p for p, _ in weak],
        )
    return Violation(
        message=f"Web ACL {acl.get('Name')} has no rule blocking {what} "
        f"(neither a {match_statement} nor the AWS managed {group_name}).",
        evidence=evidence,
        pointers=["/Rules"],
    )


def _acl_evidence(acl: dict) -> dict:
    keys = ("Name", "ARN", "Scope", "DefaultAction", "Rules", "VisibilityConfig", "LoggingConfiguration")
    evidence = {key: acl.get(key) for key in keys if key in acl}
    if "AssociatedResources" in acl:
        evidence["AssociatedResources"] = acl["AssociatedResources"]
    return evidence


@rule(
    "waf.no-sqli-rules",
    Severity.HIGH,
    ResourceKind.WAF_WEB_ACL,
    "No rule blocks SQL injection (an `SqliMatchStatement` or the AWS managed SQL database rule group)",
    "The web API reads and writes the MySQL database: SQL injection is the attack that turns one request "
    "into the whole catalogue and every account.",
    "Add `AWSManagedRulesSQLiRuleSet` with override action `none` (the waf module's managed_rule_groups), "
    "without excluding its SQLi rules.",
)
def no_sqli_rules(resource: AuditedResource) -> Violation | None:
    return _protection(resource.document, "SqliMatchStatement", SQLI_GROUP, "SQL injection")


@rule(
    "waf.no-xss-rules",
    Severity.MEDIUM,
    ResourceKind.WAF_WEB_ACL,
    "No rule blocks cross-site scripting (an `XssMatchStatement` or the AWS managed common rule set)",
    "Script injected through the API ends up in pages other listeners open; the common rule set also "
    "stops the usual OWASP top-ten probes.",
    "Add `AWSManagedRulesCommonRuleSet` with override action `none`, without excluding its CrossSiteScripting_* rules.",
)
def no_xss_rules(resource: AuditedResource) -> Violation | None:
    return _protection(resource.document, "XssMatchStatement", COMMON_GROUP, "cross-site scripting")


@rule(
    "waf.no-rate-limit",
    Severity.MEDIUM,
    ResourceKind.WAF_WEB_ACL,
    "No rate-based rule blocks a client sending too many requests",
    "Without a rate limit one client can flood the API (credential stuffing, scraping, denial of service) and "
    "every request reaches the tasks and the database.",
    "Add a rate-based rule per IP with action block (the waf module's `rate_limit`).",
)
def no_rate_limit(resource: AuditedResource) -> Violation | None:
    acl = resource.document
    for index, waf_rule in _rules(acl):
        if _blocks(waf_rule) and any(
            "RateBasedStatement" in statement
            for _, statement in _walk(waf_rule.get("Statement"), f"/Rules/{index}/Statement")
        ):
            return None
    return Violation(
        message=f"Web ACL {acl.get('Name')} has no rate-based rule that blocks.",
        evidence=_acl_evidence(acl),
        pointers=["/Rules"],
    )


@rule(
    "waf.allows-everything",
    Severity.HIGH,
    ResourceKind.WAF_WEB_ACL,
    "The default action is allow and no rule can block: the web ACL lets every request through",
    "Such a web ACL looks like protection on a diagram and in the console, but stops nothing.",
    "Add blocking rules (managed rule groups with override action `none`, a rate-based rule), or make "
    "the default action block and allow known traffic explicitly.",
)
def allows_everything(resource: AuditedResource) -> Violation | None:
    acl = resource.document
    default = acl.get("DefaultAction")
    if not isinstance(default, dict) or "Allow" not in default:
        return None
    if any(_blocks(waf_rule) for _, waf_rule in _rules(acl)):
        return None
    rules = "it has no rules" if not _rules(acl) else "none of its rules blocks"
    return Violation(
        message=f"Web ACL {acl.get('Name')} allows every request by default and {rules}.",
        evidence=_acl_evidence(acl),
        pointers=["/DefaultAction", "/Rules"],
    )


@rule(
    "waf.visibility-off",
    Severity.LOW,
    ResourceKind.WAF_WEB_ACL,
    "CloudWatch metrics or sampled requests are off for the web ACL or one of its rules",
    "Without metrics no alarm or dashboard sees an attack or a rule blocking real users; without sampled "
    "requests nobody can tell which requests a rule matched.",
    "Set `cloudwatch_metrics_enabled` and `sampled_requests_enabled` to true in every `visibility_config`.",
)
def visibility_off(resource: AuditedResource) -> Violation | None:
    acl = resource.document
    pointers, reasons = [], []
    configs = [("/VisibilityConfig", "the web ACL", acl.get("VisibilityConfig"))]
    configs += [
        (f"/Rules/{index}/VisibilityConfig", f"rule {waf_rule.get('Name')!r}", waf_rule.get("VisibilityConfig"))
        for index, waf_rule in _rules(acl)
    ]
    for pointer, owner, config in configs:
        if not isinstance(config, dict):
            continue
        off = [key for key in ("CloudWatchMetricsEnabled", "SampledRequestsEnabled") if config.get(key) is False]
        if off:
            pointers.append(pointer)
            reasons.append(f"{owner} has {' and '.join(off)} false")
    if not pointers:
        return None
    return Violation(
        message=f"Web ACL {acl.get('Name')}: " + "; ".join(reasons) + ".",
        evidence=_acl_evidence(acl),
        pointers=pointers,
    )


@rule(
    "waf.logging-off",
    Severity.MEDIUM,
    ResourceKind.WAF_WEB_ACL,
    "No logging configuration: the web ACL's decisions are not logged",
    "Metrics count requests but only the log says which client, path and rule: without it an incident "
    "cannot be investigated, nor a false positive explained.",
    "Add an `aws_wafv2_web_acl_logging_configuration` to an `aws-waf-logs-*` log group, with the "
    "authorization and cookie headers redacted (as the waf module does).",
)
def logging_off(resource: AuditedResource) -> Violation | None:
    acl = resource.document
    logging = acl.get("LoggingConfiguration")
    if logging == UNKNOWN:
        return None
    if isinstance(logging, dict) and logging.get("LogDestinationConfigs"):
        return None
    return Violation(
        message=f"Web ACL {acl.get('Name')} has no logging configuration.",
        evidence=_acl_evidence(acl),
        pointers=["/LoggingConfiguration"],
    )


@rule(
    "waf.not-associated",
    Severity.MEDIUM,
    ResourceKind.WAF_WEB_ACL,
    "The web ACL is associated with no API Gateway stage, load balancer or CloudFront distribution",
    "A web ACL protects only the resources it is associated with: unattached, the API or CDN it was made "
    "for takes every request unfiltered.",
    "Associate it with the environment's API stage (`aws_wafv2_web_acl_association`) or set it as the "
    "distribution's `web_acl_id`.",
)
def not_associated(resource: AuditedResource) -> Violation | None:
    acl = resource.document
    associated = acl.get("AssociatedResources")
    if not isinstance(associated, list) or associated:
        return None
    return Violation(
        message=f"Web ACL {acl.get('Name')} is associated with nothing.",
        evidence=_acl_evidence(acl),
        pointers=["/AssociatedResources"],
    )


# --- Security groups ---------------------------------------------------------------------------
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}
DATA_STORE_PORTS = {
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    11211: "Memcached",
    1433: "SQL Server",
    1521: "Oracle",
    27017: "MongoDB",
}


def _port_range(permission: dict) -> tuple[int, int] | None:
    """The ports a permission opens; None when it is not about ports (ICMP) or not known yet."""
    protocol = str(permission.get("IpProtocol", "")).lower()
    if protocol in ("-1", "all"):
        return 0, 65535
    if protocol not in ("tcp", "udp", "6", "17"):
        return None
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if not isinstance(low, int) or not isinstance(high, int):
        return None
    return low, high


def _describe_ports(permission: dict, ports: tuple[int, int]) -> str:
    if ports == (0, 65535):
        return "every port" if str(permission.get("IpProtocol")) in ("-1", "all") else "ports 0-65535"
    protocol = str(permission.get("IpProtocol")).upper()
    return f"{protocol} port {ports[0]}" if ports[0] == ports[1] else f"{protocol} ports {ports[0]}-{ports[1]}"


def _permissions(group: dict) -> list[tuple[int, dict]]:
    permissions = group.get("IpPermissions")
    return [(i, p) for i, p in enumerate(permissions) if isinstance(p, dict)] if isinstance(permissions, list) else []


def _group_evidence(group: dict) -> dict:
    keys = ("GroupId", "GroupName", "VpcId", "IpPermissions", "AttachedTo", "AppSecurityGroupIds")
    return {key: group[key] for key in keys if key in group}


@rule(
    "sg.open-ingress",
    Severity.HIGH,
    ResourceKind.SECURITY_GROUP,
    "Ingress from anywhere (`0.0.0.0/0` or `::/0`) on a port other than TCP 80/443",
    "Anything but the public web ports open to the internet (SSH, a database, an admin console, every "
    "port) is scanned within minutes of existing and invites brute force and exploits.",
    "Open only TCP 80/443 to the internet, on the load balancer's group; reach anything else through "
    "the VPC (security-group sources), SSM Session Manager or a VPN.",
)
def open_ingress(resource: AuditedResource) -> Violation | None:
    group = resource.document
    pointers, reasons = [], []
    for index, permission in _permissions(group):
        ports = _port_range(permission)
        if ports is None:
            continue
        protocol = str(permission.get("IpProtocol")).lower()
        if protocol in ("tcp", "6") and ports[0] == ports[1] and ports[0] in WEB_PORTS:
            continue
        for key, field_name in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")):
            for position, entry in enumerate(permission.get(key) or []):
                if isinstance(entry, dict) and entry.get(field_name) in OPEN_CIDRS:
                    pointers.append(f"/IpPermissions/{index}/{key}/{position}")
                    reasons.append(f"{_describe_ports(permission, ports)} from {entry[field_name]}")
    if not pointers:
        return None
    return Violation(
        message=f"Security group {group.get('GroupName') or group.get('GroupId')} opens " + ", ".join(reasons) + ".",
        evidence=_group_evidence(group),
        pointers=pointers,
    )


@rule(
    "sg.datastore-exposed",
    Severity.HIGH,
    ResourceKind.SECURITY_GROUP,
    "A database or cache is reachable from outside the app's security group",
    "Only the app (the ECS tasks) should reach the database and Redis: any other source (an address range, "
    "another group) is a path to the data that skips the app's checks. A group is a data store's when an "
    "RDS instance or ElastiCache cluster uses it, or when it opens a data-store port (3306, 5432, 6379, "
    "11211, 1433, 1521, 27017); the app's groups are those of the ECS services.",
    "Allow the data-store port only from the ECS tasks' security group (`source_security_group_id`), as the "
    "security_groups module does.",
)
def datastore_exposed(resource: AuditedResource) -> Violation | None:
    group = resource.document
    attached = [a for a in group.get("AttachedTo") or [] if a != UNKNOWN]
    app_groups = {g for g in group.get("AppSecurityGroupIds") or [] if g != UNKNOWN}
    own = group.get("GroupId")
    pointers, reasons = [], []
    for index, permission in _permissions(group):
        ports = _port_range(permission)
        if ports is None:
            continue
        data_ports = [name for port, name in DATA_STORE_PORTS.items() if ports[0] <= port <= ports[1]]
        if not attached and not data_ports:
            continue
        what = _describe_ports(permission, ports)
        for key, field_name in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("PrefixListIds", "PrefixListId")):
            for position, entry in enumerate(permission.get(key) or []):
                source = entry.get(field_name) if isinstance(entry, dict) else None
                if source and source != UNKNOWN:
                    pointers.append(f"/IpPermissions/{index}/{key}/{position}")
                    reasons.append(f"{what} from {source}")
        for position, pair in enumerate(permission.get("UserIdGroupPairs") or []):
            source = pair.get("GroupId") if isinstance(pair, dict) else None
            if source and source != UNKNOWN and source != own and source not in app_groups:
                pointers.append(f"/IpPermissions/{index}/UserIdGroupPairs/{position}")
                reasons.append(f"{what} from security group {source}")
    if not pointers:
        return None
    user = ", ".join(attached) if attached else "a data-store port"
    return Violation(
        message=f"Security group {group.get('GroupName') or group.get('GroupId')} ({user}) lets in "
        + ", ".join(reasons)
        + ", not only the app's security group.",
        evidence=_group_evidence(group),
        pointers=pointers,
    )


# --- S3 ----------------------------------------------------------------------------------------
PUBLIC_ACCESS_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
AUDIO_COMPONENT = "audio_storage"


def _bucket_evidence(bucket: dict) -> dict:
    keys = ("Name", "Arn", "Tags", "PublicAccessBlock", "ServerSideEncryption", "Versioning")
    return {key: bucket.get(key) for key in keys}


@rule(
    "s3.public-access-not-blocked",
    Severity.HIGH,
    ResourceKind.S3_BUCKET,
    "The bucket's public access block is missing or one of its four settings is off",
    "With the block off, one ACL or policy statement makes the audio catalogue or Terraform state public; "
    "the block is the guard that holds whatever a later change says.",
    "Add an `aws_s3_bucket_public_access_block` with all four settings true (as the audio_storage and "
    "state_backend modules do).",
)
def public_access_not_blocked(resource: AuditedResource) -> Violation | None:
    bucket = resource.document
    block = bucket.get("PublicAccessBlock")
    if block == UNKNOWN:
        return None
    if not isinstance(block, dict):
        return Violation(
            message=f"Bucket {bucket.get('Name')} has no public access block.",
            evidence=_bucket_evidence(bucket),
            pointers=["/PublicAccessBlock"],
        )
    off = [
        setting
        for setting in PUBLIC_ACCESS_SETTINGS
        if block.get(setting) is not True and block.get(setting) != UNKNOWN
    ]
    if not off:
        return None
    return Violation(
        message=f"Bucket {bucket.get('Name')} has {', '.join(off)} off.",
        evidence=_bucket_evidence(bucket),
        pointers=[f"/PublicAccessBlock/{setting}" for setting in off],
    )


@rule(
    "s3.unencrypted",
    Severity.MEDIUM,
    ResourceKind.S3_BUCKET,
    "The bucket has no default encryption",
    "Objects written without a default encryption are stored in clear, and nothing stops a client from "
    "writing them so.",
    "Set a default server-side encryption (SSE-S3 `AES256`, or SSE-KMS with a bucket key).",
)
def unencrypted(resource: AuditedResource) -> Violation | None:
    bucket = resource.document
    encryption = bucket.get("ServerSideEncryption")
    if encryption == UNKNOWN:
        return None
    rules = encryption.get("Rules") if isinstance(encryption, dict) else None
    if rules and any((r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for r in rules):
        return None
    return Violation(
        message=f"Bucket {bucket.get('Name')} has no default encryption.",
        evidence=_bucket_evidence(bucket),
        pointers=["/ServerSideEncryption"],
    )


@rule(
    "s3.audio-unversioned",
    Severity.MEDIUM,
    ResourceKind.S3_BUCKET,
    "The audio bucket does not keep versions",
    "The audio bucket holds the catalogue the workers write and delete: without versioning a bad job or a "
    "stolen credential deletes or overwrites tracks for good. The audio bucket is the one tagged "
    "`Component = audio_storage`, or named `*-audio`.",
    "Enable versioning (the audio_storage module does, with noncurrent versions expiring).",
)
def audio_unversioned(resource: AuditedResource) -> Violation | None:
    bucket = resource.document
    name = str(bucket.get("Name") or "")
    is_audio = (bucket.get("Tags") or {}).get("Component") == AUDIO_COMPONENT or name.endswith("-audio")
    versioning = bucket.get("Versioning")
    if not is_audio or versioning in ("Enabled", UNKNOWN):
        return None
    state = "suspended" if versioning == "Suspended" else "never enabled"
    return Violation(
        message=f"Audio bucket {name} does not keep versions (versioning {state}).",
        evidence=_bucket_evidence(bucket),
        pointers=["/Versioning"],
    )


# --- RDS ---------------------------------------------------------------------------------------
def _instance_evidence(instance: dict) -> dict:
    keys = ("DBInstanceIdentifier", "DBInstanceArn", "Engine", "PubliclyAccessible", "StorageEncrypted", "KmsKeyId")
    return {key: instance.get(key) for key in keys if key in instance}


@rule(
    "rds.public",
    Severity.HIGH,
    ResourceKind.RDS_INSTANCE,
    "The database instance is publicly accessible",
    "A public instance gets a public DNS name and address: one security group change away from the "
    "internet, and the password is then the only guard of every listener's data.",
    "Set `publicly_accessible = false` and keep the instance in private subnets (the database module does).",
)
def rds_public(resource: AuditedResource) -> Violation | None:
    instance = resource.document
    if instance.get("PubliclyAccessible") is not True:
        return None
    return Violation(
        message=f"Database {instance.get('DBInstanceIdentifier')} is publicly accessible.",
        evidence=_instance_evidence(instance),
        pointers=["/PubliclyAccessible"],
    )


@rule(
    "rds.unencrypted",
    Severity.HIGH,
    ResourceKind.RDS_INSTANCE,
    "The database instance's storage is not encrypted",
    "Unencrypted storage leaves the data, its snapshots and its backups readable by whoever gets a copy; "
    "encryption cannot be switched on later without a snapshot restore, hence stopping it before it exists.",
    "Set `storage_encrypted = true` (optionally with a KMS key); for an existing instance restore an "
    "encrypted copy of a snapshot.",
)
def rds_unencrypted(resource: AuditedResource) -> Violation | None:
    instance = resource.document
    if instance.get("StorageEncrypted") is not False:
        return None
    return Violation(
        message=f"Database {instance.get('DBInstanceIdentifier')} has unencrypted storage.",
        evidence=_instance_evidence(instance),
        pointers=["/StorageEncrypted"],
    )

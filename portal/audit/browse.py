"""What the IAM and WAF browsers show: the account read live (cached briefly), with findings laid on its parts.

The reads are collect_live's (``read_roles``, ``read_web_acls``); a read is kept in the Django cache for
``CACHE_SECONDS`` so paging between roles is quick, and read again on demand (the pages' "Refresh").
A finding's pointers name parts of the document the audit saw (``/Policies/2/PolicyDocument/Statement/0``);
they are mapped to the live document by what the part is (the policy's ARN or inline name, the WAF rule's
name) rather than by position, so a policy added since the audit does not move a highlight onto another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from portal.audit.choices import UNRESOLVED_STATUSES, FindingStatus, ResourceKind
from portal.audit.evidence import EvidenceLine, evidence_lines
from portal.audit.models import Finding, audit_regions
from provisioning.audit import collect_live
from provisioning.audit.collect_live import Collection, Unreadable
from provisioning.audit.resources import AuditedResource

CACHE_SECONDS = 60
TRUST = "trust"
# Parts of a web ACL a finding may point at as a whole (the page marks that section).
WAF_SECTIONS = ("DefaultAction", "Rules", "VisibilityConfig", "LoggingConfiguration", "AssociatedResources")


class LiveReadError(RuntimeError):
    """AWS could not be read at all; the message says so, for the page."""


@dataclass
class LiveRead:
    resources: list[AuditedResource]
    unreadable: list[Unreadable]
    read_at: datetime


def _cached(key: str, read, refresh: bool) -> LiveRead:
    if not refresh and (hit := cache.get(key)) is not None:
        return hit
    try:
        collection: Collection = read()
    except (ClientError, BotoCoreError) as error:
        raise LiveReadError(f"AWS could not be read: {error}") from error
    result = LiveRead(collection.resources, collection.unreadable, timezone.now())
    if not any(not unreadable.key for unreadable in result.unreadable):
        cache.set(key, result, CACHE_SECONDS)  # a listing that failed is tried again on the next visit
    return result


def iam_roles(refresh: bool = False) -> LiveRead:
    """Every IAM role of the account with its policies, as read at most ``CACHE_SECONDS`` ago."""
    return _cached("audit:browse:iam-roles", collect_live.read_roles, refresh)


def web_acls(refresh: bool = False) -> LiveRead:
    """Every web ACL of the audited regions and CloudFront's, as read at most ``CACHE_SECONDS`` ago."""
    regions = audit_regions()
    return _cached(f"audit:browse:web-acls:{','.join(regions)}", lambda: collect_live.read_web_acls(regions), refresh)


def open_counts_by_arn(kind: str) -> dict[str, int]:
    """Open findings per resource ARN of ``kind``."""
    rows = (
        Finding.objects.filter(resource_kind=kind, status=FindingStatus.OPEN)
        .values("resource_arn")
        .annotate(count=Count("pk"))
    )
    return {row["resource_arn"]: row["count"] for row in rows}


def unresolved_findings(kind: str, arn: str) -> list[Finding]:
    return list(
        Finding.objects.filter(resource_kind=kind, resource_arn=arn, status__in=UNRESOLVED_STATUSES).order_by(
            "severity", "rule_id"
        )
    )


def _segments(pointer: str) -> list[str]:
    return pointer.split("/")[1:] if pointer.startswith("/") else []


def _index(segment: str | None) -> int | None:
    return int(segment) if segment is not None and segment.isdigit() else None


def _rest(segments: list[str]) -> str:
    return "".join(f"/{segment}" for segment in segments)


# --- IAM -----------------------------------------------------------------------------------------
def policy_identity(policy: dict) -> str:
    """What a policy of a role is, whatever its position: an attached policy's ARN, or ``inline:<name>``."""
    return policy.get("PolicyArn") or f"inline:{policy.get('PolicyName', '')}"


@dataclass
class StatementView:
    index: int
    anchor: str
    lines: list[EvidenceLine]
    findings: list[Finding] = field(default_factory=list)

    @property
    def highlighted(self) -> bool:
        return bool(self.findings)


@dataclass
class PolicyView:
    identity: str
    name: str
    kind: str
    arn: str
    statements: list[StatementView]
    readable: bool = True
    # Findings about the policy as a whole (e.g. an admin policy attached).
    findings: list[Finding] = field(default_factory=list)


@dataclass
class RoleView:
    resource: AuditedResource
    trust: PolicyView
    policies: list[PolicyView]
    # Findings about the role rather than one of its documents (unused, no one uses it...).
    findings: list[Finding] = field(default_factory=list)


def _role_marks(finding: Finding) -> list[tuple[str, int | None, str]]:
    """(policy identity or TRUST, statement index or None for the whole document, pointer within) per pointer."""
    marks = []
    policies = (finding.evidence or {}).get("Policies") or []
    for pointer in finding.pointers or []:
        segments = _segments(pointer)
        if segments[:1] == ["AssumeRolePolicyDocument"]:
            identity, rest = TRUST, segments[1:]
        elif segments[:1] == ["Policies"] and (index := _index(segments[1] if len(segments) > 1 else None)) is not None:
            if index >= len(policies):
                continue
            identity, rest = policy_identity(policies[index]), segments[2:]
            rest = rest[1:] if rest[:1] == ["PolicyDocument"] else []
        else:
            continue
        if rest[:1] != ["Statement"] or len(rest) == 1:
            marks.append((identity, None, ""))
        elif (statement := _index(rest[1])) is not None:
            marks.append((identity, statement, _rest(rest[2:])))
        else:  # a single statement written as an object rather than a list
            marks.append((identity, 0, _rest(rest[1:])))
    return marks


def _statements(document: dict | None) -> list[dict]:
    statements = (document or {}).get("Statement") or []
    return [statements] if isinstance(statements, dict) else list(statements)


def _policy_view(
    identity: str,
    name: str,
    kind: str,
    arn: str,
    document: dict | None,
    marks: list[tuple[str, int | None, str, Finding]],
) -> PolicyView:
    slug = "trust" if identity == TRUST else f"policy-{name}"
    statements = []
    for index, statement in enumerate(_statements(document)):
        pointed = [(within, finding) for ident, at, within, finding in marks if ident == identity and at == index]
        findings = list(dict.fromkeys(finding for _, finding in pointed))
        statements.append(
            StatementView(
                index=index,
                anchor=f"{slug}-statement-{index}",
                lines=evidence_lines(statement, [within for within, _ in pointed]),
                findings=findings,
            )
        )
    whole = list(dict.fromkeys(finding for ident, at, _, finding in marks if ident == identity and at is None))
    return PolicyView(identity, name, kind, arn, statements, readable=document is not None, findings=whole)


def role_view(resource: AuditedResource, findings: list[Finding]) -> RoleView:
    """The role's trust policy and policies, statement by statement, each with the findings pointing at it."""
    marks = [(identity, at, within, finding) for finding in findings for identity, at, within in _role_marks(finding)]
    document = resource.document
    trust = _policy_view(TRUST, "Trust policy", "trust", "", document.get("AssumeRolePolicyDocument"), marks)
    policies = [
        _policy_view(
            policy_identity(policy),
            policy.get("PolicyName", ""),
            policy.get("Type", "inline"),
            policy.get("PolicyArn", ""),
            policy.get("PolicyDocument"),
            marks,
        )
        for policy in document.get("Policies") or []
    ]
    placed = {finding.pk for _, _, _, finding in marks}
    return RoleView(resource, trust, policies, [finding for finding in findings if finding.pk not in placed])


def role_findings(arn: str) -> list[Finding]:
    return unresolved_findings(ResourceKind.IAM_ROLE, arn)


# --- WAF -----------------------------------------------------------------------------------------
def statement_type(statement: dict | None) -> str:
    """A WAF rule's statement in a few words: the managed rule group, the rate limit, the kind of match."""
    statement = statement or {}
    if managed := statement.get("ManagedRuleGroupStatement"):
        version = f" ({managed['Version']})" if managed.get("Version") else ""
        return f"Managed rule group {managed.get('VendorName', '')}/{managed.get('Name', '')}{version}"
    if rate := statement.get("RateBasedStatement"):
        window = rate.get("EvaluationWindowSec", 300)
        return f"Rate-based: {rate.get('Limit')} requests per {window} s by {rate.get('AggregateKeyType', 'IP')}"
    if group := statement.get("RuleGroupReferenceStatement"):
        return f"Rule group {group.get('ARN', '')}"
    if ip_set := statement.get("IPSetReferenceStatement"):
        return f"IP set {ip_set.get('ARN', '')}"
    if geo := statement.get("GeoMatchStatement"):
        return f"Geo match: {', '.join(geo.get('CountryCodes') or [])}"
    for combinator in ("AndStatement", "OrStatement"):
        if nested := statement.get(combinator):
            inner = [statement_type(item) for item in nested.get("Statements") or []]
            return f"{combinator.removesuffix('Statement')} of: " + "; ".join(inner)
    if nested := statement.get("NotStatement"):
        return f"Not: {statement_type(nested.get('Statement'))}"
    names = [key.removesuffix("Statement") for key in statement]
    return ", ".join(names) or "No statement"


def rule_action(rule: dict) -> str:
    """What the rule does: its action, or for a rule group its override (and the rules it overrides)."""
    if action := rule.get("Action"):
        return ", ".join(action) or "None"
    override = ", ".join(rule.get("OverrideAction") or {}) or "None"
    group = (rule.get("Statement") or {}).get("ManagedRuleGroupStatement") or {}
    overridden = [
        f"{item.get('Name')} → {', '.join(item.get('ActionToUse') or {})}"
        for item in group.get("RuleActionOverrides") or []
    ]
    excluded = [f"{item.get('Name')} → Count" for item in group.get("ExcludedRules") or []]
    details = overridden + excluded
    return f"Override: {override}" + (f" ({'; '.join(details)})" if details else "")


@dataclass
class WafRuleView:
    name: str
    priority: int | None
    statement_type: str
    action: str
    visibility: dict
    anchor: str
    lines: list[EvidenceLine]
    findings: list[Finding] = field(default_factory=list)

    @property
    def highlighted(self) -> bool:
        return bool(self.findings)


@dataclass
class WebAclView:
    resource: AuditedResource
    rules: list[WafRuleView]
    # Findings by the section of the web ACL they point at as a whole (WAF_SECTIONS), and the rest.
    sections: dict[str, list[Finding]]
    findings: list[Finding]

    @property
    def logging_on(self) -> bool:
        return bool(self.resource.document.get("LoggingConfiguration"))


def web_acl_view(resource: AuditedResource, findings: list[Finding]) -> WebAclView:
    """The web ACL's rules (by priority), each with the findings pointing into it, and the sections pointed at."""
    marks: list[tuple[str, str, Finding]] = []  # (rule name, pointer within the rule, finding)
    sections: dict[str, list[Finding]] = {section: [] for section in WAF_SECTIONS}
    placed: set[int] = set()
    for finding in findings:
        audited_rules = (finding.evidence or {}).get("Rules") or []
        for pointer in finding.pointers or []:
            segments = _segments(pointer)
            index = _index(segments[1]) if segments[:1] == ["Rules"] and len(segments) > 1 else None
            if index is not None and index < len(audited_rules):
                marks.append((audited_rules[index].get("Name", ""), _rest(segments[2:]), finding))
                placed.add(finding.pk)
            elif segments[:1] and segments[0] in sections:
                if finding not in sections[segments[0]]:
                    sections[segments[0]].append(finding)
                placed.add(finding.pk)
    rules = []
    for rule in sorted(resource.document.get("Rules") or [], key=lambda item: item.get("Priority", 0)):
        name = rule.get("Name", "")
        pointed = [(within, finding) for rule_name, within, finding in marks if rule_name == name]
        rules.append(
            WafRuleView(
                name=name,
                priority=rule.get("Priority"),
                statement_type=statement_type(rule.get("Statement")),
                action=rule_action(rule),
                visibility=rule.get("VisibilityConfig") or {},
                anchor=f"rule-{name}",
                lines=evidence_lines(rule, [within for within, _ in pointed]),
                findings=list(dict.fromkeys(finding for _, finding in pointed)),
            )
        )
    rest = [finding for finding in findings if finding.pk not in placed]
    return WebAclView(resource, rules, sections, rest)


def web_acl_findings(arn: str) -> list[Finding]:
    return unresolved_findings(ResourceKind.WAF_WEB_ACL, arn)


def pretty(document: object) -> str:
    return json.dumps(document, indent=2, default=str)

"""The audit's resource documents from a plan: ``terraform show -json`` of a saved plan, child modules included.

Resources come from ``planned_values`` (the state the plan would leave) and the data sources Terraform read
while planning (``prior_state``). Values Terraform cannot know before the apply are omitted there; the
plan's ``after_unknown`` marks them, and they become :data:`~provisioning.audit.resources.UNKNOWN`.

Terraform splits what AWS shows as one resource over several (a role and its ``aws_iam_role_policy``, a
security group and its ``aws_security_group_rule``s, a bucket and its public access block). They are joined
by value when the value is known (an update of existing resources), otherwise through the plan's
``configuration``: the references of an expression (``role = aws_iam_role.this.id``), followed through
module variables and outputs. A policy document built by a ``data.aws_iam_policy_document`` that Terraform
defers to the apply is rebuilt from the data source's statement blocks, so its actions and effects are
checked before the apply even when its resource ARNs are not known yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from provisioning.audit.policy import parse_document
from provisioning.audit.resources import UNKNOWN, AuditedResource, ResourceKind, tag_map

_MODULE_SEGMENT = re.compile(r"module\.([A-Za-z0-9_-]+)(\[[^\]]*\])?")
_INDEX = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)(?P<index>\[.*\])?$")
MAX_REFERENCE_DEPTH = 12
# Every resource type this module reads (the audited ones and those that attach to or use them).
READ_TYPES = frozenset(
    {
        "aws_caller_identity",
        "aws_cloudfront_distribution",
        "aws_db_instance",
        "aws_ecs_service",
        "aws_elasticache_cluster",
        "aws_elasticache_replication_group",
        "aws_iam_policy",
        "aws_iam_policy_attachment",
        "aws_iam_policy_document",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_rds_cluster",
        "aws_s3_bucket",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_wafv2_web_acl",
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
    }
)


@dataclass
class PlanResource:
    address: str
    module: str
    mode: str
    type: str
    name: str
    index: object
    values: dict = field(default_factory=dict)

    @property
    def index_text(self) -> str:
        if self.index is None:
            return ""
        return f"[{self.index}]" if isinstance(self.index, int) else f'["{self.index}"]'

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)


def with_unknowns(value: object, unknown: object) -> object:
    """``value`` with every place ``after_unknown`` marks replaced by :data:`UNKNOWN`."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict) and unknown:
        result = dict(value) if isinstance(value, dict) else {}
        for key, marker in unknown.items():
            if marker is True or (isinstance(marker, dict | list) and marker):
                result[key] = with_unknowns(result.get(key), marker)
        return result
    if isinstance(unknown, list) and unknown:
        items = list(value) if isinstance(value, list) else []
        if len(items) == len(unknown):
            return [with_unknowns(item, marker) for item, marker in zip(items, unknown, strict=True)]
        # Unknown elements left out of the list: the known ones fill the other places, in order.
        known = iter(items)
        return [UNKNOWN if marker is True else with_unknowns(next(known, None), marker) for marker in unknown]
    return value


class Plan:
    """A plan's resources, joined to its configuration so references can be followed."""

    def __init__(self, plan: dict) -> None:
        self.plan = plan
        unknowns = {
            change["address"]: (change.get("change") or {}).get("after_unknown") or {}
            for change in plan.get("resource_changes") or []
        }
        self.resources: dict[str, PlanResource] = {}
        self._load((plan.get("planned_values") or {}).get("root_module") or {}, unknowns)
        # Data sources Terraform could read while planning are in the prior state only.
        prior = ((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
        self._load(prior, {}, data_only=True)
        self.configuration = (plan.get("configuration") or {}).get("root_module") or {}

    def _load(self, module: dict, unknowns: dict, data_only: bool = False, module_address: str = "") -> None:
        for resource in module.get("resources") or []:
            if data_only and resource.get("mode") != "data":
                continue
            if resource["address"] in self.resources:
                continue
            values = with_unknowns(resource.get("values") or {}, unknowns.get(resource["address"]) or {})
            self.resources[resource["address"]] = PlanResource(
                address=resource["address"],
                module=module_address,
                mode=resource.get("mode", "managed"),
                type=resource["type"],
                name=resource["name"],
                index=resource.get("index"),
                values=values if isinstance(values, dict) else {},
            )
        for child in module.get("child_modules") or []:
            self._load(child, unknowns, data_only, child.get("address", ""))

    # --- reading -------------------------------------------------------------------------------
    def of_type(self, *types: str, mode: str = "managed") -> list[PlanResource]:
        return [r for r in self.resources.values() if r.type in types and r.mode == mode]

    def variable(self, name: str) -> object:
        return ((self.plan.get("variables") or {}).get(name) or {}).get("value")

    def account_id(self) -> str | None:
        for identity in self.of_type("aws_caller_identity", mode="data"):
            account = identity.get("account_id")
            if isinstance(account, str) and account != UNKNOWN:
                return account
        return None

    # --- configuration and references -----------------------------------------------------------
    def config_module(self, module_address: str) -> dict:
        """The configuration of a module instance (``module.a[0].module.b`` → module_calls a, then b)."""
        config = self.configuration
        for name, _ in _MODULE_SEGMENT.findall(module_address):
            config = ((config.get("module_calls") or {}).get(name) or {}).get("module") or {}
        return config

    def config_resource(self, resource: PlanResource) -> dict:
        prefix = "data." if resource.mode == "data" else ""
        wanted = f"{prefix}{resource.type}.{resource.name}"
        for candidate in self.config_module(resource.module).get("resources") or []:
            if candidate.get("address") == wanted:
                return candidate
        return {}

    def references(self, resource: PlanResource, path: Iterable[str]) -> list[str]:
        """Every reference inside the expression of attribute ``path`` (nested blocks: all of them; blocks given as
        one attribute, ``ingress = [{…}]``: every reference of that attribute's expression)."""
        nodes: list[object] = [self.config_resource(resource).get("expressions") or {}]
        for key in path:
            next_nodes = []
            for node in nodes:
                for item in node if isinstance(node, list) else [node]:
                    if isinstance(item, dict) and ("references" in item or "constant_value" in item):
                        next_nodes.append(item)  # an expression: the rest of the path is inside its value
                    elif isinstance(item, dict) and key in item:
                        next_nodes.append(item[key])
            nodes = next_nodes
        return list(dict.fromkeys(_collect_references(nodes)))

    def resolve(self, module_address: str, reference: str, types: set[str], depth: int = 0) -> list[PlanResource]:
        """The resources of ``types`` a reference made in ``module_address`` leads to."""
        if depth > MAX_REFERENCE_DEPTH:
            return []
        parts = reference.split(".")
        if parts[0] == "var" and len(parts) >= 2:
            return self._through_variable(module_address, parts[1], types, depth)
        if parts[0] == "module" and len(parts) >= 3:
            return self._through_output(module_address, parts[1], parts[2], types, depth)
        if parts[0] == "data" and len(parts) >= 3:
            return self._resources_named(module_address, "data", parts[1], parts[2], types)
        if parts[0] in ("local", "each", "count", "path", "terraform", "self", "module", "var") or len(parts) < 2:
            return []
        return self._resources_named(module_address, "managed", parts[0], parts[1], types)

    def _resources_named(self, module: str, mode: str, type_: str, name: str, types: set[str]) -> list[PlanResource]:
        if type_ not in types:
            return []
        match = _INDEX.match(name)
        if not match:
            return []
        base, index = match.group("name"), match.group("index")
        found = [
            r for r in self.resources.values() if (r.module, r.mode, r.type, r.name) == (module, mode, type_, base)
        ]
        if index:
            found = [r for r in found if r.index_text == index] or found
        return found

    def _through_variable(self, module: str, variable: str, types: set[str], depth: int) -> list[PlanResource]:
        segments = list(_MODULE_SEGMENT.finditer(module))
        if not segments:
            return []
        last = segments[-1]
        parent = module[: last.start()].rstrip(".")
        call = (self.config_module(parent).get("module_calls") or {}).get(last.group(1)) or {}
        expression = (call.get("expressions") or {}).get(variable)
        return self._resolve_all(parent, _collect_references([expression]), types, depth)

    def _through_output(self, module: str, child: str, output: str, types: set[str], depth: int) -> list[PlanResource]:
        child_name = re.sub(r"\[.*\]$", "", child)
        prefix = f"{module}.module.{child_name}" if module else f"module.{child_name}"
        instances = {
            r.module for r in self.resources.values() if r.module == prefix or r.module.startswith(prefix + "[")
        }
        expression = ((self.config_module(prefix).get("outputs") or {}).get(output) or {}).get("expression")
        references = _collect_references([expression])
        found: list[PlanResource] = []
        for instance in sorted(instances) or [prefix]:
            found += self._resolve_all(instance, references, types, depth)
        return found

    def _resolve_all(self, module: str, references: list[str], types: set[str], depth: int) -> list[PlanResource]:
        found: dict[str, PlanResource] = {}
        for reference in references:
            for target in self.resolve(module, reference, types, depth + 1):
                found[target.address] = target
        return list(found.values())

    def linked(
        self, resource: PlanResource, path: list[str], types: set[str], keys: Iterable[str]
    ) -> list[PlanResource]:
        """The resources of ``types`` that attribute ``path`` of ``resource`` designates.

        By value first (a known id, name or ARN, matched against ``keys`` of the candidates), otherwise by
        following the attribute's references in the configuration.
        """
        values = [v for v in _leaves(resource.values, path) if isinstance(v, str) and v and v != UNKNOWN]
        keys = tuple(keys)
        found = {
            candidate.address: candidate
            for candidate in self.resources.values()
            if candidate.type in types and candidate.mode == "managed"
            for key in keys
            if candidate.get(key) in values
        }
        if not found or any(v == UNKNOWN for v in _leaves(resource.values, path)):
            for target in self._resolve_all(resource.module, self.references(resource, path), types, -1):
                found.setdefault(target.address, target)
        return list(found.values())


def _collect_references(nodes: Iterable[object]) -> list[str]:
    references: list[str] = []
    for node in nodes:
        if isinstance(node, dict):
            references += [r for r in node.get("references") or [] if isinstance(r, str)]
            references += _collect_references(v for k, v in node.items() if k != "references")
        elif isinstance(node, list):
            references += _collect_references(node)
    return references


def _leaves(value: object, path: list[str]) -> list[object]:
    """The values at ``path`` (lists along the way are walked), flattened."""
    nodes = [value]
    for key in path:
        nodes = [
            item.get(key)
            for node in nodes
            for item in (node if isinstance(node, list) else [node])
            if isinstance(item, dict) and key in item
        ]
    flat: list[object] = []
    for node in nodes:
        flat += node if isinstance(node, list) else [node]
    return flat


def _first(value: object) -> dict:
    """A Terraform block (a list of at most one object) as that object."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


def _known_str(value: object) -> str:
    return value if isinstance(value, str) and value and value != UNKNOWN else ""


# --- IAM ---------------------------------------------------------------------------------------
def _statement_from_block(block: dict) -> dict:
    """A statement of a ``data.aws_iam_policy_document`` as IAM JSON."""
    statement: dict = {"Effect": block.get("effect") or "Allow"}
    if block.get("sid"):
        statement["Sid"] = block["sid"]
    for key, name in (
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ):
        value = block.get(key)
        if value == UNKNOWN or (isinstance(value, list) and (value or key in ("actions", "resources"))):
            statement[name] = value
    for key, name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        principals: dict = {}
        for principal in block.get(key) or []:
            if isinstance(principal, dict):
                principals.setdefault(principal.get("type"), []).extend(principal.get("identifiers") or [])
        if principals:
            statement[name] = "*" if principals == {"*": ["*"]} else principals
    conditions: dict = {}
    for condition in block.get("condition") or []:
        if isinstance(condition, dict):
            conditions.setdefault(condition.get("test"), {})[condition.get("variable")] = condition.get("values")
    if conditions:
        statement["Condition"] = conditions
    return statement


def _policy_document_of_data(source: PlanResource) -> dict | str:
    """The JSON a ``data.aws_iam_policy_document`` renders, rebuilt from its blocks when not known yet."""
    rendered = parse_document(source.get("json"))
    if isinstance(rendered, dict):
        return rendered
    statements = []
    for document in source.get("source_policy_documents") or []:
        parsed = parse_document(document)
        if isinstance(parsed, dict):
            body = parsed.get("Statement")
            statements += body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    statements += [_statement_from_block(b) for b in source.get("statement") or [] if isinstance(b, dict)]
    if source.get("statement") == UNKNOWN:
        return UNKNOWN
    return {"Version": "2012-10-17", "Statement": statements}


def _document(plan: Plan, resource: PlanResource, attribute: str) -> dict | str | None:
    """A policy attribute as a document: parsed JSON, or rebuilt from the data source it references."""
    parsed = parse_document(resource.get(attribute))
    if isinstance(parsed, dict):
        return parsed
    if parsed == UNKNOWN:
        for source in plan._resolve_all(
            resource.module, plan.references(resource, [attribute]), {"aws_iam_policy_document"}, -1
        ):
            return _policy_document_of_data(source)
        return UNKNOWN
    return None


def _managed_policy_entry(plan: Plan, policy_arn: object, attachment: PlanResource, path: list[str]) -> dict:
    arn = _known_str(policy_arn)
    if arn and ":iam::aws:policy/" in arn:
        return {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn, "Type": "aws-managed", "PolicyDocument": None}
    for policy_resource in plan.linked(attachment, path, {"aws_iam_policy"}, ("arn",)):
        return {
            "PolicyName": _known_str(policy_resource.get("name")) or policy_resource.address,
            "PolicyArn": arn or policy_resource.address,
            "Type": "managed",
            "PolicyDocument": _document(plan, policy_resource, "policy"),
        }
    return {
        "PolicyName": arn.rsplit("/", 1)[-1] if arn else UNKNOWN,
        "PolicyArn": arn or UNKNOWN,
        "Type": "managed",
        "PolicyDocument": UNKNOWN,
    }


def _roles(plan: Plan) -> Iterator[AuditedResource]:
    account = plan.account_id()
    role_policies = plan.of_type("aws_iam_role_policy")
    attachments = plan.of_type("aws_iam_role_policy_attachment")
    policy_attachments = plan.of_type("aws_iam_policy_attachment")
    for role in plan.of_type("aws_iam_role"):
        policies = []
        for inline in role.get("inline_policy") or []:
            if isinstance(inline, dict) and inline.get("name") and inline.get("policy"):
                policies.append(
                    {"PolicyName": inline["name"], "Type": "inline", "PolicyDocument": parse_document(inline["policy"])}
                )
        for role_policy in role_policies:
            if role in plan.linked(role_policy, ["role"], {"aws_iam_role"}, ("name", "id")):
                policies.append(
                    {
                        "PolicyName": _known_str(role_policy.get("name")) or role_policy.address,
                        "Type": "inline",
                        "PolicyDocument": _document(plan, role_policy, "policy"),
                    }
                )
        for attachment in attachments:
            if role in plan.linked(attachment, ["role"], {"aws_iam_role"}, ("name", "id")):
                policies.append(_managed_policy_entry(plan, attachment.get("policy_arn"), attachment, ["policy_arn"]))
        for attachment in policy_attachments:
            if role in plan.linked(attachment, ["roles"], {"aws_iam_role"}, ("name", "id")):
                policies.append(_managed_policy_entry(plan, attachment.get("policy_arn"), attachment, ["policy_arn"]))
        for arn in role.get("managed_policy_arns") if isinstance(role.get("managed_policy_arns"), list) else []:
            if _known_str(arn):
                policies.append(_managed_policy_entry(plan, arn, role, ["managed_policy_arns"]))
        name = _known_str(role.get("name")) or role.address
        arn = _known_str(role.get("arn"))
        tags = tag_map(role.get("tags"))
        document = {
            "RoleName": name,
            "Arn": arn or UNKNOWN,
            "Path": role.get("path") or "/",
            "AccountId": arn.split(":")[4] if arn else account,
            "Tags": tags,
            "AssumeRolePolicyDocument": _document(plan, role, "assume_role_policy"),
            "Policies": policies,
        }
        yield AuditedResource(ResourceKind.IAM_ROLE, name, document, arn=arn, tags=tags, address=role.address)


# --- WAF ---------------------------------------------------------------------------------------
# Terraform's blocks that hold several items, and their API names.
_WAF_LISTS = {
    "rule": "Rules",
    "excluded_rule": "ExcludedRules",
    "text_transformation": "TextTransformations",
    "rule_action_override": "RuleActionOverrides",
    "insert_header": "InsertHeaders",
}
_WAF_NAMES = {
    "cloudwatch_metrics_enabled": "CloudWatchMetricsEnabled",
    "ip_set_reference_statement": "IPSetReferenceStatement",
    "arn": "ARN",
}


def _pascal(name: str) -> str:
    return _WAF_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))


def waf_api_shape(value: object, parent: str = "") -> object:
    """A WAFv2 block of Terraform (snake_case, one-item lists) in the shape GetWebACL answers."""
    if isinstance(value, list):
        return [waf_api_shape(item, parent) for item in value]
    if not isinstance(value, dict):
        return value
    shaped: dict = {}
    for key, item in value.items():
        if item is None:
            continue
        if key in _WAF_LISTS:
            shaped[_WAF_LISTS[key]] = [waf_api_shape(i, key) for i in item] if isinstance(item, list) else item
        elif key == "statement" and parent in ("and_statement", "or_statement"):
            shaped["Statements"] = [waf_api_shape(i, key) for i in item] if isinstance(item, list) else item
        elif isinstance(item, list) and all(isinstance(i, dict) for i in item):
            if item:  # an empty block list is an absent block
                shaped[_pascal(key)] = waf_api_shape(item[0], key)
        else:
            shaped[_pascal(key)] = item
    return shaped


def _visibility(block: object) -> dict | None:
    shaped = waf_api_shape(_first(block))
    return shaped if isinstance(shaped, dict) and shaped else None


def _web_acls(plan: Plan) -> Iterator[AuditedResource]:
    logging = plan.of_type("aws_wafv2_web_acl_logging_configuration")
    associations = plan.of_type("aws_wafv2_web_acl_association")
    distributions = plan.of_type("aws_cloudfront_distribution")
    for acl in plan.of_type("aws_wafv2_web_acl"):
        default = _first(acl.get("default_action"))
        default_action = {_pascal(k): {} for k, v in default.items() if isinstance(v, list) and v}
        logged = [c for c in logging if acl in plan.linked(c, ["resource_arn"], {"aws_wafv2_web_acl"}, ("arn",))]
        associated = [
            _known_str(a.get("resource_arn")) or a.address
            for a in associations
            if acl in plan.linked(a, ["web_acl_arn"], {"aws_wafv2_web_acl"}, ("arn",))
        ]
        associated += [
            d.address
            for d in distributions
            if acl in plan.linked(d, ["web_acl_id"], {"aws_wafv2_web_acl"}, ("arn", "id"))
        ]
        logging_configuration = None
        if logged:
            destinations = logged[0].get("log_destination_configs")
            logging_configuration = {
                "LogDestinationConfigs": destinations if isinstance(destinations, list) else [UNKNOWN]
            }
        name = _known_str(acl.get("name")) or acl.address
        tags = tag_map(acl.get("tags"))
        rules = waf_api_shape(acl.get("rule") or [], "rule")
        document = {
            "Name": name,
            "ARN": _known_str(acl.get("arn")) or UNKNOWN,
            "Scope": acl.get("scope"),
            "DefaultAction": default_action or UNKNOWN,
            "Rules": rules if isinstance(rules, list) else UNKNOWN,
            "VisibilityConfig": _visibility(acl.get("visibility_config")),
            "LoggingConfiguration": logging_configuration,
            "AssociatedResources": associated,
            "Tags": tags,
        }
        yield AuditedResource(
            ResourceKind.WAF_WEB_ACL, name, document, arn=_known_str(acl.get("arn")), tags=tags, address=acl.address
        )


# --- Security groups ---------------------------------------------------------------------------
def _group_id(group: PlanResource) -> str:
    """A security group's id, or its address while the id is not known (the plan's stand-in)."""
    return _known_str(group.get("id")) or group.address


def _permission(protocol: object, from_port: object, to_port: object) -> dict:
    return {"IpProtocol": str(protocol), "FromPort": from_port, "ToPort": to_port}


def _ranges(permission: dict, cidrs: object, ipv6: object, prefix_lists: object) -> None:
    permission["IpRanges"] = (
        [{"CidrIp": c} for c in cidrs or [] if isinstance(c, str)] if isinstance(cidrs, list) else []
    )
    permission["Ipv6Ranges"] = (
        [{"CidrIpv6": c} for c in ipv6 or [] if isinstance(c, str)] if isinstance(ipv6, list) else []
    )
    permission["PrefixListIds"] = (
        [{"PrefixListId": p} for p in prefix_lists or [] if isinstance(p, str)]
        if isinstance(prefix_lists, list)
        else []
    )


def _group_permissions(plan: Plan, group: PlanResource, groups: list[PlanResource]) -> list[dict]:
    own = _group_id(group)
    permissions = []
    inline = group.get("ingress") if isinstance(group.get("ingress"), list) else []
    for position, block in enumerate(inline):
        if not isinstance(block, dict):
            continue
        permission = _permission(block.get("protocol"), block.get("from_port"), block.get("to_port"))
        _ranges(permission, block.get("cidr_blocks"), block.get("ipv6_cidr_blocks"), block.get("prefix_list_ids"))
        named = block.get("security_groups")
        # Groups created in the same plan: the whole set is unknown until they exist, not each of its ids.
        sources = [UNKNOWN] if named == UNKNOWN else [s for s in named or [] if isinstance(s, str)]
        if any(s == UNKNOWN for s in sources) and len(inline) == 1:
            sources = [s for s in sources if s != UNKNOWN] + [
                _group_id(g)
                for g in plan._resolve_all(
                    group.module, plan.references(group, ["ingress", "security_groups"]), {"aws_security_group"}, -1
                )
            ]
        if block.get("self"):
            sources.append(own)
        permission["UserIdGroupPairs"] = [{"GroupId": s} for s in dict.fromkeys(sources)]
        permission["Terraform"] = f"{group.address}.ingress[{position}]"
        permissions.append(permission)
    for rule in plan.of_type("aws_security_group_rule"):
        if rule.get("type") != "ingress" or group not in plan.linked(
            rule, ["security_group_id"], {"aws_security_group"}, ("id",)
        ):
            continue
        permission = _permission(rule.get("protocol"), rule.get("from_port"), rule.get("to_port"))
        _ranges(permission, rule.get("cidr_blocks"), rule.get("ipv6_cidr_blocks"), rule.get("prefix_list_ids"))
        sources = []
        # Computed when not set: only a source the configuration (or a known value) names counts.
        configured = bool(plan.references(rule, ["source_security_group_id"]))
        if _known_str(rule.get("source_security_group_id")) or configured:
            sources = [
                _group_id(g) for g in plan.linked(rule, ["source_security_group_id"], {"aws_security_group"}, ("id",))
            ]
            sources = sources or [rule.get("source_security_group_id")]
        if rule.get("self") is True:
            sources.append(own)
        permission["UserIdGroupPairs"] = [{"GroupId": s} for s in dict.fromkeys(sources) if isinstance(s, str)]
        permission["Terraform"] = rule.address
        permissions.append(permission)
    for rule in plan.of_type("aws_vpc_security_group_ingress_rule"):
        if group not in plan.linked(rule, ["security_group_id"], {"aws_security_group"}, ("id",)):
            continue
        permission = _permission(rule.get("ip_protocol"), rule.get("from_port"), rule.get("to_port"))
        _ranges(
            permission,
            [rule.get("cidr_ipv4")] if rule.get("cidr_ipv4") else [],
            [rule.get("cidr_ipv6")] if rule.get("cidr_ipv6") else [],
            [rule.get("prefix_list_id")] if rule.get("prefix_list_id") else [],
        )
        referenced = plan.linked(rule, ["referenced_security_group_id"], {"aws_security_group"}, ("id",))
        permission["UserIdGroupPairs"] = [{"GroupId": _group_id(g)} for g in referenced]
        permission["Terraform"] = rule.address
        permissions.append(permission)
    return permissions


def _security_groups(plan: Plan) -> Iterator[AuditedResource]:
    groups = plan.of_type("aws_security_group")
    app_groups: set[str] = set()
    for service in plan.of_type("aws_ecs_service"):
        for group in plan.linked(
            service, ["network_configuration", "security_groups"], {"aws_security_group"}, ("id",)
        ):
            app_groups.add(_group_id(group))
    attached: dict[str, list[str]] = {}
    for kind, types, path, label in (
        ("RDS", ("aws_db_instance",), ["vpc_security_group_ids"], "identifier"),
        ("RDS", ("aws_rds_cluster",), ["vpc_security_group_ids"], "cluster_identifier"),
        ("ElastiCache", ("aws_elasticache_replication_group",), ["security_group_ids"], "replication_group_id"),
        ("ElastiCache", ("aws_elasticache_cluster",), ["security_group_ids"], "cluster_id"),
    ):
        for store in plan.of_type(*types):
            for group in plan.linked(store, path, {"aws_security_group"}, ("id",)):
                attached.setdefault(group.address, []).append(f"{kind} {_known_str(store.get(label)) or store.address}")
    for group in groups:
        tags = tag_map(group.get("tags"))
        document = {
            "GroupId": _group_id(group),
            "GroupName": _known_str(group.get("name")) or group.address,
            "VpcId": group.get("vpc_id"),
            "Tags": tags,
            "IpPermissions": _group_permissions(plan, group, groups),
            "AttachedTo": sorted(attached.get(group.address, [])),
            "AppSecurityGroupIds": sorted(app_groups),
        }
        yield AuditedResource(
            ResourceKind.SECURITY_GROUP,
            document["GroupName"],
            document,
            arn=_known_str(group.get("arn")),
            tags=tags,
            address=group.address,
        )


# --- S3 ----------------------------------------------------------------------------------------
def _encryption_rules(blocks: object) -> list[dict]:
    rules = []
    for rule in blocks if isinstance(blocks, list) else []:
        if not isinstance(rule, dict):
            continue
        default = _first(rule.get("apply_server_side_encryption_by_default"))
        rules.append(
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": default.get("sse_algorithm"),
                    "KMSMasterKeyID": default.get("kms_master_key_id"),
                },
                "BucketKeyEnabled": rule.get("bucket_key_enabled"),
            }
        )
    return rules


def _buckets(plan: Plan) -> Iterator[AuditedResource]:
    blocks = plan.of_type("aws_s3_bucket_public_access_block")
    encryptions = plan.of_type("aws_s3_bucket_server_side_encryption_configuration")
    versionings = plan.of_type("aws_s3_bucket_versioning")
    for bucket in plan.of_type("aws_s3_bucket"):
        name = _known_str(bucket.get("bucket"))

        def of_bucket(resources: list[PlanResource], bucket: PlanResource = bucket) -> list[PlanResource]:
            return [r for r in resources if bucket in plan.linked(r, ["bucket"], {"aws_s3_bucket"}, ("id", "bucket"))]

        block = next(iter(of_bucket(blocks)), None)
        public_access_block = (
            {
                "BlockPublicAcls": block.get("block_public_acls"),
                "IgnorePublicAcls": block.get("ignore_public_acls"),
                "BlockPublicPolicy": block.get("block_public_policy"),
                "RestrictPublicBuckets": block.get("restrict_public_buckets"),
            }
            if block
            else None
        )
        rules = _encryption_rules(_first(bucket.get("server_side_encryption_configuration")).get("rule"))
        for encryption in of_bucket(encryptions):
            rules += _encryption_rules(encryption.get("rule"))
        versioning = None
        if _first(bucket.get("versioning")).get("enabled") is True:
            versioning = "Enabled"
        for resource in of_bucket(versionings):
            status = _first(resource.get("versioning_configuration")).get("status")
            versioning = status if isinstance(status, str) else versioning
        tags = tag_map(bucket.get("tags"))
        document = {
            "Name": name or bucket.address,
            "Arn": f"arn:aws:s3:::{name}" if name else UNKNOWN,
            "Tags": tags,
            "PublicAccessBlock": public_access_block,
            "ServerSideEncryption": {"Rules": rules} if rules else None,
            "Versioning": versioning,
        }
        yield AuditedResource(
            ResourceKind.S3_BUCKET,
            document["Name"],
            document,
            arn=f"arn:aws:s3:::{name}" if name else "",
            tags=tags,
            address=bucket.address,
        )


# --- RDS ---------------------------------------------------------------------------------------
def _db_instances(plan: Plan) -> Iterator[AuditedResource]:
    for instance in plan.of_type("aws_db_instance"):
        identifier = _known_str(instance.get("identifier")) or instance.address
        tags = tag_map(instance.get("tags"))
        document = {
            "DBInstanceIdentifier": identifier,
            "DBInstanceArn": _known_str(instance.get("arn")) or UNKNOWN,
            "Engine": instance.get("engine"),
            "PubliclyAccessible": instance.get("publicly_accessible"),
            "StorageEncrypted": instance.get("storage_encrypted"),
            "KmsKeyId": instance.get("kms_key_id"),
            "Tags": tags,
        }
        yield AuditedResource(
            ResourceKind.RDS_INSTANCE,
            identifier,
            document,
            arn=_known_str(instance.get("arn")),
            tags=tags,
            address=instance.address,
        )


def plan_resources(plan_json: dict) -> list[AuditedResource]:
    """The audited resources of the state ``plan_json`` (``terraform show -json`` of a plan) would leave."""
    plan = Plan(plan_json)
    region = plan.variable("region")
    resources = [
        *_roles(plan),
        *_web_acls(plan),
        *_security_groups(plan),
        *_buckets(plan),
        *_db_instances(plan),
    ]
    for resource in resources:
        resource.region = region if isinstance(region, str) else ""
    return resources

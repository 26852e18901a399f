"""Reading IAM policy documents: statements, actions, resources and principals, as IAM evaluates them.

A "write action" here is any action whose verb does not start with Get, List, Describe or Head (so
``s3:GetObject`` and ``ecr:GetAuthorizationToken`` read, ``s3:PutObject``, ``sts:AssumeRole`` and a wildcard
verb such as ``s3:*`` or ``s3:Put*`` write). It is a heuristic on AWS's naming, not IAM's access levels:
it errs towards "write" (``s3:Desc*`` counts as write, as the verb may be anything).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator

from provisioning.audit.resources import UNKNOWN

READ_VERBS = ("get", "list", "describe", "head")
ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:(?:iam|sts)::(\d{12}):")
ACCOUNT_ID = re.compile(r"^\d{12}$")


def as_list(value: object) -> list:
    """IAM lets most fields be one value or a list; absent is empty."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_document(value: object) -> dict | str | None:
    """A policy as a mapping: JSON strings (plans, some APIs) are parsed; unknown stays :data:`UNKNOWN`."""
    if value is None or value == "":
        return None
    if value == UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def statements(document: object) -> Iterator[tuple[str, dict]]:
    """(JSON pointer inside the document, statement) of each statement; a lone statement object has no index."""
    if not isinstance(document, dict):
        return
    body = document.get("Statement")
    if isinstance(body, dict):
        yield "/Statement", body
    elif isinstance(body, list):
        for index, statement in enumerate(body):
            if isinstance(statement, dict):
                yield f"/Statement/{index}", statement


def is_allow(statement: dict) -> bool:
    return statement.get("Effect") == "Allow"


def known(values: list) -> list[str]:
    return [value for value in values if isinstance(value, str) and value != UNKNOWN]


def actions(statement: dict) -> list[str]:
    return known(as_list(statement.get("Action")))


def not_actions(statement: dict) -> list[str] | None:
    """The NotAction list, or None when the statement names its actions."""
    return known(as_list(statement["NotAction"])) if "NotAction" in statement else None


def resources(statement: dict) -> list[str]:
    return known(as_list(statement.get("Resource")))


def applies_to_any_resource(statement: dict) -> bool:
    """``Resource: "*"``, or a NotResource (every resource but those listed)."""
    return "*" in resources(statement) or "NotResource" in statement


def has_condition(statement: dict) -> bool:
    return bool(statement.get("Condition"))


def action_matches(pattern: str, action: str) -> bool:
    """IAM's matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants(statement: dict, action: str) -> bool:
    """Whether an Allow statement's Action (or NotAction) covers ``action``."""
    excluded = not_actions(statement)
    if excluded is not None:
        return not any(action_matches(pattern, action) for pattern in excluded)
    return any(action_matches(pattern, action) for pattern in actions(statement))


def is_service_wildcard(action: str) -> bool:
    """``*`` or ``service:*``: every action of every service, or of one."""
    return action == "*" or (action.count(":") == 1 and action.split(":", 1)[1] == "*")


def is_write_action(action: str) -> bool:
    """True unless the verb starts with Get, List, Describe or Head (see the module docstring)."""
    if action == "*":
        return True
    verb = action.split(":", 1)[1] if ":" in action else action
    return not verb.lower().startswith(READ_VERBS)


def principal_values(statement: dict) -> dict[str, list[str]]:
    """The principals by type; ``Principal: "*"`` is the type ``*``."""
    principal = statement.get("Principal")
    if principal == "*":
        return {"*": ["*"]}
    if isinstance(principal, dict):
        return {kind: known(as_list(values)) for kind, values in principal.items()}
    return {}


def principal_account(principal: str) -> str | None:
    """The account of an AWS principal (an account id, or an IAM/STS ARN), None otherwise."""
    if ACCOUNT_ID.match(principal):
        return principal
    match = ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else None

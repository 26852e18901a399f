"""The rules are documented in one place: docs/audit-rules.md's table is the registry, printed."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command

from provisioning.audit.rules import RULES, markdown_table

RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-rules.md"


def readme_rules_table() -> str:
    section = RULES_DOC.read_text().split("\n## Audit rules\n", 1)[1].split("\n## ", 1)[0]
    return "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))


def test_the_readme_table_is_the_registry():
    assert readme_rules_table() == markdown_table()


def test_manage_py_audit_rules_prints_the_table():
    out = io.StringIO()

    call_command("audit_rules", stdout=out)

    assert out.getvalue() == markdown_table()
    assert all(f"| `{rule_id}` |" in out.getvalue() for rule_id in RULES)

"""Findings as a download: CSV (one row per finding, a header row) or JSON (the same fields, with evidence)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.utils import timezone

from portal.audit.models import Finding

# (CSV header, record key), in the order of the CSV's columns.
COLUMNS = (
    ("id", "id"),
    ("rule", "rule"),
    ("severity", "severity"),
    ("status", "status"),
    ("environment", "environment"),
    ("resource kind", "resource_kind"),
    ("resource id", "resource_id"),
    ("title", "title"),
    ("first seen", "first_seen_at"),
    ("last seen", "last_seen_at"),
    ("resolved at", "resolved_at"),
)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def export_record(finding: Finding) -> dict:
    """One finding as exported: the CSV's fields, plus evidence and pointers (JSON only)."""
    return {
        "id": finding.pk,
        "rule": finding.rule_id,
        "severity": finding.severity,
        "status": finding.status,
        "environment": finding.environment.name if finding.environment_id else "",
        "resource_kind": finding.resource_kind,
        "resource_id": finding.resource_id,
        "title": finding.title,
        "first_seen_at": _when(finding.first_seen_at),
        "last_seen_at": _when(finding.last_seen_at),
        "resolved_at": _when(finding.resolved_at),
        "evidence": finding.evidence,
        "pointers": finding.pointers,
    }


def export_records(findings: Iterable[Finding]) -> list[dict]:
    return [export_record(finding) for finding in findings]


def records_csv(records: Iterable[dict]) -> str:
    """The records as CSV text: a header row, then one row per finding (account-wide: empty environment)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in COLUMNS])
    for record in records:
        writer.writerow(["" if record.get(key) is None else record[key] for _, key in COLUMNS])
    return out.getvalue()


def filename(extension: str) -> str:
    return f"launchpad-audit-findings-{timezone.now():%Y%m%d-%H%M}.{extension}"

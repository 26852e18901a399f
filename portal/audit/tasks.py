"""Celery tasks of the audit: beat re-opens the findings whose suppression has run out."""

from __future__ import annotations

from celery import shared_task

from portal.audit import models


@shared_task(ignore_result=True)
def release_expired_suppressions() -> int:
    """Re-open every finding whose suppression has expired (pages and the API only read: they write nothing)."""
    return models.release_expired_suppressions()

"""Suppressing a finding: a justification and a future expiry, recorded in the activity log; it ends on time."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.activity.models import ActivityEntry
from portal.audit import tasks
from portal.audit.choices import FindingStatus
from portal.audit.models import Finding, release_expired_suppressions, suppress
from tests.audit.documents import db_instance
from tests.audit.test_models import audit
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding() -> Finding:
    audit(db_instance(PubliclyAccessible=True))
    return Finding.objects.get()


@pytest.fixture
def admin():
    return make_user("admin")


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


def test_a_suppression_sets_the_finding_aside_and_is_in_the_activity_log(finding, admin):
    suppression = suppress(finding, admin, "  The reporting database is public by design until Q3.  ", in_days(30))

    finding.refresh_from_db()
    assert finding.status == FindingStatus.SUPPRESSED
    assert finding.active_suppression == suppression
    assert suppression.justification == "The reporting database is public by design until Q3."
    event = ActivityEntry.objects.get(action="finding.suppressed")
    assert (event.actor, event.object_type, event.object_id) == (admin, "finding", str(finding.pk))
    assert event.data["justification"] == suppression.justification
    assert event.data["rule"] == "rds.public"
    assert event.data["expires_at"] == suppression.expires_at.isoformat()


@pytest.mark.parametrize(
    ("justification", "expires_in_days", "field", "message"),
    [
        ("", 30, "justification", "needs a justification"),
        ("   ", 30, "justification", "needs a justification"),
        ("Accepted.", None, "expires_at", "needs an expiry"),
        ("Accepted.", -1, "expires_at", "must be in the future"),
        ("Accepted.", 400, "expires_at", "at most 365 days"),
    ],
)
def test_a_suppression_needs_a_justification_and_an_expiry_in_the_future(
    finding, admin, justification, expires_in_days, field, message
):
    expires_at = None if expires_in_days is None else in_days(expires_in_days)

    with pytest.raises(ValidationError) as refused:
        suppress(finding, admin, justification, expires_at)

    assert message in " ".join(refused.value.message_dict[field])
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert not finding.suppressions.exists()
    assert not ActivityEntry.objects.filter(action="finding.suppressed").exists()


def test_a_suppressed_finding_stays_suppressed_while_the_audit_still_sees_it(finding, admin):
    suppress(finding, admin, "Accepted for the migration.", in_days(7))

    audit(db_instance(PubliclyAccessible=True))

    finding.refresh_from_db()
    assert finding.status == FindingStatus.SUPPRESSED


def test_an_expired_suppression_opens_the_finding_again_and_says_so_in_the_activity_log(finding, admin):
    suppression = suppress(finding, admin, "Accepted for a day.", in_days(1))
    suppression.expires_at = timezone.now() - timedelta(minutes=1)  # a day later
    suppression.save()

    assert release_expired_suppressions() == 1

    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert finding.active_suppression is None
    assert ActivityEntry.objects.filter(action="finding.suppression_expired", object_id=str(finding.pk)).exists()


def test_the_next_audit_opens_a_finding_whose_suppression_expired(finding, admin):
    suppression = suppress(finding, admin, "Accepted for a day.", in_days(1))
    suppression.expires_at = timezone.now() - timedelta(seconds=1)
    suppression.save()

    audit(db_instance(PubliclyAccessible=True))

    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN


def test_fixing_a_suppressed_finding_ends_its_suppression_so_a_relapse_is_open(finding, admin):
    suppress(finding, admin, "Accepted until the fix ships.", in_days(60))

    audit(db_instance())
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RESOLVED
    assert finding.suppressions.get().ended_at is not None

    audit(db_instance(PubliclyAccessible=True))
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN


def test_a_new_suppression_replaces_the_active_one(finding, admin):
    first = suppress(finding, admin, "For a week.", in_days(7))
    second = suppress(finding, admin, "For a month after all.", in_days(30))

    first.refresh_from_db()
    assert first.ended_at is not None
    assert finding.active_suppression == second


def test_a_resolved_finding_cannot_be_suppressed(finding, admin):
    audit(db_instance())
    finding.refresh_from_db()

    with pytest.raises(ValidationError, match="resolved"):
        suppress(finding, admin, "Too late.", in_days(7))


# --- expiry: beat re-opens, pages only read ---------------------------------------------------------
@pytest.fixture
def expired(finding, admin) -> Finding:
    """A finding whose suppression ran out a minute ago, not yet re-opened."""
    suppression = suppress(finding, admin, "Accepted for a day.", in_days(1))
    suppression.expires_at = timezone.now() - timedelta(minutes=1)
    suppression.save()
    return finding


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]


@pytest.mark.parametrize(
    "page",
    [
        "/audit/",
        "/audit/?status=suppressed",
        "/audit/findings/{pk}/",
        "/audit/changes/",
        "/api/v1/audit/findings/",
        "/api/v1/audit/findings/{pk}/",
        "/api/v1/audit/findings/export/?format=json",
    ],
)
def test_reading_the_audit_pages_and_api_writes_nothing(expired, admin, page):
    client = Client()
    client.force_login(admin)
    events = ActivityEntry.objects.count()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.format(pk=expired.pk))

    assert response.status_code == 200
    assert writes(queries.captured_queries) == []
    assert ActivityEntry.objects.count() == events
    expired.refresh_from_db()
    assert expired.status == FindingStatus.SUPPRESSED


def test_beat_reopens_the_findings_whose_suppression_expired(expired):
    schedule = settings.CELERY_BEAT_SCHEDULE["release-expired-suppressions"]
    assert (
        schedule["task"] == tasks.release_expired_suppressions.name == "portal.audit.tasks.release_expired_suppressions"
    )
    assert schedule["schedule"] <= 60

    assert tasks.release_expired_suppressions.apply().get() == 1

    expired.refresh_from_db()
    assert expired.status == FindingStatus.OPEN
    assert ActivityEntry.objects.filter(action="finding.suppression_expired", object_id=str(expired.pk)).exists()
    assert tasks.release_expired_suppressions.apply().get() == 0


def test_a_worker_discovers_the_audit_apps_tasks():
    # A fresh interpreter, as a worker starts: the tasks come from autodiscovery alone.
    discovered = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from portal.celery import app; "
            "app.loader.import_default_modules(); print('\\n'.join(app.tasks))",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.test_settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert discovered.returncode == 0, discovered.stderr
    assert "portal.audit.tasks.release_expired_suppressions" in discovered.stdout.split()

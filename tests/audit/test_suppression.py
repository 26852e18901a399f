"""Suppressing a finding: a justification and a future expiry, recorded in the activity log; it ends on time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.activity.models import ActivityEntry
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

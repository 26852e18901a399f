"""Deciding on a plan that waits: the page and the API say who can approve it (by the rule approving applies), and
a rejection needs a reason, kept on the run, in its log and the activity log, and sent to the environment's owner."""

from __future__ import annotations

import pytest
from django.core import mail

from portal.activity.models import ActivityEntry
from portal.runs.models import REJECTION_NEEDS_REASON, Run, approval_refusal
from tests.factories import api_client, make_environment, make_user
from tests.runs.test_views import awaiting, client_for, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    owner = make_user("engineer", "olga")
    owner.email = "olga@spotmusic.invalid"
    owner.save()
    return {
        "owner": owner,
        "rita": make_user("approver", "rita"),
        "ada": make_user("admin", "ada"),
        "self_approver": make_user("approver", "sam"),
        "engineer": make_user("engineer", "erin"),
    }


@pytest.fixture
def waiting(people):
    environment = make_environment(owner=people["owner"], name="olga-staging", tier="staging")
    return awaiting(environment, requested_by=people["self_approver"])


def test_the_approvers_listed_are_exactly_those_the_approve_action_accepts(people, waiting):
    listed = [user.username for user in waiting.approvers()]

    assert listed == ["ada", "rita"]  # not the requester, not an engineer
    for user in people.values():
        assert (approval_refusal(waiting, user) is None) == (user.username in listed)


def test_a_plan_with_high_findings_lists_only_the_admins_who_alone_may_approve_it(people, waiting):
    waiting.plan_findings = [{"rule_id": "sg.open-ssh", "severity": "high", "address": "module.x.aws_security_group.y"}]
    waiting.save()

    assert [user.username for user in waiting.approvers()] == ["ada"]


def test_the_waiting_run_page_names_who_can_approve_it(people, waiting):
    page = text(client_for(people["engineer"]).get(f"/runs/{waiting.pk}/"))

    assert "Who can approve it: <strong>ada</strong>, <strong>rita</strong>." in page


def test_the_api_names_who_can_approve_a_waiting_run_and_nobody_once_it_is_decided(people, waiting):
    client = api_client(people["engineer"])

    assert client.get(f"/api/v1/runs/{waiting.pk}/").json()["approvers"] == ["ada", "rita"]
    api_client(people["rita"]).post(f"/api/v1/runs/{waiting.pk}/reject/", {"reason": "Wrong region."}, format="json")
    assert client.get(f"/api/v1/runs/{waiting.pk}/").json()["approvers"] == []


# {"comment": …} alone is a reason: its former name (tests/runs/test_api.py).
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "", "comment": ""}])
def test_the_api_refuses_a_rejection_without_a_reason_and_writes_nothing(people, waiting, body):
    response = api_client(people["rita"]).post(f"/api/v1/runs/{waiting.pk}/reject/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason": [REJECTION_NEEDS_REASON]}
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"
    assert not ActivityEntry.objects.filter(action="run.rejected").exists()


def test_a_rejection_in_the_page_without_a_reason_is_refused_and_writes_nothing(people, waiting):
    client = client_for(people["rita"])

    response = client.post(f"/runs/{waiting.pk}/reject/", {"reason": "  "}, follow=True)

    assert "Say why the plan is rejected" in text(response)
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"


def test_the_reason_of_a_rejection_is_on_the_run_in_its_log_the_activity_log_and_the_owners_email(
    people, waiting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(people["rita"]).post(
            f"/api/v1/runs/{waiting.pk}/reject/", {"reason": "Not during the freeze."}, format="json"
        )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["review_comment"] == "Not during the freeze."
    run = Run.objects.get(pk=waiting.pk)
    assert run.events.last().message == "Rejected by rita. Not during the freeze."
    entry = ActivityEntry.objects.get(action="run.rejected")
    assert entry.data["reason"] == "Not during the freeze."
    page = text(client_for(people["engineer"]).get(f"/runs/{run.pk}/"))
    assert "Not during the freeze." in page and "The run was rejected." in page
    [message] = mail.outbox
    assert message.to == ["olga@spotmusic.invalid"]
    assert message.subject == (
        f"[Launchpad] Apply run #{run.pk} of olga-staging was rejected by rita: Not during the freeze."
    )
    assert "reason: Not during the freeze." in message.body and f"/runs/{run.pk}/" in message.body

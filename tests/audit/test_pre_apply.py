"""The pre-apply check: the audit's rules on every plan; a high finding stops the automatic apply, shows in the
plan review, and only an admin may approve the plan, with a written justification."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.activity.models import ActivityEntry
from portal.jobs.heartbeat import Heartbeat
from portal.jobs.output import EventWriter
from portal.runs import execution
from portal.runs.approval import approval_reasons
from portal.runs.choices import RunStatus
from portal.runs.models import (
    HIGH_FINDINGS_NEED_ADMIN,
    HIGH_FINDINGS_NEED_JUSTIFICATION,
    Run,
    RunEvent,
    TransitionError,
)
from provisioning import engine
from provisioning.audit import plan_approval_reasons
from tests.audit.plans import load
from tests.factories import api_client, make_environment, make_run, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    return record_enqueued_runs(monkeypatch)


@pytest.fixture
def environment():
    return make_environment(name="feature-y", tier="dev")


def planned_outcome(plan: dict) -> engine.PlanOutcome:
    """What engine.plan returns for ``plan`` (``terraform show -json``): its summary and the audit's findings."""
    findings, audit_error = engine.audit_plan(plan)
    return engine.PlanOutcome(
        has_changes=True, summary=engine.summarise_plan(plan), plan=b"plan", findings=findings, audit_error=audit_error
    )


def plan_phase(run: Run, plan: dict, monkeypatch) -> Run:
    """The worker's plan phase, Terraform's part standing in for ``plan`` (a real plan's JSON)."""
    monkeypatch.setitem(execution.settings.LAUNCHPAD, "STATE_BUCKET", "state")
    monkeypatch.setitem(execution.settings.LAUNCHPAD, "LOCK_TABLE", "lock")
    monkeypatch.setattr(execution.engine, "plan", lambda *args, **kwargs: planned_outcome(plan))
    with EventWriter(run, RunEvent.append) as writer:
        execution._plan_phase(run, writer, Heartbeat(run, cancellable=True), chain=None)
    run.refresh_from_db()
    return run


def awaiting_with_findings(environment) -> Run:
    findings, _ = engine.audit_plan(load("insecure"))
    run = make_run(
        environment,
        status="awaiting_approval",
        needs_approval=True,
        has_changes=True,
        encrypted_plan=b"encrypted plan bytes",
        plan_summary=engine.summarise_plan(load("insecure")),
        plan_findings=findings,
        approval_reasons=plan_approval_reasons(findings),
    )
    return run


# --- the check -------------------------------------------------------------------------------------
def test_a_plan_with_a_bad_policy_waits_for_approval_even_in_dev(environment, monkeypatch):
    run = plan_phase(make_run(environment, kind="apply", status="running"), load("insecure"), monkeypatch)

    assert run.status == RunStatus.AWAITING_APPROVAL
    assert run.needs_approval
    assert any("high-severity" in reason and "iam.wildcard-action" in reason for reason in run.approval_reasons)
    assert {f["rule_id"] for f in run.high_plan_findings} >= {
        "iam.wildcard-action",
        "iam.open-trust",
        "sg.open-ingress",
    }
    assert any(event.message.startswith("Security check: 19 findings") for event in run.events.all())


def test_a_plan_of_our_blueprint_applies_at_once_in_dev(environment, monkeypatch):
    monkeypatch.setattr(
        execution, "_apply_phase", lambda run, *args, **kwargs: None
    )  # Terraform's apply is not the point

    run = plan_phase(make_run(environment, kind="apply", status="running"), load("sandbox"), monkeypatch)

    assert run.status == RunStatus.APPLYING
    assert (run.needs_approval, run.plan_findings) == (False, [])


def test_findings_below_high_do_not_stop_the_apply(environment):
    findings, _ = engine.audit_plan(load("insecure"))
    medium = [finding for finding in findings if finding["severity"] != "high"]

    assert approval_reasons(make_run(environment), {"stateful_losses": []}, medium) == []


def test_a_plan_the_check_cannot_read_waits_for_a_person(environment):
    findings, error = engine.audit_plan({"planned_values": "not a plan"})

    assert findings == [] and error
    reasons = approval_reasons(make_run(environment), {"stateful_losses": []}, findings, error)
    assert reasons and "could not read the plan" in reasons[0]


# --- who may approve -------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["engineer", "approver"])
def test_only_an_admin_may_approve_a_plan_with_high_findings(environment, role):
    run = awaiting_with_findings(environment)

    with pytest.raises(TransitionError, match=HIGH_FINDINGS_NEED_ADMIN if role == "approver" else "Only approvers"):
        run.approve(make_user(role), "Looks fine to me.")

    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL


def test_an_admin_must_write_why_the_findings_are_acceptable(environment):
    run = awaiting_with_findings(environment)

    with pytest.raises(TransitionError, match="write why"):
        run.approve(make_user("admin"), "   ")

    run.approve(make_user("admin"), "A throwaway demo account, destroyed tonight.")
    assert run.status == RunStatus.QUEUED


def test_the_api_refuses_an_approver_and_asks_an_admin_for_a_justification(environment):
    run = awaiting_with_findings(environment)
    url = f"/api/v1/runs/{run.pk}/approve/"

    refused = api_client(make_user("approver")).post(url, {"comment": "ok"}, format="json")
    unjustified = api_client(make_user("admin")).post(url, {"comment": ""}, format="json")

    assert (refused.status_code, refused.json()) == (403, {"detail": HIGH_FINDINGS_NEED_ADMIN})
    assert (unjustified.status_code, unjustified.json()) == (400, {"comment": [HIGH_FINDINGS_NEED_JUSTIFICATION]})
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL


def test_an_admins_justified_approval_is_recorded_with_the_findings_it_accepts(environment):
    run = awaiting_with_findings(environment)
    admin = make_user("admin", username="secadmin")

    response = api_client(admin).post(
        f"/api/v1/runs/{run.pk}/approve/", {"comment": "Demo account, torn down at 18:00."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued"
    event = ActivityEntry.objects.get(action="run.approved")
    assert event.data["comment"] == "Demo account, torn down at 18:00."
    assert "iam.wildcard-action on aws_iam_role.open" in event.data["overridden_findings"]
    assert response.json()["plan_findings"][0]["severity"] == "high"


def test_rejecting_a_plan_with_findings_stays_open_to_approvers(environment):
    run = awaiting_with_findings(environment)

    run.reject(make_user("approver"), "Not with a public database.")

    assert run.status == RunStatus.REJECTED


# --- the plan review -------------------------------------------------------------------------------
def page(user, run) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/runs/{run.pk}/").content.decode()


def test_the_plan_review_shows_the_findings_with_the_guilty_statement_highlighted(environment):
    run = awaiting_with_findings(environment)

    html = page(make_user("admin"), run)

    assert 'id="plan-findings"' in html
    assert "iam.open-trust" in html and "aws_security_group.bastion" in html
    assert 'class="line guilty"' in html
    assert 'id="approve-button"' in html
    assert "needs a written justification" in html


def test_an_approver_sees_why_they_cannot_approve_but_may_reject(environment):
    html = page(make_user("approver"), awaiting_with_findings(environment))

    assert 'id="approve-button"' not in html
    assert 'id="reject-button"' in html
    assert HIGH_FINDINGS_NEED_ADMIN in html


def test_approving_on_the_page_without_a_justification_is_refused_with_the_reason(environment):
    run = awaiting_with_findings(environment)
    client = Client()
    client.force_login(make_user("admin"))

    response = client.post(f"/runs/{run.pk}/approve/", {"comment": ""}, follow=True)

    assert HIGH_FINDINGS_NEED_JUSTIFICATION in response.content.decode()
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL


def test_a_clean_plan_says_so_in_the_review(environment):
    run = make_run(
        environment, status="succeeded", kind="plan", has_changes=True, plan_summary=engine.summarise_plan(load("full"))
    )

    assert 'id="plan-findings-none"' in page(make_user(), run)

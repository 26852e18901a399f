"""The life of a run: every status change checks where the run is, and a refusal says why in a sentence."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from portal.runs.models import Run, RunEvent, TransitionError, next_queued_run
from portal.runs.services import request_run
from tests.factories import make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

PLAN = b"encrypted plan bytes"


@pytest.fixture
def environment():
    return make_environment(owner=make_user(username="owner"))


def reloaded(run: Run) -> Run:
    return Run.objects.get(pk=run.pk)


# --- the happy paths -------------------------------------------------------------------------------


def test_a_worker_starts_a_queued_run_by_planning_it(environment):
    run = make_run(environment)

    run.start("worker-1:42")

    run = reloaded(run)
    assert run.status == "running"
    assert run.worker == "worker-1:42"
    assert run.started_at is not None and run.heartbeat_at is not None


def test_an_approved_run_with_its_plan_starts_by_applying(environment):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)
    run.approve(make_user("approver"))

    run.start("worker-2:7")

    assert reloaded(run).status == "applying"


def test_a_plan_that_needs_no_approval_records_its_summary(environment):
    run = make_run(environment, status="running")

    run.planned({"add": 3, "change": 0, "destroy": 0}, True, [], PLAN)

    run = reloaded(run)
    assert run.plan_summary == {"add": 3, "change": 0, "destroy": 0}
    assert (run.has_changes, run.needs_approval, run.approval_reasons) == (True, False, [])
    assert bytes(run.encrypted_plan) == PLAN
    assert run.status == "running"


def test_a_plan_with_reasons_needs_approval_and_waits(environment):
    run = make_run(environment, status="running")

    run.planned({"destroy": 1}, True, ["The plan destroys resources that hold data: db."], PLAN)
    run.await_approval()

    run = reloaded(run)
    assert run.needs_approval is True
    assert run.approval_reasons == ["The plan destroys resources that hold data: db."]
    assert run.status == "awaiting_approval"


def test_an_approver_other_than_the_requester_approves_and_the_run_queues_for_its_apply(environment):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)
    approver = make_user("approver")

    run.approve(approver, "Looks right.")

    run = reloaded(run)
    assert run.status == "queued"
    assert run.approved_by == approver
    assert run.approved_at is not None
    assert run.review_comment == "Looks right."


def test_a_superuser_counts_as_an_approver(environment):
    run = make_run(environment, status="awaiting_approval")
    root = make_user()
    root.is_superuser = True
    root.save()

    run.approve(root)

    assert reloaded(run).status == "queued"


def test_a_rejected_run_ends_and_drops_its_plan(environment):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)
    approver = make_user("approver")

    run.reject(approver, "Not during the freeze.")

    run = reloaded(run)
    assert run.status == "rejected"
    assert (run.approved_by, run.review_comment) == (approver, "Not during the freeze.")
    assert run.encrypted_plan is None
    assert run.finished_at is not None
    assert run.is_finished


@pytest.mark.parametrize("status", ["queued", "awaiting_approval"])
def test_a_waiting_run_is_cancelled_at_once(environment, status):
    run = make_run(environment, status=status, encrypted_plan=PLAN)

    run.cancel()

    run = reloaded(run)
    assert run.status == "cancelled"
    assert run.encrypted_plan is None
    assert run.finished_at is not None


def test_cancelling_a_planning_run_asks_its_worker_to_stop(environment):
    run = make_run(environment, status="running")

    run.cancel()

    run = reloaded(run)
    assert run.status == "running"
    assert run.cancel_requested is True
    assert run.finished_at is None


def test_the_worker_ends_an_interrupted_run_as_cancelled(environment):
    run = make_run(environment, status="running", cancel_requested=True, encrypted_plan=PLAN)

    run.interrupted()

    run = reloaded(run)
    assert (run.status, run.encrypted_plan) == ("cancelled", None)


@pytest.mark.parametrize("status", ["running", "applying"])
def test_a_working_run_succeeds_and_drops_its_plan(environment, status):
    run = make_run(environment, status=status, encrypted_plan=PLAN)

    run.succeed()

    run = reloaded(run)
    assert (run.status, run.encrypted_plan) == ("succeeded", None)
    assert run.finished_at is not None


@pytest.mark.parametrize("status", ["queued", "running", "awaiting_approval", "applying"])
def test_any_unfinished_run_can_fail_with_its_reason_kept(environment, status):
    run = make_run(environment, status=status, encrypted_plan=PLAN)

    run.fail("terraform init: provider not found. " + "x" * 5000)

    run = reloaded(run)
    assert run.status == "failed"
    assert run.error.startswith("terraform init: provider not found.")
    assert len(run.error) == 4000
    assert run.encrypted_plan is None
    assert run.finished_at is not None


# --- refusals --------------------------------------------------------------------------------------


def _approve_by_approver(run):
    run.approve(make_user("approver"))


def _reject_by_approver(run):
    run.reject(make_user("approver"), "Not now.")


REFUSED = [
    pytest.param("running", lambda run: run.start("w"), "Cannot start run #{id}: it is planning.", id="start twice"),
    pytest.param("succeeded", lambda run: run.start("w"), "Cannot start run #{id}: it is succeeded.", id="start done"),
    pytest.param(
        "queued",
        lambda run: run.planned({}, False, [], None),
        "Cannot record the plan of run #{id}: it is queued.",
        id="planned before start",
    ),
    pytest.param(
        "queued", lambda run: run.await_approval(), "Cannot ask approval for run #{id}: it is queued.", id="await"
    ),
    pytest.param("applying", lambda run: run.begin_apply(), "Cannot apply run #{id}: it is applying.", id="apply"),
    pytest.param("queued", _approve_by_approver, "Cannot approve run #{id}: it is queued.", id="approve queued"),
    pytest.param("running", _approve_by_approver, "Cannot approve run #{id}: it is planning.", id="approve planning"),
    pytest.param("rejected", _approve_by_approver, "Cannot approve run #{id}: it is rejected.", id="approve rejected"),
    pytest.param("succeeded", _reject_by_approver, "Cannot reject run #{id}: it is succeeded.", id="reject done"),
    pytest.param("applying", lambda run: run.cancel(), "Cannot cancel run #{id}: it is applying.", id="cancel apply"),
    pytest.param("failed", lambda run: run.cancel(), "Cannot cancel run #{id}: it is failed.", id="cancel failed"),
    pytest.param("queued", lambda run: run.succeed(), "Cannot complete run #{id}: it is queued.", id="succeed queued"),
    pytest.param("succeeded", lambda run: run.fail("late"), "Run #{id} already succeeded.", id="fail finished"),
    pytest.param("cancelled", lambda run: run.fail("late"), "Run #{id} already cancelled.", id="fail cancelled"),
    pytest.param("queued", lambda run: run.interrupted(), "Cannot interrupt run #{id}: it is queued.", id="interrupt"),
]


@pytest.mark.parametrize(("status", "transition", "message"), REFUSED)
def test_a_transition_from_the_wrong_status_is_refused_with_a_sentence_and_changes_nothing(
    environment, status, transition, message
):
    run = make_run(environment, status=status, encrypted_plan=PLAN)
    before = Run.objects.filter(pk=run.pk).values().get()

    with pytest.raises(TransitionError) as refusal:
        transition(run)

    assert str(refusal.value) == message.format(id=run.pk)
    assert Run.objects.filter(pk=run.pk).values().get() == before


def test_the_requester_cannot_approve_their_own_run_even_as_an_approver(environment):
    approver = make_user("approver")
    run = make_run(environment, status="awaiting_approval", requested_by=approver)

    with pytest.raises(TransitionError, match=r"^A run must be approved by someone other than the person who asked"):
        run.approve(approver)

    assert reloaded(run).status == "awaiting_approval"


def test_an_engineer_cannot_approve_or_reject(environment):
    run = make_run(environment, status="awaiting_approval")
    engineer = make_user()

    with pytest.raises(TransitionError, match=r"^Only approvers can approve runs\.$"):
        run.approve(engineer)
    with pytest.raises(TransitionError, match=r"^Only approvers can reject runs\.$"):
        run.reject(engineer, "Not now.")

    run = reloaded(run)
    assert (run.status, run.approved_by, run.approved_at) == ("awaiting_approval", None, None)


def test_asking_for_an_unknown_kind_of_run_is_refused(environment):
    with pytest.raises(TransitionError, match=r"^'rebuild' is not a run kind: use plan, apply or destroy\.$"):
        request_run(environment, "rebuild", environment.owner)
    assert not Run.objects.exists()


def test_a_destroyed_environment_cannot_be_destroyed_again(environment):
    environment.status = "destroyed"
    environment.save()

    with pytest.raises(TransitionError, match=r"is already destroyed\.$"):
        request_run(environment, "destroy", environment.owner)
    assert not Run.objects.exists()


def test_requesting_a_run_queues_it_with_a_first_event(environment):
    run = request_run(environment, "plan", environment.owner)

    assert (run.kind, run.status, run.requested_by) == ("plan", "queued", environment.owner)
    assert [event.message for event in run.events.all()] == ["Plan requested by owner."]


# --- the queue -------------------------------------------------------------------------------------


def test_the_oldest_queued_run_goes_next(environment):
    first = make_run(environment, kind="plan")
    make_run(environment, kind="apply")
    make_run(environment, kind="plan", status="cancelled")

    assert next_queued_run(environment) == first


def test_an_approved_run_goes_before_older_queued_runs(environment):
    make_run(environment, kind="plan")
    approved = make_run(environment, kind="apply", status="awaiting_approval", encrypted_plan=PLAN)
    approved.approve(make_user("approver"))
    make_run(environment, kind="plan")

    assert next_queued_run(environment) == approved


def test_an_environment_without_queued_runs_has_no_next_run(environment):
    make_run(environment, status="succeeded")

    assert next_queued_run(environment) is None


def test_queues_are_per_environment(environment):
    other = make_environment()
    make_run(other)

    assert next_queued_run(environment) is None


# --- events ----------------------------------------------------------------------------------------


def test_events_are_numbered_in_order_after_the_last_one(environment):
    run = make_run(environment)
    run.log("Planning.")

    appended = RunEvent.append(
        run, [("stdout", "aws_vpc.this: Creating...", {"type": "apply_start"}), ("stderr", "warning", None)]
    )
    run.log("Done.")

    assert [event.seq for event in appended] == [2, 3]
    assert list(run.events.values_list("seq", "stream", "message")) == [
        (1, "launchpad", "Planning."),
        (2, "stdout", "aws_vpc.this: Creating..."),
        (3, "stderr", "warning"),
        (4, "launchpad", "Done."),
    ]
    assert run.events.get(seq=2).data == {"type": "apply_start"}


def test_each_run_numbers_its_events_from_one(environment):
    first, second = make_run(environment), make_run(environment)
    first.log("a")
    first.log("b")

    assert second.log("c").seq == 1


def test_an_event_number_cannot_be_used_twice(environment):
    run = make_run(environment)
    run.log("first")

    with pytest.raises(IntegrityError), transaction.atomic():
        RunEvent.objects.create(run=run, seq=1, stream="launchpad", message="again")

    assert list(run.events.values_list("message", flat=True)) == ["first"]

"""The runs API: ask for runs, read them, cancel, approve or reject them, and tail their events."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.activity.models import ActivityEntry
from portal.runs.api.pagination import RunEventPagination
from portal.runs.models import REJECTION_NEEDS_REASON, Run, RunEvent
from tests.factories import api_client, applied, make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

PLAN = b"encrypted plan bytes"


@pytest.fixture
def owner():
    return make_user(username="owner")


@pytest.fixture
def environment(owner):
    return applied(make_environment(owner=owner, name="feature-x"))


def runs_url(environment) -> str:
    return f"/api/v1/environments/{environment.name}/runs/"


def run_url(run, action: str = "") -> str:
    return f"/api/v1/runs/{run.pk}/" + (f"{action}/" if action else "")


# --- an environment's runs -------------------------------------------------------------------------


def test_an_environments_runs_are_listed_newest_first(environment):
    older = make_run(environment, kind="plan", status="succeeded")
    newer = make_run(environment, kind="apply")
    make_run(make_environment(), kind="destroy")

    response = api_client(make_user()).get(runs_url(environment))

    assert response.status_code == 200
    assert [run["id"] for run in response.json()["results"]] == [newer.pk, older.pk]
    assert {run["environment"] for run in response.json()["results"]} == {"feature-x"}


def test_the_runs_of_an_unknown_environment_are_a_404():
    client = api_client(make_user())

    assert client.get("/api/v1/environments/missing/runs/").status_code == 404
    assert client.post("/api/v1/environments/missing/runs/", {"kind": "plan"}, format="json").status_code == 404


@pytest.mark.parametrize("kind", ["plan", "apply", "destroy"])
def test_the_owner_asks_for_a_run_and_it_is_dispatched_after_commit(
    owner, environment, kind, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner, REMOTE_ADDR="203.0.113.5").post(
            runs_url(environment), {"kind": kind}, format="json"
        )
        assert enqueued == []

    assert response.status_code == 201, response.content
    run = Run.objects.get(environment=environment)
    assert response.json()["id"] == run.pk
    assert (run.kind, run.status, run.requested_by) == (kind, "queued", owner)
    assert response.json()["requested_by"] == "owner"
    assert enqueued == [run.pk]
    requested = ActivityEntry.objects.get(action=f"run.{kind}.requested")
    assert (requested.actor, requested.ip_address, requested.data) == (
        owner,
        "203.0.113.5",
        {"environment": "feature-x"},
    )


def test_a_run_asked_for_while_another_is_active_waits_its_turn(
    owner, environment, enqueued, django_capture_on_commit_callbacks
):
    make_run(environment, status="running")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).post(runs_url(environment), {"kind": "plan"}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    assert enqueued == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "rebuild"}, '"rebuild" is not a valid choice.'),
        ({"kind": "plan; rm -rf /"}, "is not a valid choice."),
        ({"kind": ""}, '"" is not a valid choice.'),
        ({}, "This field is required."),
        ({"kind": ["plan"]}, "is not a valid choice."),
    ],
)
def test_an_unknown_kind_of_run_is_a_400_and_nothing_is_written(owner, environment, body, message, enqueued):
    response = api_client(owner).post(runs_url(environment), body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()["kind"])
    assert not Run.objects.exists()
    assert not ActivityEntry.objects.exists()
    assert enqueued == []


def test_destroying_a_destroyed_environment_is_a_409_with_the_reason(owner, environment):
    environment.status = "destroyed"
    environment.save()

    response = api_client(owner).post(runs_url(environment), {"kind": "destroy"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "feature-x is already destroyed."}
    assert not Run.objects.exists()


# --- one run ---------------------------------------------------------------------------------------


def test_a_run_shows_its_plan_and_review_but_not_the_plan_file(environment):
    run = make_run(
        environment,
        status="awaiting_approval",
        needs_approval=True,
        approval_reasons=["Production environments need an approver."],
        plan_summary={"add": 1, "change": 2, "destroy": 0},
        has_changes=True,
        encrypted_plan=PLAN,
    )

    response = api_client(make_user()).get(run_url(run))

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["environment"], body["kind"], body["status"]) == (
        run.pk,
        "feature-x",
        "apply",
        "awaiting_approval",
    )
    assert body["approval_reasons"] == ["Production environments need an approver."]
    assert body["plan_summary"] == {"add": 1, "change": 2, "destroy": 0}
    assert "encrypted_plan" not in body
    assert "worker" not in body


def test_an_unknown_run_is_a_404():
    assert api_client(make_user()).get("/api/v1/runs/999999/").status_code == 404


# --- cancel ----------------------------------------------------------------------------------------


def test_the_owner_cancels_a_queued_run(owner, environment, enqueued, django_capture_on_commit_callbacks):
    run = make_run(environment)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).post(run_url(run, "cancel"))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Run.objects.get(pk=run.pk).status == "cancelled"
    assert ActivityEntry.objects.filter(action="run.cancelled", object_id=str(run.pk)).exists()
    assert enqueued == []  # nothing else was waiting


def test_cancelling_a_run_lets_the_next_queued_run_start(
    owner, environment, enqueued, django_capture_on_commit_callbacks
):
    awaiting = make_run(environment, status="awaiting_approval")
    waiting = make_run(environment, kind="plan")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).post(run_url(awaiting, "cancel"))

    assert response.status_code == 200
    assert enqueued == [waiting.pk]


def test_cancelling_a_planning_run_asks_the_worker_to_stop(owner, environment):
    run = make_run(environment, status="running")

    response = api_client(owner).post(run_url(run, "cancel"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("running", True)


@pytest.mark.parametrize(
    ("status", "display"), [("succeeded", "succeeded"), ("applying", "applying"), ("rejected", "rejected")]
)
def test_cancelling_a_run_that_cannot_be_cancelled_is_a_409_with_the_reason(owner, environment, status, display):
    run = make_run(environment, status=status)

    response = api_client(owner).post(run_url(run, "cancel"))

    assert response.status_code == 409
    assert response.json() == {"detail": f"Cannot cancel run #{run.pk}: it is {display}."}
    assert Run.objects.get(pk=run.pk).status == status
    assert not ActivityEntry.objects.exists()


def test_the_requester_may_cancel_a_run_on_an_environment_they_do_not_own(environment):
    admin = make_user("admin")
    run = make_run(environment, requested_by=admin)
    admin.groups.clear()  # no longer an admin, still the one who asked

    response = api_client(admin).post(run_url(run, "cancel"))

    assert response.status_code == 200
    assert Run.objects.get(pk=run.pk).status == "cancelled"
    cancelled = ActivityEntry.objects.get(action="run.cancelled")
    assert (cancelled.object_id, cancelled.actor) == (str(run.pk), admin)


def test_someone_else_cannot_cancel_the_run(environment):
    run = make_run(environment)

    response = api_client(make_user("approver")).post(run_url(run, "cancel"))

    assert response.status_code == 403
    assert response.json() == {"detail": "Only the requester, the environment's owner or an admin can cancel a run."}
    assert Run.objects.get(pk=run.pk).status == "queued"


# --- approve and reject ----------------------------------------------------------------------------


def test_an_approver_approves_and_the_run_is_dispatched_for_its_apply(
    environment, enqueued, django_capture_on_commit_callbacks
):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)
    approver = make_user("approver", username="reviewer")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(approver).post(run_url(run, "approve"), {"comment": "Ship it."}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["approved_by"], body["review_comment"]) == ("queued", "reviewer", "Ship it.")
    assert enqueued == [run.pk]
    assert run.events.last().message == "Approved by reviewer. Ship it."
    assert ActivityEntry.objects.get(action="run.approved").data == {"comment": "Ship it."}


def test_an_approver_rejects_with_a_reason(environment):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)

    response = api_client(make_user("approver", username="reviewer")).post(
        run_url(run, "reject"), {"reason": "Not in the freeze."}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["review_comment"]) == ("rejected", "Not in the freeze.")
    assert run.events.last().message == "Rejected by reviewer. Not in the freeze."
    assert Run.objects.get(pk=run.pk).encrypted_plan is None


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"comment": ""}])
def test_a_rejection_without_a_reason_is_refused_with_the_sentence_the_page_shows(environment, body):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)

    response = api_client(make_user("approver")).post(run_url(run, "reject"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason": [REJECTION_NEEDS_REASON]}
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"
    assert not ActivityEntry.objects.exists()


def test_a_rejection_sent_with_comment_the_former_name_of_reason_is_still_taken(environment):
    run = make_run(environment, status="awaiting_approval", encrypted_plan=PLAN)

    response = api_client(make_user("approver")).post(
        run_url(run, "reject"), {"comment": "Not in the freeze."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["review_comment"]) == ("rejected", "Not in the freeze.")
    assert ActivityEntry.objects.get(action="run.rejected").data["reason"] == "Not in the freeze."


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_reviewing_a_run_that_awaits_no_approval_is_a_409_with_the_reason(environment, action):
    run = make_run(environment, status="queued")

    body = {"reason": "Not now."} if action == "reject" else {}
    response = api_client(make_user("approver")).post(run_url(run, action), body, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": f"Cannot {action} run #{run.pk}: it is queued."}
    assert Run.objects.get(pk=run.pk).status == "queued"
    assert not RunEvent.objects.exists()
    assert not ActivityEntry.objects.exists()


def test_an_approver_cannot_approve_their_own_run(environment):
    approver = make_user("approver")
    run = make_run(environment, status="awaiting_approval", requested_by=approver)

    response = api_client(approver).post(run_url(run, "approve"))

    assert response.status_code == 409
    assert response.json() == {"detail": "A run must be approved by someone other than the person who asked for it."}
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_engineers_cannot_review_runs_even_on_their_own_environment(owner, environment, action):
    run = make_run(environment, status="awaiting_approval", requested_by=make_user())

    response = api_client(owner).post(run_url(run, action))

    assert response.status_code == 403
    assert response.json() == {"detail": "Only approvers can do this."}
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


def test_a_review_comment_is_limited_in_length(environment):
    run = make_run(environment, status="awaiting_approval")

    response = api_client(make_user("approver")).post(run_url(run, "approve"), {"comment": "x" * 2001}, format="json")

    assert response.status_code == 400
    assert "comment" in response.json()
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


# --- events ----------------------------------------------------------------------------------------


@pytest.fixture
def run_with_events(environment):
    run = make_run(environment, status="running")
    RunEvent.append(run, [("launchpad" if n == 1 else "stdout", f"line {n}", {"n": n}) for n in range(1, 8)])
    return run


def seqs(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["seq"] for event in response.json()["results"]]


def test_events_are_paginated_in_order(run_with_events):
    client = api_client(make_user())

    first = client.get(run_url(run_with_events, "events") + "?limit=3")
    second = client.get(first.json()["next"])

    assert first.json()["count"] == 7
    assert seqs(first) == [1, 2, 3]
    assert seqs(second) == [4, 5, 6]
    assert first.json()["results"][1] == {
        "seq": 2,
        "stream": "stdout",
        "message": "line 2",
        "data": {"n": 2},
        "created_at": first.json()["results"][1]["created_at"],
    }


def test_events_can_be_tailed_after_the_last_one_seen(run_with_events):
    client = api_client(make_user())
    url = run_url(run_with_events, "events")

    assert seqs(client.get(url + "?after=5")) == [6, 7]
    assert seqs(client.get(url + "?after=0")) == [1, 2, 3, 4, 5, 6, 7]
    assert seqs(client.get(url + "?after=")) == [1, 2, 3, 4, 5, 6, 7]
    assert seqs(client.get(url + "?after=7")) == []
    run_with_events.log("line 8")
    assert seqs(client.get(url + "?after=7")) == [8]


def test_a_sequence_number_beyond_any_event_is_an_empty_page(run_with_events):
    response = api_client(make_user()).get(run_url(run_with_events, "events") + "?after=99999999999999999999999")

    assert seqs(response) == []


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "1e3", "²", " 3", "3;"])
def test_tailing_after_something_other_than_a_sequence_number_is_a_400(run_with_events, after):
    response = api_client(make_user()).get(run_url(run_with_events, "events"), {"after": after})

    assert response.status_code == 400
    assert response.json() == {"after": ["Give the sequence number of the last event you have."]}


@pytest.mark.parametrize("after", ["", "0", "5"])
def test_reading_events_takes_the_same_few_queries_whatever_the_size_of_the_log(
    run_with_events, after, django_assert_max_num_queries
):
    client = api_client(make_user())
    url = run_url(run_with_events, "events") + f"?after={after}"
    client.get(url)  # the token's first use is written once; not on every request
    with CaptureQueriesContext(connection) as small:
        client.get(url)

    RunEvent.append(run_with_events, [("stdout", f"line {n}", {"n": n}) for n in range(8, 300)])
    # The token, the run (its id only), the count and the page.
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as large:
        assert len(seqs(client.get(url))) == 50

    assert len(large) == len(small)


def test_an_events_page_is_never_larger_than_the_ceiling_and_next_links_reach_every_event(run_with_events, monkeypatch):
    monkeypatch.setattr(RunEventPagination, "max_limit", 3)
    client = api_client(make_user())

    page, seen = client.get(run_url(run_with_events, "events") + "?after=1&limit=1000000").json(), []
    while True:
        assert len(page["results"]) <= 3
        seen += [event["seq"] for event in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()

    assert seen == [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("run_id", ["abc", "1.5", "99999999999999999999999"])
def test_the_events_of_a_run_id_that_is_no_number_are_a_404(run_id):
    assert api_client(make_user()).get(f"/api/v1/runs/{run_id}/events/").status_code == 404


def test_the_events_of_an_unknown_run_are_a_404():
    assert api_client(make_user()).get("/api/v1/runs/424242/events/").status_code == 404

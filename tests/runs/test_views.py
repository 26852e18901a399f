"""The run page: status, plan summary with destructive changes in red, progress, a log that streams, and the
approve / reject / cancel controls (only for those allowed, and never self-approval)."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.activity.models import ActivityEntry
from portal.runs.models import Run, RunEvent
from tests.factories import make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

SUMMARY = {
    "add": 2,
    "change": 1,
    "destroy": 1,
    "replace": 1,
    "resources": [
        {"address": "module.network.aws_vpc.this", "type": "aws_vpc", "action": "create"},
        {"address": "module.ecs.aws_ecs_service.web_api", "type": "aws_ecs_service", "action": "update"},
        {"address": "module.storage.aws_s3_bucket.audio", "type": "aws_s3_bucket", "action": "replace"},
    ],
    "stateful_losses": [
        {"address": "module.storage.aws_s3_bucket.audio", "type": "aws_s3_bucket", "action": "replace"}
    ],
}


@pytest.fixture
def owner():
    return make_user(username="owner")


@pytest.fixture
def environment(owner):
    return make_environment(owner=owner, name="feature-x")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def awaiting(environment, **fields) -> Run:
    return make_run(
        environment,
        status="awaiting_approval",
        needs_approval=True,
        approval_reasons=[
            "The plan destroys or replaces resources that hold data: module.storage.aws_s3_bucket.audio."
        ],
        plan_summary=SUMMARY,
        has_changes=True,
        encrypted_plan=b"encrypted plan bytes",
        **fields,
    )


def apply_complete(address: str, action: str = "create") -> tuple[str, str, dict]:
    """One line of ``terraform apply -json`` as the worker stores it."""
    message = f"{address}: Creation complete after 1s [id=x]"
    return (
        "stdout",
        message,
        {"type": "apply_complete", "@message": message, "hook": {"resource": {"addr": address}, "action": action}},
    )


# --- the page --------------------------------------------------------------------------------------


def test_the_run_page_shows_the_plan_with_destructive_changes_in_red(environment):
    run = awaiting(environment)

    response = client_for(make_user()).get(f"/runs/{run.pk}/")

    assert response.status_code == 200
    page = text(response)
    assert '<span class="badge status-awaiting_approval" id="run-status" data-status="awaiting_approval">' in page
    assert "+2 to add" in page and "~1 to change" in page and "-1 to destroy" in page and "±1 replaced" in page
    assert 'id="stateful-losses"' in page
    assert "<code>module.storage.aws_s3_bucket.audio</code> (replace)" in page
    destructive = [resource["address"] for resource in response.context["resources"] if resource["destructive"]]
    assert destructive == ["module.storage.aws_s3_bucket.audio"]
    assert '<article class="plan-resource destructive" data-address="module.storage.aws_s3_bucket.audio"' in page
    assert '<span class="action action-create">create</span>' in page
    assert 'data-module="module.network"' in page
    assert "The plan destroys or replaces resources that hold data" in page


def test_the_run_page_asks_for_login():
    run = make_run(make_environment())

    assert Client().get(f"/runs/{run.pk}/")["Location"].startswith("/accounts/login/")


def test_an_unknown_run_is_a_404():
    assert client_for(make_user()).get("/runs/999999/").status_code == 404


def test_the_progress_bar_counts_resources_applied_of_planned(environment):
    run = make_run(environment, status="applying", plan_summary=SUMMARY, has_changes=True)
    RunEvent.append(
        run,
        [
            ("launchpad", "Applying the plan.", None),
            apply_complete("module.network.aws_vpc.this"),
            apply_complete("module.storage.aws_s3_bucket.audio", "delete"),
            # The region's state store, made before the plan: not one of the plan's resources.
            apply_complete("aws_s3_bucket.state"),
            ("stdout", "module.ecs.aws_ecs_service.web_api: Modifying...", {"type": "apply_start"}),
        ],
    )

    response = client_for(make_user()).get(f"/runs/{run.pk}/status/")

    assert response.context["progress"] == {"done": 2, "total": 4, "percent": 50}
    assert '<progress class="progress" aria-label="Resources applied" max="4" value="2">' in text(response)
    assert "2 of 4 resources done (50%)" in text(response)


def test_a_plan_only_run_has_no_progress_bar(environment):
    run = make_run(environment, kind="plan", status="succeeded", plan_summary=SUMMARY, has_changes=True)

    response = client_for(make_user()).get(f"/runs/{run.pk}/")

    assert response.context["progress"] is None
    assert "A plan-only run: nothing is applied." in text(response)


def test_a_failed_run_shows_its_reason(environment):
    run = make_run(environment, status="failed", error="Error: creating VPC: quota exceeded")

    assert "Error: creating VPC: quota exceeded" in text(client_for(make_user()).get(f"/runs/{run.pk}/"))


def test_the_live_panel_refreshes_itself_until_the_run_ends(environment):
    run = make_run(environment, status="running")
    client = client_for(make_user())

    assert f'data-refresh="/runs/{run.pk}/status/"' in text(client.get(f"/runs/{run.pk}/"))
    assert f'data-refresh="/runs/{run.pk}/status/"' in text(client.get(f"/runs/{run.pk}/status/"))
    Run.objects.filter(pk=run.pk).update(status="succeeded")
    assert "data-refresh" not in text(client.get(f"/runs/{run.pk}/status/"))


# --- the log ---------------------------------------------------------------------------------------


def test_the_log_shows_every_line_so_far_and_where_to_tail_from(environment):
    run = make_run(environment, status="running")
    RunEvent.append(run, [("launchpad", "Planning apply.", None), ("stderr", "Warning: <deprecated>", None)])

    page = text(client_for(make_user()).get(f"/runs/{run.pk}/"))

    assert f'data-tail="/runs/{run.pk}/events/" data-after="2"' in page
    assert "Warning: &lt;deprecated&gt;" in page
    assert 'class="log-line stream-stderr" data-seq="2"' in page


def test_the_events_fragment_returns_only_the_lines_after_the_last_one_seen(environment):
    run = make_run(environment, status="running")
    RunEvent.append(run, [("launchpad", f"line {n}", None) for n in range(1, 6)])
    client = client_for(make_user())

    response = client.get(f"/runs/{run.pk}/events/?after=3")

    assert response.status_code == 200
    assert response["X-Run-Finished"] == "false"
    assert [event.seq for event in response.context["events"]] == [4, 5]
    assert "line 3<" not in text(response) and "line 5<" in text(response)
    assert text(client.get(f"/runs/{run.pk}/events/?after=5")).strip() == ""

    Run.objects.filter(pk=run.pk).update(status="succeeded")
    assert client.get(f"/runs/{run.pk}/events/?after=5")["X-Run-Finished"] == "true"


@pytest.mark.parametrize("after", ["x", "-1", "²", "1.5"])
def test_the_events_fragment_refuses_a_position_that_is_not_a_number(environment, after):
    run = make_run(environment)

    response = client_for(make_user()).get(f"/runs/{run.pk}/events/", {"after": after})

    assert response.status_code == 400


# --- approve and reject ----------------------------------------------------------------------------


def test_an_approver_sees_approve_and_reject_with_a_comment_field(environment):
    run = awaiting(environment)

    page = text(client_for(make_user("approver")).get(f"/runs/{run.pk}/"))

    assert 'id="approve-button"' in page and 'id="reject-button"' in page
    assert 'name="comment"' in page


def test_an_engineer_sees_no_approval_controls(environment, owner):
    run = awaiting(environment)

    page = text(client_for(make_user()).get(f"/runs/{run.pk}/"))

    assert 'id="approve-button"' not in page and 'id="reject-button"' not in page
    assert 'id="review-form"' not in page and 'name="comment"' not in page
    assert "An approver reviews the plan below before it is applied." in page


def test_the_requester_sees_why_they_cannot_approve_their_own_run(environment):
    approver = make_user("approver")
    run = awaiting(environment, requested_by=approver)

    page = text(client_for(approver).get(f"/runs/{run.pk}/"))

    assert 'id="approve-button"' not in page
    assert "A run must be approved by someone other than the person who asked for it." in page


def test_approving_queues_the_apply_and_records_who_approved(environment, enqueued, django_capture_on_commit_callbacks):
    run = awaiting(environment)
    approver = make_user("approver", username="reviewer")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(approver).post(f"/runs/{run.pk}/approve/", {"comment": "Bucket is empty."})

    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    run.refresh_from_db()
    assert (run.status, run.approved_by, run.review_comment) == ("queued", approver, "Bucket is empty.")
    assert enqueued == [run.pk]
    assert run.events.last().message == "Approved by reviewer. Bucket is empty."
    event = ActivityEntry.objects.get(action="run.approved")
    assert (event.actor, event.data) == (approver, {"comment": "Bucket is empty."})


def test_rejecting_ends_the_run(environment, enqueued):
    run = awaiting(environment)

    client_for(make_user("approver")).post(f"/runs/{run.pk}/reject/", {"comment": "Not now."})

    run.refresh_from_db()
    assert (run.status, run.review_comment, run.encrypted_plan) == ("rejected", "Not now.", None)
    assert ActivityEntry.objects.filter(action="run.rejected").exists()


def test_an_engineer_who_posts_an_approval_gets_a_403(environment, owner):
    run = awaiting(environment)

    assert client_for(owner).post(f"/runs/{run.pk}/approve/").status_code == 403
    assert client_for(owner).post(f"/runs/{run.pk}/reject/").status_code == 403
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


def test_approving_ones_own_run_is_refused_with_the_reason(environment, enqueued):
    approver = make_user("approver")
    run = awaiting(environment, requested_by=approver)

    response = client_for(approver).post(f"/runs/{run.pk}/approve/", follow=True)

    assert "A run must be approved by someone other than the person who asked for it." in text(response)
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"
    assert not ActivityEntry.objects.filter(action="run.approved").exists()
    assert enqueued == []


def test_approving_a_run_that_does_not_wait_is_refused_with_the_reason(environment):
    run = make_run(environment, status="succeeded")

    response = client_for(make_user("approver")).post(f"/runs/{run.pk}/approve/", follow=True)

    assert f"Cannot approve run #{run.pk}: it is succeeded." in text(response)


def test_approval_is_post_only(environment):
    run = awaiting(environment)

    assert client_for(make_user("approver")).get(f"/runs/{run.pk}/approve/").status_code == 405
    assert Run.objects.get(pk=run.pk).status == "awaiting_approval"


# --- cancel ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "awaiting_approval", "running"])
def test_the_owner_sees_cancel_while_the_run_can_be_stopped(environment, owner, status):
    run = make_run(environment, status=status)

    assert 'id="cancel-button"' in text(client_for(owner).get(f"/runs/{run.pk}/"))


@pytest.mark.parametrize("status", ["applying", "succeeded", "failed"])
def test_no_cancel_once_applying_or_finished(environment, owner, status):
    run = make_run(environment, status=status)

    assert 'id="cancel-button"' not in text(client_for(owner).get(f"/runs/{run.pk}/"))


def test_the_owner_cancels_a_queued_run(environment, owner, enqueued, django_capture_on_commit_callbacks):
    run = make_run(environment)
    waiting = make_run(environment, kind="plan")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(f"/runs/{run.pk}/cancel/", follow=True)

    assert Run.objects.get(pk=run.pk).status == "cancelled"
    assert "Run cancelled." in text(response)
    assert ActivityEntry.objects.filter(action="run.cancelled", object_id=str(run.pk)).exists()
    assert enqueued == [waiting.pk]


def test_cancelling_a_planning_run_asks_the_worker_to_stop(environment, owner):
    run = make_run(environment, status="running")

    response = client_for(owner).post(f"/runs/{run.pk}/cancel/", follow=True)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("running", True)
    assert "Cancel requested: the worker stops the plan." in text(response)


def test_someone_else_cannot_cancel_and_gets_a_403(environment):
    run = make_run(environment)

    assert client_for(make_user()).post(f"/runs/{run.pk}/cancel/").status_code == 403
    assert Run.objects.get(pk=run.pk).status == "queued"


@pytest.mark.parametrize("after", [" 3", "3;", "1e3"])
def test_the_events_fragment_refuses_with_the_sentence_of_the_api(environment, after):
    run = make_run(environment)

    response = client_for(make_user()).get(f"/runs/{run.pk}/events/", {"after": after})

    assert response.status_code == 400
    assert "Give the sequence number of the last event you have." in text(response)

"""The run page says where a run stands in a sentence, for every status ("The run is succeeded." was not one)."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from portal.runs.choices import RunStatus
from tests.factories import make_environment, make_run
from tests.runs.test_views import SUMMARY, client_for, text

pytestmark = pytest.mark.django_db

SENTENCES = {
    "queued": "The run is queued: a worker starts it when the environment's earlier runs are done.",
    "running": "Terraform is planning.",
    "awaiting_approval": "The plan waits for an approver.",
    "applying": "Terraform is applying the plan.",
    "succeeded": "The run succeeded.",
    "failed": "The run failed.",
    "cancelled": "The run was cancelled.",
    "rejected": "The run was rejected.",
}


def test_every_status_has_its_sentence():
    assert set(SENTENCES) == set(RunStatus.values)


@pytest.mark.parametrize("status", list(SENTENCES))
def test_the_run_page_states_the_runs_status_in_a_sentence(status):
    run = make_run(make_environment(), status=status)

    page = text(client_for(run.requested_by).get(f"/runs/{run.pk}/"))

    assert f'<p id="run-state" data-status="{status}">{escape(SENTENCES[status])}</p>' in page
    assert f"The run is {status}." not in page  # "The run is succeeded."


def test_an_approved_run_waiting_for_its_apply_says_so():
    run = make_run(make_environment(), status="queued", needs_approval=True)
    run.approved_at = run.created_at
    run.save()

    page = text(client_for(run.requested_by).get(f"/runs/{run.pk}/"))

    assert "The plan is approved: its apply is queued." in page


@pytest.mark.parametrize("status", ["rejected", "cancelled"])
def test_a_run_that_never_applied_shows_no_apply_progress(status):
    run = make_run(make_environment(), status=status, plan_summary=SUMMARY, has_changes=True)

    page = text(client_for(run.requested_by).get(f"/runs/{run.pk}/"))

    assert 'id="run-progress"' not in page and "resources done" not in page

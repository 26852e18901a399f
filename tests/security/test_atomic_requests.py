"""A request that changes something and then fails leaves nothing behind; one that succeeds commits, then
dispatches its run (portal/atomic_requests.py).

The database is used as the web uses it (transaction=True: real commits, on_commit callbacks run), on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.http import JsonResponse
from django.test import Client
from django.urls import include, path
from rest_framework.renderers import JSONRenderer

from portal.activity.models import ActivityEntry, record
from portal.environments.api.serializers import EnvironmentSerializer
from portal.environments.models import Environment
from portal.runs.models import Run
from tests.factories import api_client, blueprint, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db(transaction=True)

NEW = {"name": "half-done", "blueprint": "sandbox", "variables": {"vpc_cidr": "172.30.0.0/16"}, "apply": True}


@pytest.fixture
def world(monkeypatch):
    """A user whose token is made, the sandbox blueprint, and the runs handed to Celery (recorded)."""
    blueprint("sandbox")
    user = make_user()
    client = api_client(user, raise_request_exception=False)
    return {"user": user, "client": client, "enqueued": record_enqueued_runs(monkeypatch)}


def written() -> tuple[int, int, int]:
    return Environment.objects.count(), Run.objects.count(), ActivityEntry.objects.count()


def fail(*args, **kwargs):
    raise RuntimeError("failed after writing")


@pytest.mark.parametrize(
    "failing",
    [
        # The answer cannot be rendered: after the view returned, outside any atomic block of the view.
        (JSONRenderer, "render"),
        # The view fails after its own atomic block committed the environment, its run and their records.
        (EnvironmentSerializer, "to_representation"),
    ],
    ids=["rendering", "the view"],
)
def test_an_api_call_that_fails_after_writing_is_a_500_that_leaves_nothing(world, monkeypatch, failing):
    before = written()
    monkeypatch.setattr(*failing, fail)

    response = world["client"].post("/api/v1/environments/", json.dumps(NEW), content_type="application/json")

    assert response.status_code == 500
    assert written() == before
    assert world["enqueued"] == [], "a run rolled back was handed to a worker"


def test_a_page_that_fails_after_writing_is_a_500_that_leaves_nothing(world, monkeypatch):
    browser = Client(raise_request_exception=False)
    browser.force_login(world["user"])
    before = written()
    monkeypatch.setattr("portal.environments.views.messages.success", fail)

    response = browser.post(
        "/environments/new/?blueprint=sandbox",
        {"name": "half-done", "tier": "dev", "region": "eu-west-1", "var_vpc_cidr": "172.30.0.0/16", "apply": "on"},
    )

    assert response.status_code == 500
    assert written() == before
    assert world["enqueued"] == []


def test_a_call_that_succeeds_commits_and_then_hands_its_run_to_a_worker(world):
    response = world["client"].post("/api/v1/environments/", NEW, format="json")

    assert response.status_code == 201, response.content
    assert not connection.in_atomic_block
    run = Run.objects.get(environment__name="half-done")
    assert world["enqueued"] == [run.pk]


def writes_then_answers_409(request):
    record("token.created", request.user)
    return JsonResponse({"detail": "refused after writing"}, status=409)


def writes_then_fails_on_get(request):
    record("token.created", request.user)
    raise RuntimeError("failed after writing")


urlpatterns = [
    path("409/", writes_then_answers_409),
    path("get-500/", writes_then_fails_on_get),
    path("", include("portal.urls")),
]


@pytest.mark.urls(__name__)
def test_an_error_answer_to_a_change_keeps_nothing_while_reads_are_left_out_of_transactions(world):
    browser = Client(raise_request_exception=False)
    browser.force_login(world["user"])
    before = ActivityEntry.objects.count()

    assert browser.post("/409/").status_code == 409
    assert ActivityEntry.objects.count() == before
    # A GET is not wrapped (on SQLite a transaction locks out every writer): reads write nothing of their own.
    assert browser.get("/get-500/").status_code == 500
    assert ActivityEntry.objects.count() == before + 1

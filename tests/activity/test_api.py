"""The activity log over the API: /api/v1/activity/, and its former route /api/v1/audit-events/ (deprecated)
answering the same."""

from __future__ import annotations

import pytest
import yaml

from portal.activity.models import record
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db

ROUTES = ("/api/v1/activity/", "/api/v1/audit-events/")


@pytest.fixture
def entries():
    alice = make_user(username="alice")
    alpha = make_environment(owner=alice, name="alpha")
    first = record("environment.created", alpha, actor=alice, blueprint="sandbox")
    second = record("environment.updated", alpha, actor=alice, variables=["vpc_cidr"])
    return first, second


def test_both_routes_list_the_same_entries_newest_first(entries):
    client = api_client(make_user("admin"))

    answers = [client.get(route) for route in ROUTES]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert [entry["action"] for entry in answers[0].json()["results"]] == ["environment.updated", "environment.created"]


def test_both_routes_read_one_entry_and_filter_alike(entries):
    first, _ = entries
    client = api_client(make_user("admin"))

    read = [client.get(f"{route}{first.pk}/").json() for route in ROUTES]
    filtered = [client.get(route, {"action": "environment.created"}).json() for route in ROUTES]

    assert read[0] == read[1]
    assert read[0]["object_repr"] == "alpha" and read[0]["data"] == {"blueprint": "sandbox"}
    assert filtered[0] == filtered[1]
    assert [entry["id"] for entry in filtered[0]["results"]] == [first.pk]


@pytest.mark.parametrize("route", ROUTES)
def test_both_routes_are_for_admins_only(entries, route):
    assert api_client(make_user("engineer")).get(route).status_code == 403


def test_the_schema_marks_the_former_route_deprecated_and_not_the_new_one():
    paths = yaml.safe_load(api_client().get("/api/v1/schema/").content)["paths"]

    for operation in (paths["/api/v1/audit-events/"]["get"], paths["/api/v1/audit-events/{id}/"]["get"]):
        assert operation["deprecated"] is True
    for operation in (paths["/api/v1/activity/"]["get"], paths["/api/v1/activity/{id}/"]["get"]):
        assert not operation.get("deprecated")

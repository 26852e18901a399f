"""The list filters (portal/<app>/filtersets.py): one FilterSet per model serves the page and the API. A value a
filter refuses is a 400 naming the parameter in the API, and selects nothing on the page."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.activity.models import record
from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    make_environment(name="alpha")
    return make_user("admin")


@pytest.mark.parametrize(
    ("api", "page", "parameter"),
    [
        ("/api/v1/environments/", "/", "status=bogus"),
        ("/api/v1/environments/", "/", "tier=huge"),
        ("/api/v1/environments/", "/", "region=mars-1"),
        ("/api/v1/audit/findings/", "/audit/", "severity=dire"),
        ("/api/v1/audit/findings/", "/audit/", "rule=no.such-rule"),
        ("/api/v1/audit/findings/", "/audit/", "status=forgotten"),
        ("/api/v1/audit/findings/", "/audit/", "resource_kind=teapot"),
        ("/api/v1/audit/findings/", "/audit/", "first_seen_after=last-week"),
        ("/api/v1/audit/findings/export/", "/audit/export.json", "resolved_after=1999-99-99"),
    ],
)
def test_a_refused_filter_value_is_a_400_naming_it_in_the_api_and_selects_nothing_on_the_page(
    admin, api, page, parameter
):
    name = parameter.split("=")[0]
    client = Client()
    client.force_login(admin)

    answer = api_client(admin).get(f"{api}?{parameter}")
    shown = client.get(f"{page}?{parameter}")

    assert answer.status_code == 400
    assert list(answer.json()) == [name] and answer.json()[name][0]
    assert shown.status_code == 200
    if page.endswith(".json"):
        assert shown.json() == []
    else:
        assert list(shown.context["page"].object_list) == []


def test_an_environment_filter_of_a_name_nobody_has_matches_nothing_in_both(admin):
    client = Client()
    client.force_login(admin)

    assert api_client(admin).get("/api/v1/environments/?owner=nobody").json()["results"] == []
    assert list(client.get("/?owner=nobody").context["page"].object_list) == []
    assert [e["name"] for e in api_client(admin).get("/api/v1/environments/?search=LPH").json()["results"]] == ["alpha"]


def test_the_activity_api_searches_the_objects_name_like_the_page(admin):
    alpha = make_environment(name="alphabet")
    record("environment.created", alpha, actor=admin)
    client = Client()
    client.force_login(admin)

    from_api = api_client(admin).get("/api/v1/audit-events/?search=bet").json()["results"]
    from_page = client.get("/activity/?search=bet").context["page"].object_list

    assert [event["object_repr"] for event in from_api] == [event.object_repr for event in from_page] == ["alphabet"]

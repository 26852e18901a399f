"""include_destroyed, one yes/no rule wherever it is read: the environment list (page and API) and the fleet (page
and API) take true/false, 1/0 and on/off (what the page's checkbox sends); anything else is refused naming it."""

from __future__ import annotations

import re

import pytest

from portal.dashboards import status
from portal.dashboards.models import DemoTraffic
from tests.environments.test_destroy_recreate import destroyed
from tests.environments.test_views import client_for
from tests.factories import api_client, applied, make_environment, make_user

pytestmark = pytest.mark.django_db

YES = ("true", "1", "on", "TRUE", "On")
NO = ("false", "0", "off", "", "False")
NEITHER = ("banana", "yes-please", "2")


@pytest.fixture
def environments():
    make_environment(name="still-here")
    destroyed(applied(make_environment(name="long-gone")))
    return client_for(make_user()), api_client(make_user())


def text(response) -> str:
    return response.content.decode()


def listed_on_page(client, query: str) -> set[str]:
    page = client.get(f"/?{query}").content.decode()
    return set(re.findall(r'<td class="name"><a href="/environments/([\w-]+)/"', page))


def listed_by_api(api, query: str) -> set[str]:
    return {e["name"] for e in api.get(f"/api/v1/environments/?{query}").json()["results"]}


def in_fleet_page(client, query: str) -> set[str]:
    return set(re.findall(r'data-environment="([\w-]+)"', client.get(f"/fleet/?{query}").content.decode()))


def in_fleet_api(api, query: str) -> set[str]:
    return {e["environment"] for e in api.get(f"/api/v1/status/?{query}").json()["environments"]}


@pytest.mark.parametrize("value", YES)
def test_a_yes_lists_destroyed_environments_in_the_list_and_the_fleet(environments, value):
    client, api = environments
    query = f"include_destroyed={value}"
    everything = {"still-here", "long-gone"}

    assert listed_on_page(client, query) == listed_by_api(api, query) == everything
    assert in_fleet_page(client, query) == in_fleet_api(api, query) == everything


@pytest.mark.parametrize("value", NO)
def test_a_no_leaves_destroyed_environments_out_of_the_list_and_the_fleet(environments, value):
    client, api = environments
    query = f"include_destroyed={value}"

    assert listed_on_page(client, query) == listed_by_api(api, query) == {"still-here"}
    assert in_fleet_page(client, query) == in_fleet_api(api, query) == {"still-here"}


@pytest.mark.parametrize("value", NEITHER)
def test_a_value_that_is_neither_is_refused_naming_the_parameter(environments, value):
    client, api = environments
    query = f"include_destroyed={value}"

    for answer in (api.get(f"/api/v1/environments/?{query}"), api.get(f"/api/v1/status/?{query}")):
        assert answer.status_code == 400, answer.content
        assert (
            list(answer.json()) == ["include_destroyed"]
            and "not a yes or a no" in answer.json()["include_destroyed"][0]
        )
    fleet = client.get(f"/fleet/?{query}")
    assert fleet.status_code == 400 and f"include_destroyed: &#x27;{value}&#x27; is not a yes or a no" in text(fleet)
    # The list page, like each of its filters (tests/test_filtersets.py): a refused value selects nothing.
    page = client.get(f"/?{query}")
    assert page.status_code == 200 and list(page.context["page"].object_list) == []


def test_the_list_pages_checkbox_is_ticked_for_a_yes_only(environments):
    client, _ = environments
    checkbox = re.compile(r'<input type="checkbox" name="include_destroyed"[^>]*>')

    assert "checked" in checkbox.search(client.get("/?include_destroyed=on").content.decode())[0]
    assert "checked" not in checkbox.search(client.get("/?include_destroyed=off").content.decode())[0]
    assert "checked" not in checkbox.search(client.get("/").content.decode())[0]


# --- demo data: one rule for the fleet's label and a dashboard's -----------------------------------------------


def test_the_fleet_and_a_dashboard_agree_on_which_environments_hold_demo_data(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # demo data is labelled only on an emulator
    live, gone = make_environment(name="still-here"), destroyed(applied(make_environment(name="long-gone")))
    quiet = make_environment(name="no-traffic")
    for environment in (live, gone):
        DemoTraffic.objects.create(environment=environment, endpoint="http://127.0.0.1:4566")

    labelled = status.demo_environment_ids()

    assert labelled == {live.pk}
    for environment in (live, gone, quiet):
        assert status.environment_dashboard(environment).demo == (environment.pk in labelled)

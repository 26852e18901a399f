"""Destroy and re-create: an environment that holds nothing goes at once, a destroyed name is used again (the
earlier one's history stays reachable), and destroyed environments leave the list, the fleet and the menus."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from portal.activity.models import ActivityEntry
from portal.dashboards.models import DemoTraffic
from portal.dashboards.status import demo_environment_ids
from portal.environments.models import Environment, LifecycleError
from portal.environments.services import HISTORY_RUNS
from portal.runs.models import Run
from tests.environments.test_views import NEW_SANDBOX, client_for, sandbox_form
from tests.factories import api_client, applied, make_environment, make_run, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db
ENVIRONMENTS = "/api/v1/environments/"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    return record_enqueued_runs(monkeypatch)


def destroyed(environment: Environment) -> Environment:
    """``environment`` as its destroy run leaves it (Environment.destroyed)."""
    environment.destroyed()
    return environment


# --- deleted at once -------------------------------------------------------------------------------------------
def test_the_readme_example_create_destroy_and_create_alice_sandbox_again(django_capture_on_commit_callbacks):
    client = api_client(make_user())
    definition = {
        "name": "alice-sandbox",
        "blueprint": "sandbox",
        "tier": "dev",
        "variables": {"vpc_cidr": "10.42.0.0/16"},
    }
    first = client.post(ENVIRONMENTS, definition, format="json")
    assert first.status_code == 201, first.content

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"{ENVIRONMENTS}alice-sandbox/")
    again = client.post(ENVIRONMENTS, definition, format="json")

    assert (deleted.status_code, deleted.json()["status"]) == (200, "succeeded")
    assert again.status_code == 201, again.content
    assert client.get(f"{ENVIRONMENTS}alice-sandbox/").json()["status"] == "new"
    earlier = Environment.objects.get(name="alice-sandbox", status="destroyed")
    # Its first apply, queued but never taken, was cancelled: nothing of it was ever applied.
    assert list(earlier.runs.values_list("kind", "status").order_by("id")) == [
        ("apply", "cancelled"),
        ("destroy", "succeeded"),
    ]


def test_a_never_applied_staging_environment_is_deleted_at_once_without_terraform_or_an_approver(
    enqueued, django_capture_on_commit_callbacks
):
    owner = make_user()
    environment = make_environment(owner=owner, name="stage-new", tier="staging", vpc_cidr="10.77.0.0/16")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).delete(f"{ENVIRONMENTS}stage-new/")

    assert response.status_code == 200, response.content
    run = Run.objects.get(environment=environment)
    assert (run.kind, run.status, run.needs_approval, run.approved_by) == ("destroy", "succeeded", False, None)
    assert "deleted at once, without Terraform or an approver" in run.events.last().message
    assert enqueued == []  # no worker, no Terraform
    environment.refresh_from_db()
    assert environment.status == "destroyed" and environment.destroyed_at is not None
    entry = ActivityEntry.objects.get(action="environment.destroyed")
    assert (entry.actor, entry.data["without_terraform"]) == (owner, True)
    # Its network is free again.
    assert make_environment(name="stage-next", vpc_cidr="10.77.0.0/16").vpc_cidr == "10.77.0.0/16"


def test_an_environment_a_worker_is_planning_is_destroyed_through_terraform(
    enqueued, django_capture_on_commit_callbacks
):
    owner = make_user()
    environment = make_environment(owner=owner, name="being-made")
    make_run(environment, kind="apply", status="running")

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).delete(f"{ENVIRONMENTS}being-made/")

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert Environment.objects.get(pk=environment.pk).status == "new"


def test_the_destroy_page_of_a_never_applied_environment_deletes_it_and_shows_the_list():
    owner = make_user()
    make_environment(owner=owner, name="feature-new")
    client = client_for(owner)

    outlook = client.get("/environments/feature-new/destroy/").content.decode()
    response = client.post("/environments/feature-new/destroy/", {"confirm_name": "feature-new"}, follow=True)

    assert "it is deleted at once, without Terraform or an approver" in outlook
    assert response.redirect_chain == [("/", 302)]
    page = response.content.decode()
    assert "feature-new is deleted: nothing of it was ever applied." in page
    assert 'href="/environments/feature-new/"' not in page


@pytest.mark.parametrize(
    ("tier", "owner_asks", "outlook"),
    [
        ("dev", True, "You destroy it alone"),
        ("dev", False, "someone other than you approves it"),
        ("staging", True, "Staging environments need an approver"),
    ],
)
def test_the_destroy_page_says_beforehand_whether_an_approver_is_needed(tier, owner_asks, outlook):
    owner = make_user()
    applied(make_environment(owner=owner, name="feature-y", tier=tier))

    page = client_for(owner if owner_asks else make_user("admin")).get("/environments/feature-y/destroy/")

    assert outlook in page.content.decode()


# --- the name used again ---------------------------------------------------------------------------------------
def test_a_destroyed_name_is_used_again_and_the_new_environment_starts_from_its_own_empty_state():
    earlier = destroyed(applied(make_environment(name="alice-sandbox")))

    response = api_client(make_user()).post(
        ENVIRONMENTS, {"name": "alice-sandbox", "blueprint": "sandbox"}, format="json"
    )

    assert response.status_code == 201, response.content
    again = Environment.objects.get(name="alice-sandbox", status="new")
    assert (earlier.state_key, again.state_key) == (
        "environments/alice-sandbox/1/terraform.tfstate",
        "environments/alice-sandbox/2/terraform.tfstate",
    )


def test_a_live_name_is_still_refused_and_the_database_itself_refuses_two_live_environments_of_one_name():
    make_environment(name="taken")

    response = api_client(make_user()).post(ENVIRONMENTS, {"name": "taken", "blueprint": "sandbox"}, format="json")

    assert response.status_code == 400
    assert response.json()["name"] == ["An environment called 'taken' already exists."]
    twin = Environment.objects.get(name="taken")
    twin.pk, twin.state_key = None, "environments/taken/2/terraform.tfstate"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_the_name_means_the_live_environment_and_the_earlier_ones_history_stays_reachable():
    user = make_user()
    earlier = destroyed(applied(make_environment(name="alice-sandbox")))
    earlier_run = make_run(earlier, kind="destroy", status="succeeded")
    current = make_environment(name="alice-sandbox", owner=user)
    client, api = client_for(user), api_client(user)

    detail = client.get("/environments/alice-sandbox/").content.decode()
    history = client.get("/environments/alice-sandbox/history/").content.decode()
    listed = api.get(f"{ENVIRONMENTS}alice-sandbox/history/").json()["results"]

    assert api.get(f"{ENVIRONMENTS}alice-sandbox/").json()["status"] == "new"
    assert 'href="/environments/alice-sandbox/history/"' in detail and "1 earlier environment called" in detail
    assert re.findall(r'id="environment-(\d+)"', history) == [str(current.pk), str(earlier.pk)]
    assert f'href="/runs/{earlier_run.pk}/"' in history
    assert [(e["id"], e["status"]) for e in listed] == [(current.pk, "new"), (earlier.pk, "destroyed")]
    assert listed[1]["runs"][0]["id"] == earlier_run.pk
    assert api.get(f"/api/v1/runs/{earlier_run.pk}/").status_code == 200
    assert api.get(f"{ENVIRONMENTS}never-was/history/").status_code == 404
    assert client.get("/environments/never-was/history/").status_code == 404


def test_the_history_is_a_bounded_page_each_environment_with_its_newest_runs_and_every_run_a_link_away():
    user = make_user()
    earlier = destroyed(applied(make_environment(name="busy-name", owner=user)))
    runs = [make_run(earlier, kind="plan", status="succeeded") for _ in range(25)]
    current = make_environment(name="busy-name", owner=user)
    client, api = client_for(user), api_client(user)

    first = api.get(f"{ENVIRONMENTS}busy-name/history/", {"limit": 1}).json()
    second = api.get(first["next"]).json()
    page = client.get("/environments/busy-name/history/").content.decode()
    every = client.get(f"/environments/busy-name/history/?environment={earlier.pk}").content.decode()

    assert (first["count"], [e["id"] for e in first["results"]]) == (2, [current.pk])
    [entry] = second["results"]
    assert (entry["id"], entry["runs_count"], len(entry["runs"])) == (earlier.pk, 25, HISTORY_RUNS)
    assert [run["id"] for run in entry["runs"]] == [run.pk for run in reversed(runs)][:HISTORY_RUNS]
    assert len(re.findall(r'href="/runs/\d+/"', page)) == HISTORY_RUNS
    assert f"The newest {HISTORY_RUNS} of its 25 runs." in page and f'href="?environment={earlier.pk}"' in page
    assert set(re.findall(r'href="/runs/(\d+)/"', every)) == {str(run.pk) for run in runs}
    assert client.get("/environments/busy-name/history/?environment=x").status_code == 404


def test_a_destroyed_name_without_a_successor_still_opens_the_destroyed_environment():
    user = make_user()
    destroyed(applied(make_environment(name="gone-for-good", owner=user)))

    assert client_for(user).get("/environments/gone-for-good/").status_code == 200
    assert api_client(user).get(f"{ENVIRONMENTS}gone-for-good/").json()["status"] == "destroyed"


def test_an_earlier_environment_is_not_applied_again_once_a_newer_one_holds_its_name():
    earlier = destroyed(applied(make_environment(name="alice-sandbox")))
    make_environment(name="alice-sandbox")

    with pytest.raises(LifecycleError, match="alice-sandbox is destroyed: a newer environment carries the name now"):
        earlier.begin_provisioning()


def test_a_name_is_used_again_after_an_administrator_deleted_one_of_its_earlier_environments():
    owner = make_user()
    first = destroyed(applied(make_environment(name="alice-sandbox", owner=owner)))
    second = destroyed(applied(make_environment(name="alice-sandbox", owner=owner)))
    first.delete()

    response = api_client(owner).post(
        ENVIRONMENTS, {"name": "alice-sandbox", "blueprint": "sandbox", "tier": "dev", "apply": False}, format="json"
    )

    assert response.status_code == 201, response.content
    third = Environment.objects.named("alice-sandbox").get()
    assert second.state_key == "environments/alice-sandbox/2/terraform.tfstate"
    assert third.state_key == "environments/alice-sandbox/3/terraform.tfstate"


def test_a_name_is_refused_while_its_destroyed_environment_s_secrets_can_still_be_recovered():
    owner = make_user()
    earlier = applied(make_environment(name="alice-sandbox", owner=owner, secret_recovery_window_days=7))
    make_run(earlier, kind="destroy", status="succeeded", has_changes=True)
    destroyed(earlier)
    until = earlier.destroyed_at + timedelta(days=7)
    definition = {"name": "alice-sandbox", "blueprint": "sandbox", "tier": "dev", "apply": False}

    response = api_client(owner).post(ENVIRONMENTS, definition, format="json")
    page = client_for(owner).post(NEW_SANDBOX, sandbox_form(name="alice-sandbox"))

    sentence = (
        "The destroyed alice-sandbox's secrets can be recovered for 7 days after its destroy "
        "(secret_recovery_window_days), and AWS keeps their names meanwhile: the name alice-sandbox is free again "
        f"at {until:%Y-%m-%d %H:%M} UTC. Choose another name until then."
    )
    assert response.status_code == 400
    assert response.json() == {"name": [sentence]}
    assert sentence.replace("'", "&#x27;") in page.content.decode()
    assert Environment.objects.filter(name="alice-sandbox").count() == 1
    Environment.objects.filter(pk=earlier.pk).update(destroyed_at=earlier.destroyed_at - timedelta(days=7))
    assert api_client(owner).post(ENVIRONMENTS, definition, format="json").status_code == 201


def test_a_name_whose_environment_was_deleted_before_anything_was_applied_is_free_at_once():
    owner = make_user()
    make_environment(name="alice-sandbox", owner=owner, secret_recovery_window_days=7)
    definition = {"name": "alice-sandbox", "blueprint": "sandbox", "tier": "dev", "apply": False}

    assert api_client(owner).delete(f"{ENVIRONMENTS}alice-sandbox/").status_code == 200

    assert api_client(owner).post(ENVIRONMENTS, definition, format="json").status_code == 201


@pytest.mark.parametrize("kind", ["plan", "apply"])
def test_a_destroyed_environment_is_neither_planned_nor_applied_again_its_network_may_be_another_s(kind):
    owner = make_user()
    bob_two = destroyed(applied(make_environment(name="bob-two", owner=owner, vpc_cidr="10.1.0.0/16")))
    make_environment(name="bob-three", owner=owner, vpc_cidr="10.1.0.0/16")

    response = api_client(owner).post(f"{ENVIRONMENTS}bob-two/runs/", {"kind": kind}, format="json")
    page = client_for(owner).post("/environments/bob-two/runs/", {"kind": kind})

    assert response.status_code == 409
    assert response.json() == {"detail": "bob-two is destroyed: create a new environment (the name is free again)."}
    assert page.status_code == 409
    assert "bob-two is destroyed: create a new environment (the name is free again)." in page.content.decode()
    assert not Run.objects.filter(environment=bob_two).exists()


def test_a_destroyed_environment_s_page_offers_no_plan_apply_nor_expiry():
    owner = make_user()
    environment = applied(make_environment(name="bob-two", owner=owner))
    assert environment.expires_at is not None  # a sandbox lives 72 hours unless told otherwise
    live_page = client_for(owner).get("/environments/bob-two/").content.decode()
    destroyed(environment)

    page = client_for(owner).get("/environments/bob-two/").content.decode()

    for part in ('id="plan-button"', 'id="apply-button"', 'id="environment-expires"'):
        assert part in live_page
        assert part not in page


# --- hidden unless asked for -----------------------------------------------------------------------------------
@pytest.fixture
def one_of_each():
    live = make_environment(name="still-here")
    gone = destroyed(applied(make_environment(name="long-gone")))
    return live, gone


def test_the_list_leaves_destroyed_environments_out_unless_asked_for(one_of_each):
    client, api = client_for(make_user()), api_client(make_user())

    def page(query=""):
        return set(
            re.findall(r'<td class="name"><a href="/environments/([\w-]+)/"', client.get(f"/{query}").content.decode())
        )

    def listed(query=""):
        return {e["name"] for e in api.get(f"{ENVIRONMENTS}{query}").json()["results"]}

    assert page() == listed() == {"still-here"}
    assert page("?include_destroyed=true") == listed("?include_destroyed=true") == {"still-here", "long-gone"}
    assert page("?status=destroyed") == listed("?status=destroyed") == {"long-gone"}


def test_the_fleet_neither_shows_nor_counts_destroyed_environments_unless_asked_for(one_of_each):
    client, api = client_for(make_user()), api_client(make_user())

    fleet = client.get("/fleet/").content.decode()
    everything = client.get("/fleet/?include_destroyed=true").content.decode()
    counted = api.get("/api/v1/status/").json()

    assert "Not ready 1" in fleet and 'data-environment="long-gone"' not in fleet
    assert "Not ready 2" in everything and 'data-environment="long-gone"' in everything
    assert counted["counts"]["not_ready"] == 1
    assert [e["environment"] for e in counted["environments"]] == ["still-here"]
    assert api.get("/api/v1/status/?include_destroyed=true").json()["counts"]["not_ready"] == 2


def test_the_audits_scope_menus_leave_destroyed_environments_out(one_of_each):
    page = client_for(make_user("admin")).get("/audit/").content.decode()

    assert '<option value="still-here">' in page
    assert '<option value="long-gone">' not in page


def test_a_destroyed_environment_is_no_longer_badged_demo_data(one_of_each, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # demo data is labelled only on an emulator
    live, gone = one_of_each
    for environment in (live, gone):
        DemoTraffic.objects.create(environment=environment, endpoint="http://127.0.0.1:4566")

    assert demo_environment_ids() == {live.pk}

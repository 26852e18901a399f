"""The environments API: definitions validated before anything is written, runs queued after commit, no secrets out."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.activity.models import ActivityEntry
from portal.environments.models import DriftCheck, Environment
from portal.runs.api.pagination import BoundedLimitOffsetPagination
from portal.runs.models import Run, RunEvent
from tests.factories import api_client, applied, make_environment, make_run, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db

ENVIRONMENTS = "/api/v1/environments/"
BLUEPRINTS = "/api/v1/blueprints/"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """The run ids given to ``execute_run.delay``, which alone is replaced by a recorder so no task reaches a broker.

    Everything else is real: the database, the on-commit dispatch, the choice of the run to start.
    """
    return record_enqueued_runs(monkeypatch)


def definition(**changes) -> dict:
    body = {"name": "feature-x", "blueprint": "sandbox", "tier": "dev", "region": "eu-west-1"}
    body["variables"] = {"vpc_cidr": "172.20.0.0/16", "web_api_desired_count": 2}
    body.update(changes)
    return body


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [environment["name"] for environment in response.json()["results"]]


# --- listing ---------------------------------------------------------------------------------------


def test_environments_are_listed_with_their_owner_and_last_run():
    alice = make_user(username="alice")
    environment = make_environment(owner=alice, name="alpha")
    run = make_run(environment, kind="plan")

    [listed] = api_client(make_user()).get(ENVIRONMENTS).json()["results"]

    assert listed["name"] == "alpha"
    assert listed["owner"] == "alice"
    assert listed["blueprint"] == "sandbox"
    assert listed["last_run"]["id"] == run.pk
    assert listed["last_run"]["kind"] == "plan"


def environments_with_history(count: int, start: int = 0) -> list[Environment]:
    """``count`` environments, each with three runs and two drift checks (one asked by a user, one scheduled)."""
    made = []
    for number in range(start, start + count):
        environment = make_environment(name=f"env-{number:03d}")
        for kind in ("apply", "plan", "destroy"):
            make_run(environment, kind=kind, status="succeeded")
        DriftCheck.objects.create(environment=environment, status="clean", requested_by=environment.owner)
        DriftCheck.objects.create(environment=environment, status="drifted", resources=[])
        made.append(environment)
    return made


def test_the_list_shows_the_same_newest_run_and_drift_check_as_each_environment_does():
    environments_with_history(3)
    make_environment(name="no-history")
    tied = make_environment(name="tied")  # two runs made in the same instant: the later id is the newest
    first = make_run(tied, kind="plan")
    make_run(tied, kind="apply", created_at=first.created_at)
    client = api_client(make_user())

    listed = client.get(ENVIRONMENTS).json()["results"]

    assert len(listed) == 5
    for row in listed:
        detail = client.get(f"{ENVIRONMENTS}{row['name']}/").json()
        assert (row["last_run"], row["last_drift_check"]) == (detail["last_run"], detail["last_drift_check"])
    by_name = {row["name"]: row for row in listed}
    assert by_name["no-history"]["last_run"] is None and by_name["no-history"]["last_drift_check"] is None
    assert by_name["tied"]["last_run"]["kind"] == "apply"
    newest = by_name["env-001"]
    assert newest["last_run"]["kind"] == "destroy"
    assert newest["last_drift_check"]["status"] == "drifted"
    assert newest["last_drift_check"]["requested_by"] == "launchpad"
    assert newest["last_drift_check"]["environment"] == "env-001"


def test_listing_environments_takes_the_same_few_queries_whatever_their_number(django_assert_max_num_queries):
    client = api_client(make_user())
    environments_with_history(2)
    client.get(ENVIRONMENTS)  # the token's first use is written once; not on every request
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(ENVIRONMENTS).json()["results"]) == 2

    environments_with_history(10, start=2)
    # The token, the count, the page, the newest runs, drift checks and the open high findings of the whole page.
    with django_assert_max_num_queries(6), CaptureQueriesContext(connection) as many:
        assert len(client.get(ENVIRONMENTS).json()["results"]) == 12

    assert len(many) == len(few)


def test_a_list_page_is_never_larger_than_the_ceiling_and_next_links_reach_every_environment(monkeypatch):
    monkeypatch.setattr(BoundedLimitOffsetPagination, "max_limit", 3)
    for number in range(7):
        make_environment(name=f"env-{number}")
    client = api_client(make_user())

    page, seen = client.get(ENVIRONMENTS + "?limit=1000000").json(), []
    while True:
        assert len(page["results"]) <= 3
        seen += [row["name"] for row in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()

    assert page["count"] == 7
    assert seen == [f"env-{number}" for number in range(7)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["alpha", "beta", "gamma", "prod-one"]),
        ("?status=ready", ["beta"]),
        ("?tier=prod", ["prod-one"]),
        ("?blueprint=full", ["gamma"]),
        ("?owner=bob", ["beta", "gamma"]),
        ("?search=ET", ["beta"]),
        ("?search=a&owner=bob", ["beta", "gamma"]),
        ("?status=destroyed", []),
    ],
)
def test_environments_can_be_filtered(query, expected):
    alice, bob = make_user(username="alice"), make_user(username="bob")
    make_environment(owner=alice, name="alpha")
    make_environment(owner=bob, name="beta")
    make_environment(owner=bob, name="gamma", blueprint_name="full")
    make_environment(owner=alice, name="prod-one", tier="prod")
    Environment.objects.filter(name="beta").update(status="ready")

    assert names(api_client(alice).get(ENVIRONMENTS + query)) == expected


# --- creating --------------------------------------------------------------------------------------


def test_creating_an_environment_queues_an_apply_run_dispatched_after_commit(
    enqueued, django_capture_on_commit_callbacks
):
    alice = make_user(username="alice")
    client = api_client(alice, REMOTE_ADDR="203.0.113.9")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ENVIRONMENTS, definition(), format="json")
        assert enqueued == []  # nothing leaves before the transaction commits

    assert response.status_code == 201, response.content
    environment = Environment.objects.get(name="feature-x")
    run = Run.objects.get(environment=environment)
    assert (run.kind, run.status, run.requested_by) == ("apply", "queued", alice)
    assert enqueued == [run.pk]
    assert environment.owner == alice
    assert environment.status == "new"
    assert environment.variables == {"vpc_cidr": "172.20.0.0/16", "web_api_desired_count": 2}
    body = response.json()
    assert body["owner"] == "alice"
    assert body["last_run"]["id"] == run.pk
    assert "apply" not in body


def test_creating_an_environment_is_recorded_with_the_clients_address():
    alice = make_user(username="alice")

    api_client(alice, REMOTE_ADDR="203.0.113.9").post(
        ENVIRONMENTS, definition(), format="json", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )

    created = ActivityEntry.objects.get(action="environment.created")
    assert (created.actor, created.object_repr, created.ip_address) == (alice, "feature-x", "203.0.113.9")
    assert created.data == {"blueprint": "sandbox"}
    requested = ActivityEntry.objects.get(action="run.apply.requested")
    assert requested.ip_address == "203.0.113.9"


def test_an_environment_created_without_apply_has_no_run(enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(make_user()).post(ENVIRONMENTS, definition(apply=False), format="json")

    assert response.status_code == 201
    assert not Run.objects.exists()
    assert enqueued == []
    assert response.json()["last_run"] is None


def test_defaults_fill_tier_region_and_variables():
    response = api_client(make_user()).post(ENVIRONMENTS, {"name": "bare", "blueprint": "sandbox"}, format="json")

    assert response.status_code == 201, response.content
    # No vpc_cidr given: the first free block of the region's pool (LAUNCHPAD_NETWORK_POOLS, 10.0.0.0/8 in /16s).
    assert (response.json()["tier"], response.json()["region"], response.json()["variables"]) == (
        "dev",
        "eu-west-1",
        {"vpc_cidr": "10.0.0.0/16"},
    )
    assert response.json()["vpc_cidr"] == "10.0.0.0/16"


HOSTILE = ["a;rm -rf /", "$(id)", "`id`", "../../etc", '"}\nresource "x" {', 'x" || true #', "a\x00b"]

INVALID_DEFINITIONS = [
    pytest.param({"name": "ab"}, "name", "3-20 characters", id="name too short"),
    pytest.param({"name": "Feature"}, "name", "lowercase letters", id="name in capitals"),
    pytest.param({"name": "9lives"}, "name", "starting with a letter", id="name starting with a digit"),
    pytest.param({"name": "a" * 21}, "name", "no more than 20 characters", id="name too long"),
    pytest.param({"name": "taken"}, "name", "An environment called 'taken' already exists.", id="duplicate name"),
    pytest.param({"name": ""}, "name", "may not be blank", id="empty name"),
    *(pytest.param({"name": value}, "name", "", id=f"hostile name {value!r}") for value in HOSTILE),
    pytest.param({"variables": {"vpc_cidr": "10.0.0.0/8"}}, "vpc_cidr", "use a block from /16 to /24", id="cidr /8"),
    pytest.param({"variables": {"vpc_cidr": "10.1.0.1/16"}}, "vpc_cidr", "not a valid IPv4 CIDR", id="cidr host bits"),
    pytest.param({"variables": {"vpc_cidr": "banana"}}, "vpc_cidr", "not a valid IPv4 CIDR", id="cidr not an address"),
    pytest.param(
        {"variables": {"vpc_cidr": "172.30.128.0/20"}}, "vpc_cidr", "overlaps taken's 172.30.0.0/16", id="cidr overlap"
    ),
    *(
        pytest.param(
            {"variables": {"vpc_cidr": f"10.0.0.0/16{value}"}},
            "vpc_cidr",
            "is not a valid IPv4 CIDR block",
            id=f"hostile cidr {value!r}",
        )
        for value in HOSTILE
    ),
    pytest.param({"variables": {"no_such": 1}}, "variables", "no_such: the sandbox blueprint has no such variable."),
    pytest.param(
        {"variables": {'"}\nresource "aws_iam_user" "x" {\n#': "1"}}, "variables", "has no such variable", id="hcl key"
    ),
    pytest.param({"variables": {"../../etc/passwd": "x"}}, "variables", "has no such variable", id="path key"),
    pytest.param({"variables": {"web_api_desired_count": "two"}}, "variables", "must be a number", id="number"),
    pytest.param({"variables": {"web_api_desired_count": "$(id)"}}, "variables", "must be a number", id="hostile num"),
    pytest.param({"variables": {"web_api_desired_count": True}}, "variables", "must be a number", id="bool as num"),
    pytest.param({"variables": {"force_destroy_data": "yes"}}, "variables", "must be true or false", id="bool"),
    pytest.param(
        {"variables": {"force_destroy_data": '{"x": true}'}}, "variables", "must be true or false", id="json in bool"
    ),
    pytest.param({"variables": {"tags": ["a"]}}, "variables", "tags must be an object", id="map as list"),
    pytest.param({"variables": {"tags": {"team": {"x": 1}}}}, "variables", "tags.team must be a string", id="map"),
    pytest.param({"variables": {"image_tag": 7}}, "variables", "image_tag must be a string", id="string"),
    pytest.param({"variables": {"db_password": "x" * 32}}, "variables", "db_password: set by Launchpad", id="secret"),
    pytest.param({"variables": {"environment": "other"}}, "variables", "environment: set by Launchpad", id="managed"),
    pytest.param({"variables": {"aws_endpoint_url": "http://evil"}}, "variables", "set by Launchpad", id="endpoint"),
    pytest.param({"variables": [1, 2]}, "variables", "Variables must be an object", id="list variables"),
    pytest.param({"variables": "vpc_cidr=10.0.0.0/16"}, "variables", "Variables must be an object", id="str variables"),
    pytest.param({"variables": None}, "variables", "may not be null", id="null variables"),
    pytest.param({"blueprint": "nope"}, "blueprint", "does not exist", id="unknown blueprint"),
    pytest.param({"blueprint": "../full"}, "blueprint", "does not exist", id="path blueprint"),
    pytest.param({"tier": "qa"}, "tier", "is not a valid choice", id="tier"),
    pytest.param({"region": "mars-north-1"}, "region", "is not a valid choice", id="region"),
    pytest.param({"region": "eu-west-1; id"}, "region", "is not a valid choice", id="hostile region"),
    pytest.param({"apply": "sometimes"}, "apply", "Must be a valid boolean", id="apply"),
]


@pytest.mark.parametrize(("changes", "field", "message"), INVALID_DEFINITIONS)
def test_an_invalid_definition_is_a_400_naming_the_field_and_nothing_is_written(
    changes, field, message, enqueued, django_capture_on_commit_callbacks
):
    make_environment(name="taken", vpc_cidr="172.30.0.0/16")
    before = Environment.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(make_user()).post(ENVIRONMENTS, definition(**changes), format="json")

    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert Environment.objects.count() == before
    assert not Run.objects.exists()
    assert not RunEvent.objects.exists()
    assert not ActivityEntry.objects.exists()
    assert enqueued == []


def test_values_the_blueprints_rules_refuse_are_a_400_with_each_rules_message_and_nothing_is_created(enqueued):
    variables = {"web_api_desired_count": -1, "container_port": 99999, "log_level": "verbose-nonsense"}

    response = api_client(make_user()).post(
        ENVIRONMENTS, definition(variables={**variables, "log_retention_days": 8}), format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "web_api_desired_count": ["The web-api task count must be a whole number from 0 to 100."],
        "container_port": ["The container port must be from 1024 to 65535."],
        "log_level": ["The log level must be debug, info, warning or error."],
        "log_retention_days": [
            "The log retention must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
            "400, 545, 731, 1827 or 3653 days."
        ],
    }
    assert not Environment.objects.exists()
    assert not Run.objects.exists()
    assert enqueued == []


def test_every_problem_of_a_definition_is_reported_in_one_400():
    response = api_client(make_user()).post(
        ENVIRONMENTS,
        definition(name="x", variables={"vpc_cidr": "10.0.0.0/16", "no_such": 1, "log_level": 3}),
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert "name" in errors
    assert "no_such: the sandbox blueprint has no such variable." in errors["variables"]
    assert "log_level must be a string." in errors["variables"]


def created_and_read_back(body: dict) -> tuple[str, str, dict]:
    """POST ``body`` (a 201 expected), then GET the new environment: its region, status and variables."""
    client = api_client(make_user())
    response = client.post(ENVIRONMENTS, body, format="json")
    assert response.status_code == 201, response.content
    created = client.get(f"{ENVIRONMENTS}{body['name']}/").json()
    return created["region"], created["status"], created["variables"]


def test_a_destroyed_environment_frees_its_cidr():
    make_environment(name="old", vpc_cidr="172.30.0.0/16")
    Environment.objects.filter(name="old").update(status="destroyed")

    created = created_and_read_back(definition(variables={"vpc_cidr": "172.30.0.0/16"}))

    assert created == ("eu-west-1", "new", {"vpc_cidr": "172.30.0.0/16"})
    assert Environment.objects.get(name="old").status == "destroyed"


def test_the_same_cidr_in_another_region_is_allowed():
    make_environment(name="ireland", vpc_cidr="172.30.0.0/16")

    created = created_and_read_back(definition(region="us-east-1", variables={"vpc_cidr": "172.30.0.0/16"}))

    assert created == ("us-east-1", "new", {"vpc_cidr": "172.30.0.0/16"})
    assert Environment.objects.get(name="ireland").region == "eu-west-1"


# --- changing variables ----------------------------------------------------------------------------


def test_patching_settings_merges_them_null_removes_one_and_queues_the_run_that_applies_them(
    enqueued, django_capture_on_commit_callbacks
):
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="172.20.0.0/16", web_api_desired_count=2)
    url = f"{ENVIRONMENTS}{environment.name}/"

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner).patch(
            url, {"variables": {"workers_desired_count": 3, "web_api_desired_count": None}}, format="json"
        )

    assert response.status_code == 202, response.content
    run = Run.objects.get()
    assert (response.json()["id"], run.kind, run.status, run.requested_by) == (run.pk, "apply", "queued", owner)
    assert enqueued == [run.pk]
    environment.refresh_from_db()
    assert environment.variables == {"vpc_cidr": "172.20.0.0/16", "workers_desired_count": 3}
    changed = ActivityEntry.objects.get(action="environment.settings_changed")
    assert changed.data == {
        "changes": {
            "web_api_desired_count": {"before": 2, "after": 1},
            "workers_desired_count": {"before": 1, "after": 3},
        }
    }


def test_patching_the_network_to_null_keeps_the_environment_s_block_rather_than_replacing_its_network():
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="10.1.0.0/16")

    response = api_client(owner).patch(
        f"{ENVIRONMENTS}{environment.name}/", {"variables": {"vpc_cidr": None}, "apply": False}, format="json"
    )

    assert response.status_code == 202, response.content
    environment.refresh_from_db()
    assert environment.variables == {"vpc_cidr": "10.1.0.0/16"}
    assert ActivityEntry.objects.get(action="environment.settings_changed").data == {"changes": {}}


def test_patching_settings_with_apply_false_queues_a_plan_only():
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="172.20.0.0/16")

    response = api_client(owner).patch(
        f"{ENVIRONMENTS}{environment.name}/", {"variables": {"log_level": "debug"}, "apply": False}, format="json"
    )

    assert response.status_code == 202, response.content
    assert Run.objects.get().kind == "plan"


@pytest.mark.parametrize("status", ["destroyed", "provisioning", "destroying"])
def test_settings_cannot_change_once_destroyed_or_while_being_changed(status):
    owner = make_user()
    environment = make_environment(owner=owner, log_level="info")
    Environment.objects.filter(pk=environment.pk).update(status=status)

    response = api_client(owner).patch(
        f"{ENVIRONMENTS}{environment.name}/", {"variables": {"log_level": "debug"}}, format="json"
    )

    assert response.status_code == 409, response.content
    assert "its settings cannot change" in response.json()["detail"]
    environment.refresh_from_db()
    assert environment.variables["log_level"] == "info"
    assert not Run.objects.exists()


def test_settings_cannot_change_while_a_run_is_under_way():
    owner = make_user()
    environment = make_environment(owner=owner)
    run = make_run(environment, kind="plan")

    response = api_client(owner).patch(
        f"{ENVIRONMENTS}{environment.name}/", {"variables": {"log_level": "debug"}}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["detail"] == (
        f"Plan run #{run.pk} of {environment.name} is queued: change the settings once it has ended."
    )
    assert Run.objects.count() == 1


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"web_api_desired_count": "many"}, "variables", "web_api_desired_count must be a number."),
        ({"db_password": "chosen-by-hand-1234"}, "variables", "db_password: set by Launchpad, not by hand."),
        ({"nope": 1}, "variables", "nope: the sandbox blueprint has no such variable."),
        ({"vpc_cidr": "172.31.0.0/16"}, "vpc_cidr", "overlaps neighbour's 172.31.0.0/16"),
        ({"vpc_cidr": "172.0.0.0/8"}, "vpc_cidr", "use a block from /16 to /24"),
        ({"log_level": "verbose-nonsense"}, "log_level", "The log level must be debug, info, warning or error."),
        ([1, 2], "variables", "Variables must be an object"),
        ("vpc_cidr=10.0.0.0/16", "variables", "Variables must be an object"),
        (None, "variables", "may not be null"),
    ],
)
def test_patched_variables_are_validated_and_a_refusal_changes_nothing(variables, field, message):
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="172.20.0.0/16", web_api_desired_count=2)
    make_environment(name="neighbour", vpc_cidr="172.31.0.0/16")

    response = api_client(owner).patch(f"{ENVIRONMENTS}{environment.name}/", {"variables": variables}, format="json")

    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    environment.refresh_from_db()
    assert environment.variables == {"vpc_cidr": "172.20.0.0/16", "web_api_desired_count": 2}
    assert not ActivityEntry.objects.exists()
    assert not Run.objects.exists()


def test_patch_without_variables_is_a_400():
    owner = make_user()
    environment = make_environment(owner=owner)

    response = api_client(owner).patch(f"{ENVIRONMENTS}{environment.name}/", {"tier": "prod"}, format="json")

    assert response.status_code == 400
    assert "variables" in response.json()
    environment.refresh_from_db()
    assert environment.tier == "dev"


# --- deleting --------------------------------------------------------------------------------------


def test_deleting_an_applied_environment_queues_a_destroy_run(enqueued, django_capture_on_commit_callbacks):
    owner = make_user()
    environment = applied(make_environment(owner=owner))

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(owner, REMOTE_ADDR="203.0.113.4").delete(f"{ENVIRONMENTS}{environment.name}/")

    assert response.status_code == 202, response.content
    run = Run.objects.get(environment=environment)
    assert response.json()["id"] == run.pk
    assert (response.json()["kind"], response.json()["status"]) == ("destroy", "queued")
    assert enqueued == [run.pk]
    assert Environment.objects.filter(pk=environment.pk).exists()  # it goes when the destroy run succeeds
    assert ActivityEntry.objects.get(action="run.destroy.requested").ip_address == "203.0.113.4"


def test_deleting_a_destroyed_environment_is_a_409_with_the_reason():
    owner = make_user()
    environment = make_environment(owner=owner, name="gone")
    Environment.objects.filter(pk=environment.pk).update(status="destroyed")

    response = api_client(owner).delete(f"{ENVIRONMENTS}gone/")

    assert response.status_code == 409
    assert response.json() == {"detail": "gone is already destroyed."}
    assert not Run.objects.exists()


def test_an_unknown_environment_is_a_404():
    assert api_client(make_user()).get(f"{ENVIRONMENTS}missing/").status_code == 404


def test_environments_cannot_be_replaced_wholesale():
    owner = make_user()
    environment = make_environment(owner=owner)

    response = api_client(owner).put(f"{ENVIRONMENTS}{environment.name}/", definition(), format="json")

    assert response.status_code == 405


# --- reading: outputs yes, secrets never -----------------------------------------------------------


def test_an_environment_shows_its_outputs():
    environment = make_environment(name="shown")
    Environment.objects.filter(pk=environment.pk).update(
        status="ready", outputs={"api_url": "https://api.example.test", "audio_bucket": "spotmusic-shown-audio"}
    )

    body = api_client(make_user()).get(f"{ENVIRONMENTS}shown/").json()

    assert body["status"] == "ready"
    assert body["outputs"] == {"api_url": "https://api.example.test", "audio_bucket": "spotmusic-shown-audio"}


def test_generated_secrets_appear_in_no_api_response(django_capture_on_commit_callbacks):
    owner, admin = make_user(), make_user("admin")
    client, admin_client = api_client(owner), api_client(admin)
    bodies = [client.post(ENVIRONMENTS, definition(name="secretive"), format="json").content]
    environment = Environment.objects.get(name="secretive")
    secrets = environment.secrets()
    assert set(secrets) == {"db_password", "app_secret_key"}
    assert all(len(value) >= 32 for value in secrets.values())
    run = environment.runs.get()
    run.log("Planning.")

    for url in (
        ENVIRONMENTS,
        f"{ENVIRONMENTS}secretive/",
        f"{ENVIRONMENTS}secretive/runs/",
        f"/api/v1/runs/{run.pk}/",
        f"/api/v1/runs/{run.pk}/events/",
        f"{BLUEPRINTS}sandbox/",
        "/api/v1/activity/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content)
    bodies.append(
        client.patch(f"{ENVIRONMENTS}secretive/", {"variables": {"log_level": "debug"}}, format="json").content
    )
    bodies.append(client.delete(f"{ENVIRONMENTS}secretive/").content)

    everything = b"\n".join(bodies).decode()
    assert "secretive" in everything
    for value in secrets.values():
        assert value not in everything
        assert json.dumps(value) not in everything
    assert environment.encrypted_secrets not in everything


# --- blueprints ------------------------------------------------------------------------------------


def test_blueprints_are_listed_by_name():
    response = api_client(make_user()).get(BLUEPRINTS)

    assert response.status_code == 200
    listed = {blueprint["name"]: blueprint for blueprint in response.json()["results"]}
    assert {"full", "sandbox"} <= set(listed)
    assert listed["sandbox"]["available"] is True
    assert "short-lived" in listed["sandbox"]["description"]


def test_a_blueprint_shows_the_schema_of_its_variables():
    response = api_client(make_user()).get(f"{BLUEPRINTS}sandbox/")

    assert response.status_code == 200
    variables = {variable["name"]: variable for variable in response.json()["variables"]}
    assert variables["vpc_cidr"] == {
        "name": "vpc_cidr",
        "type": "string",
        "description": variables["vpc_cidr"]["description"],
        "required": False,
        "default": "10.20.0.0/16",
        "sensitive": False,
        "managed": False,
    }
    assert variables["vpc_cidr"]["description"].startswith("CIDR block of the environment's VPC")
    assert (variables["web_api_desired_count"]["type"], variables["web_api_desired_count"]["default"]) == ("number", 1)
    assert (variables["force_destroy_data"]["type"], variables["force_destroy_data"]["default"]) == ("bool", True)
    assert (variables["tags"]["type"], variables["tags"]["default"]) == ("map(string)", {})
    assert variables["db_password"]["sensitive"] and variables["db_password"]["managed"]
    assert variables["db_password"]["default"] is None
    assert variables["environment"]["managed"] and not variables["environment"]["sensitive"]
    assert all(variable["description"] for variable in variables.values())
    user_settable = {name for name, variable in variables.items() if not variable["managed"]}
    assert {"environment", "tier", "region", "aws_endpoint_url", "db_password", "app_secret_key"}.isdisjoint(
        user_settable
    )


def test_the_full_blueprint_has_its_own_defaults():
    variables = {
        variable["name"]: variable for variable in api_client(make_user()).get(f"{BLUEPRINTS}full/").json()["variables"]
    }

    assert variables["force_destroy_data"]["default"] is False
    assert variables["db_multi_az"]["type"] == "bool"


def test_an_unknown_blueprint_is_a_404():
    assert api_client(make_user()).get(f"{BLUEPRINTS}nope/").status_code == 404

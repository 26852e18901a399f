"""The environment pages: list with filters, the form generated from a blueprint, the environment page, destroy."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portal.activity.models import ActivityEntry
from portal.environments.models import Environment
from portal.runs.models import Run
from tests.factories import applied, make_environment, make_run, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db

LIST = "/"
NEW = "/environments/new/"
NEW_SANDBOX = "/environments/new/?blueprint=sandbox"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """Only ``execute_run.delay`` is replaced (by a recorder): no task reaches a broker."""
    return record_enqueued_runs(monkeypatch)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sandbox_form(**changes) -> dict:
    """What the browser posts for a sandbox when the user only names it and picks a network."""
    data = {
        "name": "feature-x",
        "tier": "dev",
        "region": "eu-west-1",
        "apply": "on",
        "var_name_prefix": "spotmusic",
        "var_tags": "{}",
        "var_vpc_cidr": "10.60.0.0/16",
        "var_image_tag": "initial",
        "var_web_api_desired_count": "1",
        "var_workers_desired_count": "1",
        "var_log_retention_days": "30",
        "var_container_port": "8080",
        "var_log_level": "info",
        "var_force_destroy_data": "on",
        "var_secret_recovery_window_days": "0",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def field_errors(response, field: str) -> list[str]:
    """The error messages rendered right under ``field``'s input."""
    html = response.content.decode()
    return re.findall(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', html)


def text(response) -> str:
    return response.content.decode()


# --- the list --------------------------------------------------------------------------------------


def test_the_list_asks_a_visitor_to_log_in_first():
    response = Client().get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_the_list_shows_every_environment_with_its_status_owner_tier_and_last_run():
    alice = make_user(username="alice")
    alpha = make_environment(owner=alice, name="alpha")
    make_environment(owner=make_user(username="bob"), name="beta", tier="prod")
    run = make_run(alpha, kind="plan", status="succeeded")
    Environment.objects.filter(name="alpha").update(status="ready")

    response = client_for(make_user()).get(LIST)

    assert response.status_code == 200
    page = text(response)
    assert [environment.name for environment in response.context["page"].object_list] == ["alpha", "beta"]
    assert '<span class="badge status-ready">Ready</span>' in page
    assert '<span class="badge status-new">New (never applied)</span>' in page
    assert ">alice</td>" in page and ">bob</td>" in page
    assert "Production" in page
    assert f'href="/runs/{run.pk}/">plan #{run.pk}</a>' in page
    assert '<span class="badge status-succeeded">Succeeded</span>' in page


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
        ("?owner=nobody", []),
    ],
)
def test_the_list_is_filtered_and_searched(query, expected):
    alice, bob = make_user(username="alice"), make_user(username="bob")
    make_environment(owner=alice, name="alpha")
    make_environment(owner=bob, name="beta")
    make_environment(owner=bob, name="gamma", blueprint_name="full")
    make_environment(owner=alice, name="prod-one", tier="prod")
    Environment.objects.filter(name="beta").update(status="ready")

    response = client_for(alice).get(LIST + query)

    assert response.status_code == 200
    assert [environment.name for environment in response.context["page"].object_list] == expected


def test_an_empty_list_invites_to_create_the_first_environment():
    response = client_for(make_user()).get(LIST)

    assert "Create the first one" in text(response)


# --- the new-environment form ----------------------------------------------------------------------


def test_a_new_environment_starts_with_the_choice_of_a_blueprint():
    response = client_for(make_user()).get(NEW)

    assert response.status_code == 200
    page = text(response)
    assert 'href="?blueprint=sandbox"' in page
    assert 'href="?blueprint=full"' in page
    assert "A cheap, short-lived Spotmusic environment" in page


def test_the_form_is_generated_from_the_blueprints_variables_with_their_descriptions_and_defaults():
    response = client_for(make_user()).get(NEW_SANDBOX)

    assert response.status_code == 200
    page = text(response)
    form = response.context["form"]
    # Only what a user may set: names, region, endpoint and generated secrets are Launchpad's.
    assert "var_vpc_cidr" in form.fields
    for managed in ("environment", "tier", "region", "aws_endpoint_url", "db_password", "app_secret_key"):
        assert f"var_{managed}" not in form.fields
    assert re.search(r'<input type="text" name="var_vpc_cidr"(?! value)[^>]*>', page)  # empty: a free block
    assert "must not overlap another environment&#x27;s in the region." in page  # the module's description
    assert "Leave empty to get a free block" in page
    assert re.search(r'<input type="number" name="var_web_api_desired_count" value="1"', page)
    assert re.search(r'<input type="checkbox" name="var_force_destroy_data"[^>]*checked', page)
    assert re.search(r'<textarea name="var_tags"[^>]*>\s*\{\}</textarea>', page)
    assert '<select name="tier"' in page and '<option value="dev" selected>' in page
    assert '<option value="eu-west-1" selected>' in page
    assert "csrfmiddlewaretoken" in page


def test_an_unknown_blueprint_is_a_404():
    assert client_for(make_user()).get("/environments/new/?blueprint=nothing").status_code == 404


def test_a_valid_form_creates_the_environment_queues_its_apply_and_opens_the_run(
    enqueued, django_capture_on_commit_callbacks
):
    owner = make_user(username="owner")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            NEW_SANDBOX, sandbox_form(var_web_api_desired_count="2", var_tags='{"team": "audio"}')
        )

    environment = Environment.objects.get(name="feature-x")
    run = Run.objects.get(environment=environment)
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert (environment.owner, environment.blueprint.name, environment.tier, environment.region) == (
        owner,
        "sandbox",
        "dev",
        "eu-west-1",
    )
    # Only what differs from the blueprint's defaults is stored, as an API client would send it.
    assert environment.variables == {"vpc_cidr": "10.60.0.0/16", "web_api_desired_count": 2, "tags": {"team": "audio"}}
    assert environment.secrets().keys() == {"db_password", "app_secret_key"}
    assert (run.kind, run.status, run.requested_by) == ("apply", "queued", owner)
    assert enqueued == [run.pk]
    assert list(ActivityEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "environment.created",
        "run.apply.requested",
    ]


def test_unchecking_apply_only_defines_the_environment(enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(make_user()).post(NEW_SANDBOX, sandbox_form(apply=None))

    assert response.status_code == 302
    assert response["Location"] == "/environments/feature-x/"
    assert not Run.objects.exists()
    assert enqueued == []


def test_an_unchecked_box_is_stored_as_false_when_the_default_is_true():
    client_for(make_user()).post(NEW_SANDBOX, sandbox_form(var_force_destroy_data=None))

    assert Environment.objects.get(name="feature-x").variables["force_destroy_data"] is False


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "Feature X"}, "name", "Use 3-20 characters: lowercase letters, digits and hyphens"),
        ({"name": ""}, "name", "This field is required."),
        ({"tier": "gold"}, "tier", "Select a valid choice. gold is not one of the available choices."),
        ({"var_web_api_desired_count": "two"}, "var_web_api_desired_count", "Enter a number, such as 2."),
        ({"var_tags": "{team: audio"}, "var_tags", "Write valid JSON for a map(string) value"),
        ({"var_tags": '{"team": 7}'}, "var_tags", "tags.team must be a string."),
        ({"var_tags": '["audio"]'}, "var_tags", "tags must be an object of string values."),
        ({"var_vpc_cidr": "10.0.0.0/8"}, "var_vpc_cidr", "10.0.0.0/8 is a /8: use a block from /16 to /24."),
        ({"var_vpc_cidr": "a network"}, "var_vpc_cidr", "is not a valid IPv4 CIDR block (like 10.20.0.0/16)."),
    ],
)
def test_an_invalid_form_shows_the_error_next_to_its_field_and_creates_nothing(changes, field, message, enqueued):
    response = client_for(make_user()).post(NEW_SANDBOX, sandbox_form(**changes))

    assert response.status_code == 400
    assert any(message in error.replace("&#x27;", "'") for error in field_errors(response, field)), field_errors(
        response, field
    )
    assert "Some fields need a change" in text(response)
    assert not Environment.objects.exists()
    assert not Run.objects.exists()
    assert not ActivityEntry.objects.exists()
    assert enqueued == []


def test_every_problem_is_shown_at_once():
    response = client_for(make_user()).post(
        NEW_SANDBOX, sandbox_form(name="X", var_tags='{"team": 7}', var_container_port="port")
    )

    assert field_errors(response, "name")
    assert field_errors(response, "var_tags") == ["tags.team must be a string."]
    assert field_errors(response, "var_container_port") == ["Enter a number, such as 2."]


def test_values_the_blueprints_rules_refuse_are_shown_each_under_its_field_and_nothing_is_created(enqueued):
    response = client_for(make_user()).post(
        NEW_SANDBOX,
        sandbox_form(
            var_web_api_desired_count="-1",
            var_container_port="99999",
            var_log_level="verbose-nonsense",
            var_log_retention_days="8",
        ),
    )

    assert response.status_code == 400
    assert field_errors(response, "var_web_api_desired_count") == [
        "The web-api task count must be a whole number from 0 to 100."
    ]
    assert field_errors(response, "var_container_port") == ["The container port must be from 1024 to 65535."]
    assert field_errors(response, "var_log_level") == ["The log level must be debug, info, warning or error."]
    assert [error.replace("&#x27;", "'") for error in field_errors(response, "var_log_retention_days")] == [
        "The log retention must be one of CloudWatch's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
        "400, 545, 731, 1827 or 3653 days."
    ]
    assert ".tf:" not in text(response)
    assert not Environment.objects.exists()
    assert enqueued == []


def test_a_name_already_taken_is_refused_next_to_the_name():
    make_environment(name="feature-x")

    response = client_for(make_user()).post(NEW_SANDBOX, sandbox_form())

    assert field_errors(response, "name") == ["An environment called &#x27;feature-x&#x27; already exists."]
    assert Environment.objects.count() == 1


def test_a_network_that_overlaps_another_environments_is_refused_next_to_vpc_cidr():
    make_environment(name="older", vpc_cidr="10.60.0.0/16")

    response = client_for(make_user()).post(NEW_SANDBOX, sandbox_form(var_vpc_cidr="10.60.128.0/17"))

    assert field_errors(response, "var_vpc_cidr") == ["10.60.128.0/17 overlaps older&#x27;s 10.60.0.0/16 in eu-west-1."]
    assert not Environment.objects.filter(name="feature-x").exists()


def test_the_values_typed_stay_in_the_form_after_an_error():
    response = client_for(make_user()).post(NEW_SANDBOX, sandbox_form(name="BAD", var_image_tag="v42"))

    assert 'name="var_image_tag" value="v42"' in text(response)


def test_the_new_environment_form_refuses_a_post_without_its_csrf_token():
    owner = make_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    refused = client.post(NEW_SANDBOX, sandbox_form())
    assert refused.status_code == 403
    assert not Environment.objects.exists()

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(client.get(NEW_SANDBOX))).group(1)
    accepted = client.post(NEW_SANDBOX, sandbox_form(csrfmiddlewaretoken=token))
    assert accepted.status_code == 302
    assert Environment.objects.filter(name="feature-x").exists()


# --- the environment page --------------------------------------------------------------------------


def test_the_environment_page_shows_status_outputs_runs_and_settings():
    owner = make_user(username="owner")
    environment = make_environment(owner=owner, name="feature-x", web_api_desired_count=3)
    environment.status = "ready"
    environment.outputs = {
        "web_api_url": "http://feature-x.example.test",
        "work_queue_url": "http://sqs.eu-west-1.localhost/123/feature-x-work",
        "db_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:feature-x-db",
        "subnet_ids": ["subnet-1", "subnet-2"],
        "ecr_repository_urls": {"web-api": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spotmusic/feature-x/web-api"},
    }
    environment.save()
    older = make_run(environment, kind="apply", status="succeeded", plan_summary={"add": 61, "change": 0, "destroy": 0})
    newer = make_run(environment, kind="plan", status="succeeded")

    response = client_for(owner).get("/environments/feature-x/")

    assert response.status_code == 200
    page = text(response)
    assert '<span class="badge status-ready" id="environment-status" data-status="ready">Ready</span>' in page
    assert '<a class="value" href="http://feature-x.example.test" rel="noopener">' in page
    assert "arn:aws:secretsmanager:eu-west-1:123456789012:secret:feature-x-db" in page
    assert '<li><span class="value">subnet-2</span></li>' in page
    assert '<li><span class="output-key">web-api</span><span class="value">123456789012.dkr.ecr.' in page
    assert [run.pk for run in response.context["runs"]] == [newer.pk, older.pk]
    assert f'href="/runs/{older.pk}/">apply #{older.pk}</a>' in page
    assert "+61" in page
    assert response.context["variables"][0]["name"] == "name_prefix"
    assert {"name": "web_api_desired_count", "value": "3", "set": True}.items() <= next(
        variable for variable in response.context["variables"] if variable["name"] == "web_api_desired_count"
    ).items()
    # The generated secrets are never on the page.
    for secret in environment.secrets().values():
        assert secret not in page
    assert 'id="plan-button"' in page and 'id="apply-button"' in page and 'id="destroy-button"' in page


def test_the_environment_page_refreshes_itself_only_while_a_run_is_unfinished():
    owner = make_user()
    environment = make_environment(owner=owner, name="feature-x")
    client = client_for(owner)

    assert "data-refresh" not in text(client.get("/environments/feature-x/"))
    run = make_run(environment)
    assert 'data-refresh="/environments/feature-x/live/"' in text(client.get("/environments/feature-x/"))

    live = client.get("/environments/feature-x/live/")
    assert live.status_code == 200
    assert 'id="environment-live" data-refresh=' in text(live)
    Run.objects.filter(pk=run.pk).update(status="succeeded")
    assert "data-refresh" not in text(client.get("/environments/feature-x/live/"))


def test_someone_elses_environment_shows_no_buttons():
    make_environment(owner=make_user(), name="feature-x")

    page = text(client_for(make_user()).get("/environments/feature-x/"))

    assert 'id="plan-button"' not in page
    assert 'id="destroy-button"' not in page


def test_an_unknown_environment_is_a_404():
    assert client_for(make_user()).get("/environments/missing/").status_code == 404


@pytest.mark.parametrize("kind", ["plan", "apply"])
def test_the_owner_asks_for_a_plan_or_an_apply_and_lands_on_the_run(kind, enqueued, django_capture_on_commit_callbacks):
    owner = make_user()
    make_environment(owner=owner, name="feature-x")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post("/environments/feature-x/runs/", {"kind": kind})

    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert (run.kind, run.requested_by) == (kind, owner)
    assert enqueued == [run.pk]
    assert ActivityEntry.objects.filter(action=f"run.{kind}.requested", actor=owner).exists()


def test_an_admin_may_ask_for_runs_of_any_environment():
    make_environment(owner=make_user(), name="feature-x")

    response = client_for(make_user("admin")).post("/environments/feature-x/runs/", {"kind": "plan"})

    assert response.status_code == 302
    assert Run.objects.count() == 1


def test_another_engineer_may_not_ask_for_runs_and_gets_a_403(enqueued):
    make_environment(owner=make_user(), name="feature-x")
    stranger = client_for(make_user())

    assert stranger.post("/environments/feature-x/runs/", {"kind": "apply"}).status_code == 403
    assert stranger.get("/environments/feature-x/destroy/").status_code == 403
    assert stranger.post("/environments/feature-x/destroy/", {"confirm_name": "feature-x"}).status_code == 403
    assert not Run.objects.exists()
    assert enqueued == []


def test_a_run_button_is_post_only():
    owner = make_user()
    make_environment(owner=owner, name="feature-x")

    assert client_for(owner).get("/environments/feature-x/runs/?kind=apply").status_code == 405
    assert not Run.objects.exists()


def test_destroy_is_not_a_kind_the_run_buttons_accept():
    owner = make_user()
    make_environment(owner=owner, name="feature-x")

    response = client_for(owner).post("/environments/feature-x/runs/", {"kind": "destroy"}, follow=True)

    assert not Run.objects.exists()
    assert "destroying has its own confirmation page" in text(response)


# --- destroy ---------------------------------------------------------------------------------------


def test_the_destroy_page_names_the_environment_and_asks_for_its_name():
    owner = make_user()
    make_environment(owner=owner, name="feature-x")

    response = client_for(owner).get("/environments/feature-x/destroy/")

    assert response.status_code == 200
    page = text(response)
    assert "Destroy feature-x?" in page
    assert 'name="confirm_name"' in page
    assert "Type <code>feature-x</code> exactly." in page


@pytest.mark.parametrize(
    ("blueprint_name", "data"),
    [
        ("sandbox", "its stored files (S3 buckets), queues, secrets and parameters."),
        ("full", "its databases, stored files (S3 buckets), caches, queues, secrets, parameters and tables."),
    ],
)
def test_the_destroy_page_names_the_data_the_blueprint_s_resources_hold(blueprint_name, data):
    owner = make_user()
    make_environment(owner=owner, name="feature-x", blueprint_name=blueprint_name)

    page = text(client_for(owner).get("/environments/feature-x/destroy/"))

    assert f"and the data they hold: {data}" in page


@pytest.mark.parametrize("typed", ["", "feature", "Feature-X", "other-env"])
def test_a_wrong_name_shows_the_page_again_with_an_error_and_destroys_nothing(typed, enqueued):
    owner = make_user()
    make_environment(owner=owner, name="feature-x")

    response = client_for(owner).post("/environments/feature-x/destroy/", {"confirm_name": typed})

    assert response.status_code == 400
    assert field_errors(response, "confirm_name")
    assert not Run.objects.exists()
    assert not ActivityEntry.objects.filter(action__startswith="run.").exists()
    assert enqueued == []


def test_the_right_name_queues_the_destroy_and_opens_its_run(enqueued, django_capture_on_commit_callbacks):
    owner = make_user()
    applied(make_environment(owner=owner, name="feature-x"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post("/environments/feature-x/destroy/", {"confirm_name": "feature-x"})

    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert run.kind == "destroy"
    assert enqueued == [run.pk]
    assert ActivityEntry.objects.filter(action="run.destroy.requested").exists()


def test_a_destroyed_environment_cannot_be_destroyed_again():
    owner = make_user()
    environment = make_environment(owner=owner, name="feature-x")
    environment.status = "destroyed"
    environment.save()

    response = client_for(owner).post("/environments/feature-x/destroy/", {"confirm_name": "feature-x"})

    assert response.status_code == 400
    assert "feature-x is already destroyed." in text(response)
    assert not Run.objects.exists()


# --- settings ---------------------------------------------------------------------------------------


def settings_url(environment) -> str:
    return f"/environments/{environment.name}/settings/"


def test_the_settings_page_is_the_blueprints_form_filled_in_with_the_current_values_without_secrets():
    owner = make_user()
    environment = make_environment(owner=owner, log_level="debug", tags={"team": "audio"})

    response = client_for(owner).get(settings_url(environment))

    assert response.status_code == 200
    page = text(response)
    assert re.search(r'name="var_log_level"[^>]*value="debug"', page)
    assert "&quot;team&quot;: &quot;audio&quot;" in page
    assert 'name="var_db_password"' not in page and 'name="var_app_secret_key"' not in page
    assert 'name="var_environment"' not in page and 'name="name"' not in page
    assert "they cannot change" in page
    assert 'id="edit-settings-button"' in text(client_for(owner).get(f"/environments/{environment.name}/"))


@pytest.mark.parametrize(("typed", "kept"), [("", "10.1.0.0/16"), ("10.20.0.0/16", "10.20.0.0/16")])
def test_a_cleared_network_field_keeps_the_current_block_and_the_blueprint_s_default_block_can_be_chosen(typed, kept):
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="10.1.0.0/16")
    form = {key: value for key, value in sandbox_form().items() if key.startswith("var_")}
    page = text(client_for(owner).get(settings_url(environment)))

    response = client_for(owner).post(settings_url(environment), {**form, "var_vpc_cidr": typed})

    assert re.search(r'name="var_vpc_cidr"[^>]*value="10.1.0.0/16"', page)
    assert "Leave empty to keep the current block" in page
    assert response.status_code == 302, text(response)
    environment.refresh_from_db()
    assert environment.variables["vpc_cidr"] == kept


def test_saving_settings_stores_them_and_queues_the_run_that_plans_the_change(
    enqueued, django_capture_on_commit_callbacks
):
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="10.61.0.0/16")
    form = {key: value for key, value in sandbox_form(var_vpc_cidr="10.61.0.0/16").items() if key.startswith("var_")}

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(settings_url(environment), {**form, "var_log_level": "debug", "apply": "on"})

    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert (run.kind, run.status, enqueued) == ("apply", "queued", [run.pk])
    environment.refresh_from_db()
    assert environment.variables == {"vpc_cidr": "10.61.0.0/16", "log_level": "debug"}
    assert ActivityEntry.objects.get(action="environment.settings_changed").data == {
        "changes": {"log_level": {"before": "info", "after": "debug"}}
    }


def test_a_setting_the_blueprints_rules_refuse_is_shown_under_its_field_and_nothing_changes(enqueued):
    owner = make_user()
    environment = make_environment(owner=owner, vpc_cidr="10.62.0.0/16")
    form = {key: value for key, value in sandbox_form(var_vpc_cidr="10.62.0.0/16").items() if key.startswith("var_")}

    response = client_for(owner).post(settings_url(environment), {**form, "var_container_port": "80"})

    assert response.status_code == 400
    assert field_errors(response, "var_container_port") == ["The container port must be from 1024 to 65535."]
    environment.refresh_from_db()
    assert environment.variables == {"vpc_cidr": "10.62.0.0/16"}
    assert not Run.objects.exists()


def test_settings_of_a_destroyed_environment_cannot_change():
    owner = make_user()
    environment = make_environment(owner=owner)
    Environment.objects.filter(pk=environment.pk).update(status="destroyed")

    page = client_for(owner).get(settings_url(environment))
    saved = client_for(owner).post(settings_url(environment), {"var_log_level": "debug"})

    assert "is destroyed: its settings cannot change." in text(page)
    assert saved.status_code == 409
    assert not Run.objects.exists()


def test_only_the_owner_or_an_admin_may_change_settings():
    environment = make_environment()

    assert client_for(make_user()).get(settings_url(environment)).status_code == 403

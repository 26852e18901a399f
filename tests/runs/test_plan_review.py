"""The plan review: the approver sees each resource's values before → after, on the run page (grouped by module) and
in the API (`GET /api/v1/runs/{id}/changes/`); a planted secret never reaches the database; a plan of a clean
environment logs no drift."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from portal import crypto
from portal.environments.models import Environment
from portal.runs.models import Run
from portal.runs.tasks import execute_run
from provisioning.engine import KNOWN_AFTER_APPLY, SENSITIVE, plan_changes, summarise_plan
from tests.factories import api_client, make_environment, make_run, make_user
from tests.provisioning.test_plan_changes import load

pytestmark = pytest.mark.django_db


def reviewed_run(environment=None, name: str = "changes") -> Run:
    plan = load(name)
    return make_run(
        environment or make_environment(name="review-x"),
        status="awaiting_approval",
        needs_approval=True,
        has_changes=True,
        plan_summary=summarise_plan(plan),
        plan_changes=[change.to_dict() for change in plan_changes(plan)],
    )


def by_address(resources: list[dict]) -> dict[str, dict]:
    return {resource["address"]: resource for resource in resources}


def test_the_api_gives_each_changed_resource_with_its_attributes_before_and_after():
    run = reviewed_run()

    response = api_client(make_user()).get(f"/api/v1/runs/{run.pk}/changes/")

    assert response.status_code == 200
    resources = by_address(response.json())
    assert [resource["address"] for resource in response.json()] == [
        resource["address"] for resource in run.plan_summary["resources"]
    ]
    assert resources["aws_sqs_queue.jobs"] == {
        "address": "aws_sqs_queue.jobs",
        "module": "",
        "type": "aws_sqs_queue",
        "action": "update",
        "attributes": [{"name": "visibility_timeout_seconds", "before": 30, "after": 60, "forces_replacement": False}],
        "replaced_because": [],
        "values_omitted": False,
    }
    assert resources["aws_security_group.web"]["replaced_because"] == ["description"]
    assert resources["aws_ssm_parameter.token"]["attributes"] == [
        {"name": "value", "before": SENSITIVE, "after": SENSITIVE, "forces_replacement": False}
    ]
    assert {"name": "bucket", "before": None, "after": "plan-review-new", "forces_replacement": False} in resources[
        "aws_s3_bucket.new[0]"
    ]["attributes"]


def test_a_run_planned_before_values_were_kept_lists_its_resources_without_values():
    run = reviewed_run()
    Run.objects.filter(pk=run.pk).update(plan_changes=[])

    response = api_client(make_user()).get(f"/api/v1/runs/{run.pk}/changes/")

    assert response.status_code == 200
    assert by_address(response.json())["aws_sqs_queue.jobs"]["attributes"] == []
    assert by_address(response.json())["aws_sqs_queue.jobs"]["action"] == "update"


def test_the_changes_of_a_run_not_planned_yet_are_empty_and_need_a_sign_in():
    run = make_run(make_environment())

    assert api_client(make_user()).get(f"/api/v1/runs/{run.pk}/changes/").json() == []
    assert api_client().get(f"/api/v1/runs/{run.pk}/changes/").status_code in (401, 403)
    assert api_client(make_user()).get("/api/v1/runs/999999/changes/").status_code == 404


def test_the_run_page_shows_each_change_by_module_with_its_values():
    run = reviewed_run(make_environment(name="sandbox-review"), name="sandbox-create")
    client = Client()
    client.force_login(make_user())

    page = client.get(f"/runs/{run.pk}/").content.decode()

    assert 'data-module="module.environment.module.network"' in page
    assert 'data-address="module.environment.module.network.aws_vpc.this"' in page
    assert '<code class="address">aws_vpc.this</code>' in page
    vpc = page.split('data-address="module.environment.module.network.aws_vpc.this"')[1].split("</article>")[0]
    assert "<code>cidr_block</code>" in vpc and "10.77.0.0/16" in vpc
    assert "Known after apply:" in vpc and "<code>arn</code>" in vpc
    assert f'<em class="muted">{SENSITIVE}</em>' in page
    # JSON values (a bucket policy) pretty-printed, inside a block that opens on demand.
    assert '<pre class="plan-value">{\n  &quot;Statement&quot;: [' in page


def test_the_run_page_shows_an_update_before_and_after_and_what_forces_a_replacement():
    run = reviewed_run()
    client = Client()
    client.force_login(make_user())

    page = client.get(f"/runs/{run.pk}/").content.decode()

    queue = page.split('data-address="aws_sqs_queue.jobs"')[1].split("</article>")[0]
    assert '<td class="before"><span class="plan-value">30</span></td>' in queue
    assert '<td class="after"><span class="plan-value">60</span></td>' in queue
    group = page.split('data-address="aws_security_group.web"')[1].split("</article>")[0]
    assert "Replaced because <code>description</code> cannot change in place." in group
    assert '<tr class="forces-replacement">' in group
    assert KNOWN_AFTER_APPLY in group


def test_the_changes_section_asks_again_until_the_plan_is_made():
    client = Client()
    client.force_login(make_user())
    run = make_run(make_environment(), status="running")

    waiting = client.get(f"/runs/{run.pk}/plan/").content.decode()
    plan = load("changes")
    Run.objects.filter(pk=run.pk).update(
        plan_summary=summarise_plan(plan), plan_changes=[change.to_dict() for change in plan_changes(plan)]
    )
    planned = client.get(f"/runs/{run.pk}/plan/").content.decode()

    assert f'data-refresh="/runs/{run.pk}/plan/"' in waiting and "when Terraform has planned" in waiting
    assert "data-refresh" not in planned and 'data-address="aws_sqs_queue.jobs"' in planned


# --- against the emulator ------------------------------------------------------------------------
PLANTED_PASSWORD = "planted-db-password-0f3c9a71e2"
PLANTED_KEY = "planted-app-secret-key-58be2d94c07f1a3e6d"


def database_dump() -> str:
    """Every row of the runs' and their events' tables, as text."""
    with connection.cursor() as cursor:
        rows = []
        for table in ("runs_run", "runs_runevent", "environments_environment"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            rows.extend(cursor.fetchall())
    return "\n".join(repr(row) for row in rows)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_planted_secret_never_reaches_the_database_and_a_clean_plan_logs_no_drift(
    emulator, toolchain, settings, tmp_path
):
    settings.AWS_ENDPOINT_URL = emulator.endpoint
    settings.LAUNCHPAD = {**settings.LAUNCHPAD, "WORK_DIR": tmp_path / "work"}
    owner = make_user(username="review-owner")
    environment = make_environment(owner=owner, name="review-e2e", vpc_cidr="10.93.0.0/16")
    Environment.objects.filter(pk=environment.pk).update(
        encrypted_secrets=crypto.encrypt_json({"db_password": PLANTED_PASSWORD, "app_secret_key": PLANTED_KEY})
    )

    def run(kind: str) -> Run:
        queued = Run.objects.create(environment=environment, kind=kind, requested_by=owner)
        execute_run(queued.pk)
        queued.refresh_from_db()
        return queued

    apply = run("apply")
    assert apply.status == "succeeded", apply.error

    changes = by_address(api_client(owner).get(f"/api/v1/runs/{apply.pk}/changes/").json())
    parameter = changes['module.environment.module.secrets.aws_ssm_parameter.secure["app-secret-key"]']
    assert {"name": "value", "before": None, "after": SENSITIVE, "forces_replacement": False} in parameter["attributes"]
    vpc = by_address(apply.plan_changes)["module.environment.module.network.aws_vpc.this"]
    assert {"name": "cidr_block", "before": None, "after": "10.93.0.0/16", "forces_replacement": False} in vpc[
        "attributes"
    ]
    dump = database_dump() + json.dumps(apply.plan_changes)
    assert PLANTED_PASSWORD not in dump and PLANTED_KEY not in dump

    plan = run("plan")
    assert plan.status == "succeeded", plan.error
    messages = list(plan.events.values_list("message", flat=True))
    assert not [message for message in messages if "Drift detected" in message], messages
    assert Environment.objects.get(pk=environment.pk).status == "ready"

    # Leave the emulator as it was: the owner of a dev sandbox destroys it alone (LAUNCHPAD_APPROVAL_POLICY).
    destroy = run("destroy")
    assert destroy.status == "succeeded", destroy.error
    assert Environment.objects.get(pk=environment.pk).status == "destroyed"

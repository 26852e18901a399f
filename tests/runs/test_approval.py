"""When a plan waits for an approver: the per-tier policy (LAUNCHPAD_APPROVAL_POLICY), applied to real plans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as configured
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from portal import settings as launchpad_settings
from portal.environments.choices import Tier
from portal.runs.approval import approval_reasons, destroy_outlook
from portal.runs.choices import RunStatus
from provisioning.blueprints import declared_resources
from provisioning.engine import STATEFUL_RESOURCE_TYPES, summarise_plan
from tests.factories import applied, make_environment, make_run, make_user

pytestmark = pytest.mark.django_db

NOTHING_LOST = summarise_plan(
    {
        "resource_changes": [
            {"address": "module.environment.aws_vpc.this", "type": "aws_vpc", "change": {"actions": ["create"]}}
        ]
    }
)
# What destroying a sandbox deletes that holds data: its queues, secrets, parameters and buckets.
SANDBOX_DATA = [
    ("module.environment.module.queues.aws_sqs_queue.this", "aws_sqs_queue"),
    ("module.environment.module.queues.aws_sqs_queue.dead_letters", "aws_sqs_queue"),
    ("module.environment.module.secrets.aws_secretsmanager_secret.this", "aws_secretsmanager_secret"),
    ("module.environment.module.secrets.aws_secretsmanager_secret_version.this", "aws_secretsmanager_secret_version"),
    ("module.environment.module.secrets.aws_ssm_parameter.database", "aws_ssm_parameter"),
    ("module.environment.module.secrets.aws_ssm_parameter.app", "aws_ssm_parameter"),
    ("module.environment.module.audio_storage.aws_s3_bucket.this", "aws_s3_bucket"),
    ("module.environment.module.audio_storage.aws_s3_bucket.logs", "aws_s3_bucket"),
    ("module.environment.module.cache.aws_elasticache_replication_group.this", "aws_elasticache_replication_group"),
]
DATABASE = ("module.environment.module.database.aws_db_instance.this", "aws_db_instance")
SHIPPED = launchpad_settings.LAUNCHPAD_APPROVAL_POLICY


def destroy_plan(*data: tuple[str, str]) -> dict:
    """The summary of a destroy deleting ``data`` and a network (provisioning.engine.summarise_plan)."""
    deleted = [*data, ("module.environment.module.network.aws_vpc.this", "aws_vpc")]
    return summarise_plan(
        {
            "resource_changes": [
                {"address": address, "type": kind, "change": {"actions": ["delete"]}} for address, kind in deleted
            ]
        }
    )


def test_a_development_plan_that_loses_nothing_applies_without_an_approver():
    run = make_run(make_environment(name="dev-x", tier=Tier.DEV))

    assert approval_reasons(run, NOTHING_LOST) == []


@pytest.mark.parametrize(("tier", "reason"), [(Tier.STAGING, "Staging"), (Tier.PROD, "Production")])
def test_a_plan_of_any_other_tier_waits_for_an_approver(tier, reason):
    run = make_run(make_environment(name=f"{tier}-x", tier=tier))

    assert approval_reasons(run, NOTHING_LOST) == [f"{reason} environments need an approver."]


def test_a_dev_owner_destroys_their_sandbox_without_an_approver_even_as_the_only_admin():
    admin = make_user("admin")
    run = make_run(make_environment(owner=admin, name="alice-sandbox"), kind="destroy", requested_by=admin)

    assert approval_reasons(run, destroy_plan(*SANDBOX_DATA)) == []


def test_someone_else_destroying_a_dev_environment_waits_for_an_approver_naming_every_resource_with_data():
    run = make_run(make_environment(name="alice-sandbox"), kind="destroy", requested_by=make_user("admin"))

    reasons = approval_reasons(run, destroy_plan(*SANDBOX_DATA))

    names = ", ".join(address for address, _ in SANDBOX_DATA)
    assert reasons == [f"The plan destroys or replaces 9 resources that hold data: {names}."]


def test_shared_data_waits_for_an_approver_even_when_the_dev_owner_asks():
    environment = make_environment(name="team-dev", blueprint_name="full")
    run = make_run(environment, kind="destroy")

    reasons = approval_reasons(run, destroy_plan(*SANDBOX_DATA, DATABASE))

    assert reasons == [f"The plan destroys or replaces shared data (databases and tables others use): {DATABASE[0]}."]


def test_a_staging_destroy_by_its_owner_waits_for_an_approver_for_the_tier_and_the_data():
    run = make_run(make_environment(name="stage-x", tier=Tier.STAGING), kind="destroy")

    reasons = approval_reasons(run, destroy_plan(*SANDBOX_DATA))

    assert reasons[0] == "Staging environments need an approver."
    assert reasons[1].startswith("The plan destroys or replaces 9 resources that hold data:")


@pytest.mark.parametrize("tier", [Tier.STAGING, Tier.PROD])
def test_a_plan_that_changes_no_resource_waits_for_no_approver_whatever_the_tier(tier):
    run = make_run(make_environment(name=f"{tier}-empty", tier=tier), kind="destroy")

    assert approval_reasons(run, summarise_plan({"resource_changes": []})) == []


def test_the_policy_is_read_from_the_settings(settings):
    settings.LAUNCHPAD_APPROVAL_POLICY = {
        **settings.LAUNCHPAD_APPROVAL_POLICY,
        "dev": {"every_change": True, "data_loss_by_owner": "any", "data_loss_by_others": "any"},
    }
    run = make_run(make_environment(name="strict-dev"), kind="destroy")

    reasons = approval_reasons(run, destroy_plan(*SANDBOX_DATA))

    assert reasons[0] == "Development environments need an approver."
    assert reasons[1].startswith("The plan destroys or replaces 9 resources")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"dev": SHIPPED["dev"], "staging": SHIPPED["staging"]}, r"must name the tiers dev, staging, prod"),
        ({**SHIPPED, "dev": {"every_change": False}}, r"LAUNCHPAD_APPROVAL_POLICY\['dev'\] must be"),
        ({**SHIPPED, "prod": {**SHIPPED["prod"], "every_change": "no"}}, r"LAUNCHPAD_APPROVAL_POLICY\['prod'\]"),
        ({**SHIPPED, "dev": {**SHIPPED["dev"], "data_loss_by_owner": "some"}}, r"one of any, shared, none"),
    ],
)
def test_a_policy_that_says_nothing_clear_about_a_tier_stops_launchpad_when_its_settings_load(policy, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        launchpad_settings.approval_policy(policy, tiers=("dev", "staging", "prod"))


@pytest.mark.parametrize(("blueprint_name", "waits"), [("sandbox", False), ("full", True)])
def test_the_destroy_page_tells_a_dev_owner_what_the_destroys_plan_will_do(blueprint_name, waits):
    """The page and the plan apply one rule: a dev owner destroys a sandbox alone, but a full environment's RDS
    instance (shared data) makes the destroy wait, and the page says so beforehand."""
    environment = applied(make_environment(name=f"dev-{blueprint_name}", blueprint_name=blueprint_name))
    run = make_run(environment, kind="destroy", requested_by=environment.owner)
    # The destroy's plan deletes every resource the blueprint declares.
    reasons = approval_reasons(run, destroy_plan(*declared_resources(blueprint_name)))

    outlook = destroy_outlook(environment, environment.owner)

    assert bool(reasons) == waits
    assert outlook.startswith("You destroy it alone") is not waits
    assert all(reason in outlook for reason in reasons)
    assert ("module.database.aws_db_instance.this" in outlook) is waits


def test_the_shipped_policy_covers_every_tier_and_shared_data_is_data():
    assert set(configured.LAUNCHPAD_APPROVAL_POLICY) == set(Tier.values)
    assert set(configured.LAUNCHPAD_SHARED_DATA_TYPES) <= STATEFUL_RESOURCE_TYPES


def test_the_reasons_box_and_the_data_is_lost_panel_name_the_same_resources():
    """One rule of what holds data: the approval box used to list 5 of them while the panel listed 9."""
    requester = make_user("admin")
    environment = make_environment(name="alice-sandbox")
    summary = destroy_plan(*SANDBOX_DATA)
    run = make_run(environment, kind="destroy", requested_by=requester, status=RunStatus.AWAITING_APPROVAL)
    run.plan_summary, run.approval_reasons = summary, approval_reasons(run, summary)
    run.save()
    client = Client()
    client.force_login(make_user("approver"))

    page = client.get(f"/runs/{run.pk}/").content.decode()

    review = page[page.index('id="review"') : page.index('id="plan-summary"')]
    panel = page[page.index('id="stateful-losses"') :].split("</ul>")[0]
    in_review = set(re.search(r"that hold data: (.+?)\.</li>", review).group(1).split(", "))
    in_panel = set(re.findall(r"<code>([^<]+)</code>", panel))
    assert in_review == in_panel == {address for address, _ in SANDBOX_DATA}


def test_the_policy_table_of_the_lifecycle_docs_is_the_shipped_policy():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    rows = re.findall(r"^\| (dev|staging|prod) \| (true|false) \| `(\w+)` \| `(\w+)` \|$", docs, re.MULTILINE)

    assert {
        tier: {"every_change": change == "true", "data_loss_by_owner": owner, "data_loss_by_others": others}
        for tier, change, owner, others in rows
    } == configured.LAUNCHPAD_APPROVAL_POLICY

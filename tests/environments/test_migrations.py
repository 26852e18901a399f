"""The environments' migrations keep what was stored: a drift check's output becomes its events line by line, and
the environments made before names were reusable keep the state key their state is stored under."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import make_environment

BEFORE = [("environments", "0002_expiry_and_drift_checks")]
AFTER = [("environments", "0003_drift_check_events")]


def migrate(target=None):
    """Migrate to ``target`` (None: the latest, where every other test expects the database to be)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    target = target or executor.loader.graph.leaf_nodes()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_output_of_earlier_drift_checks_becomes_their_events_line_by_line():
    environment = make_environment(name="migrated")
    apps = migrate(BEFORE)
    DriftCheck = apps.get_model("environments", "DriftCheck")
    finished = timezone.now()
    checked = DriftCheck.objects.create(
        environment_id=environment.pk, status="clean", log="Refreshing…\nNo changes.\n\nDone.", finished_at=finished
    )
    silent = DriftCheck.objects.create(environment_id=environment.pk, status="failed", log="")

    apps = migrate(AFTER)

    events = apps.get_model("environments", "DriftCheckEvent").objects.order_by("drift_check_id", "seq")
    assert [(e.drift_check_id, e.seq, e.message) for e in events] == [
        (checked.pk, 1, "Refreshing…"),
        (checked.pk, 2, "No changes."),
        (checked.pk, 3, ""),
        (checked.pk, 4, "Done."),
    ]
    assert {e.created_at for e in events} == {finished}
    assert not events.filter(drift_check_id=silent.pk).exists()

    apps = migrate(BEFORE)
    assert apps.get_model("environments", "DriftCheck").objects.get(pk=checked.pk).log == (
        "Refreshing…\nNo changes.\n\nDone."
    ), "and back"
    migrate()


@pytest.mark.django_db(transaction=True)
def test_environments_made_before_names_were_reusable_keep_the_state_key_of_their_state():
    apps = migrate([("environments", "0003_drift_check_events")])
    Environment = apps.get_model("environments", "Environment")
    blueprint, _ = apps.get_model("environments", "Blueprint").objects.get_or_create(name="sandbox")
    owner = apps.get_model("auth", "User").objects.create(username="earlier")
    Environment.objects.create(name="earlier-one", blueprint=blueprint, owner=owner, status="destroyed")

    apps = migrate([("environments", "0004_environment_name_reusable")])

    earlier = apps.get_model("environments", "Environment").objects.get(name="earlier-one")
    assert earlier.state_key == "environments/earlier-one/terraform.tfstate"
    migrate()

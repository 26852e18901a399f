"""The migration that turns a drift check's stored output into events keeps every line, in order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.factories import make_environment

BEFORE = [("environments", "0002_expiry_and_drift_checks")]
AFTER = [("environments", "0003_drift_check_events")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
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
    migrate(AFTER)

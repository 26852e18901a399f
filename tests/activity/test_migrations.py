"""Renaming the activity log's model (AuditEvent -> ActivityEntry) keeps every entry and its actor."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("activity", "0001_initial")]
AFTER = [("activity", "0002_rename_auditevent_activityentry")]


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_every_entry_and_its_actor():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    alice = old.get_model("auth", "User").objects.create(username="alice")
    kept = old.get_model("activity", "AuditEvent").objects.create(
        actor=alice,
        actor_name="alice",
        action="environment.created",
        object_type="environment",
        object_id="7",
        object_repr="alpha",
        data={"blueprint": "sandbox"},
        ip_address="203.0.113.4",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    entry = new.get_model("activity", "ActivityEntry").objects.get()
    assert (entry.pk, entry.actor_id, entry.action, entry.object_repr) == (
        kept.pk,
        alice.pk,
        "environment.created",
        "alpha",
    )
    assert (entry.data, entry.ip_address) == ({"blueprint": "sandbox"}, "203.0.113.4")
    assert list(new.get_model("auth", "User").objects.get(pk=alice.pk).activity_entries.all()) == [entry]

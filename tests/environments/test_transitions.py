"""An environment's status changes only through its methods, each of which checks the status it is in first
(as a run's transitions do): a change that the present status does not allow is refused with a sentence."""

from __future__ import annotations

import pytest

from portal.environments.choices import EnvironmentStatus
from portal.environments.models import Environment, LifecycleError
from portal.runs.models import Run
from tests.factories import make_environment, make_run, record_enqueued_runs

pytestmark = pytest.mark.django_db

S = EnvironmentStatus


def environment_in(status: str) -> Environment:
    environment = make_environment(name=f"env-{status}")
    environment.status = status
    environment.save()
    return environment


@pytest.mark.parametrize("status", [S.NEW, S.READY, S.DRIFTED, S.FAILED])
def test_an_apply_begins_provisioning_when_no_other_change_is_under_way(status):
    environment = environment_in(status)

    environment.begin_provisioning()

    assert Environment.objects.get(pk=environment.pk).status == S.PROVISIONING


@pytest.mark.parametrize("status", [S.PROVISIONING, S.DESTROYING])
def test_an_apply_cannot_begin_while_another_change_is_under_way(status):
    environment = environment_in(status)

    with pytest.raises(LifecycleError, match=rf"^env-{status} is {status}: it cannot begin an apply\.$"):
        environment.begin_provisioning()

    assert Environment.objects.get(pk=environment.pk).status == status


@pytest.mark.parametrize("status", [S.NEW, S.READY, S.DRIFTED, S.FAILED])
def test_a_destroy_begins_destroying_when_no_other_change_is_under_way(status):
    environment = environment_in(status)

    environment.begin_destroying()

    assert Environment.objects.get(pk=environment.pk).status == S.DESTROYING


@pytest.mark.parametrize("status", [S.PROVISIONING, S.DESTROYING])
def test_a_destroy_cannot_begin_while_a_change_is_under_way(status):
    environment = environment_in(status)

    with pytest.raises(LifecycleError, match="it cannot begin a destroy"):
        environment.begin_destroying()

    assert Environment.objects.get(pk=environment.pk).status == status


def test_a_destroyed_environment_begins_neither_an_apply_nor_a_destroy():
    environment = environment_in(S.DESTROYED)

    with pytest.raises(LifecycleError, match=r"^env-destroyed is destroyed: create a new environment \(the name is"):
        environment.begin_provisioning()
    with pytest.raises(LifecycleError, match=r"^env-destroyed is already destroyed\.$"):
        environment.begin_destroying()

    assert Environment.objects.get(pk=environment.pk).status == S.DESTROYED


@pytest.mark.parametrize(("status", "drifted", "after"), [(S.READY, True, S.DRIFTED), (S.DRIFTED, False, S.READY)])
def test_a_drift_check_sets_an_applied_environment_drifted_or_ready(status, drifted, after):
    environment = environment_in(status)

    environment.drift_checked(drifted)

    assert Environment.objects.get(pk=environment.pk).status == after


@pytest.mark.parametrize("status", [S.NEW, S.PROVISIONING, S.FAILED, S.DESTROYING, S.DESTROYED])
def test_a_drift_check_result_is_refused_for_an_environment_that_is_not_applied(status):
    environment = environment_in(status)

    with pytest.raises(LifecycleError, match="it cannot take a drift check's result"):
        environment.drift_checked(True)

    assert Environment.objects.get(pk=environment.pk).status == status


def test_an_apply_is_refused_to_settle_an_environment_being_destroyed():
    environment = environment_in(S.DESTROYING)

    with pytest.raises(LifecycleError, match="is being destroyed"):
        environment.applied({"url": "x"}, holds_resources=True)

    assert Environment.objects.get(pk=environment.pk).status == S.DESTROYING


def test_an_approved_destroy_of_an_environment_already_destroyed_fails_with_the_reason(monkeypatch):
    """The worker takes the run and the environment refuses the change: the run ends failed, never half begun."""
    enqueued = record_enqueued_runs(monkeypatch)
    environment = environment_in(S.DESTROYED)
    run = make_run(environment, kind="destroy", encrypted_plan=b"plan")
    Run.objects.filter(pk=run.pk).update(approved_at=run.created_at)

    claimed = Run.claim(run.pk, "worker")

    assert claimed.status == "failed" and claimed.error == "env-destroyed is already destroyed."
    assert Environment.objects.get(pk=environment.pk).status == S.DESTROYED
    assert enqueued == []

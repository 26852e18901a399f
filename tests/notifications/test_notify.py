"""Who is told what: the environment's owner hears about its events, approvers about runs waiting for them, admins
about audit findings; each by e-mail unless they said no (for all environments or one), and through the webhooks
that subscribe."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from portal.audit.choices import AuditTrigger
from portal.audit.models import AuditRun, create_audit_run
from portal.audit.recording import record_audit
from portal.jobs.output import EventWriter
from portal.notifications.models import Delivery, NotificationPreference, Webhook
from portal.notifications.services import notify
from portal.runs import execution
from portal.runs.models import Run, RunEvent
from provisioning.audit.collect_live import Collection
from provisioning.audit.rules import evaluate
from tests.audit.documents import db_instance
from tests.factories import make_environment, make_run, make_user, record_enqueued_runs

pytestmark = pytest.mark.django_db


def person(role: str = "engineer", name: str | None = None):
    user = make_user(role, name)
    user.email = f"{user.username}@spotmusic.invalid"
    user.save()
    return user


def webhook(owner, events, environment=None, active=True) -> Webhook:
    hook = Webhook(
        owner=owner, environment=environment, name="w", url="https://93.184.216.34/h", events=events, active=active
    )
    hook.set_secret()
    hook.save()
    return hook


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_the_owner_is_emailed_about_drift_in_their_environment(django_capture_on_commit_callbacks, queued_deliveries):
    owner = person(name="dana")
    environment = make_environment(owner=owner, name="dana-env")
    person(name="bystander")

    with django_capture_on_commit_callbacks(execute=True):
        notify("drift.found", environment, resources=[{"address": "a", "attributes": []}])

    assert recipients() == ["dana@spotmusic.invalid"]
    [message] = mail.outbox
    assert message.subject == "[Launchpad] dana-env drifted: 1 resource changed outside Terraform"
    assert "/environments/dana-env/" in message.body and "/notifications/" in message.body


def test_approvers_are_told_when_a_run_waits_for_them(django_capture_on_commit_callbacks, queued_deliveries):
    owner = person(name="olive")
    person("approver", "april")
    person("admin", "adam")
    environment = make_environment(owner=owner, name="needs-review")

    with django_capture_on_commit_callbacks(execute=True):
        notify("run.needs_approval", environment, run_id=12, kind="destroy", reasons=["Data goes."])

    assert recipients() == ["adam@spotmusic.invalid", "april@spotmusic.invalid", "olive@spotmusic.invalid"]
    assert mail.outbox[0].subject == "[Launchpad] Destroy run #12 of needs-review waits for an approver"


def test_admins_hear_about_high_severity_audit_findings(django_capture_on_commit_callbacks, queued_deliveries):
    person(name="eve")
    person("admin", "alice")

    with django_capture_on_commit_callbacks(execute=True):
        notify("audit.finding", None, severity="high", title="Security group open to the world on port 22")

    assert recipients() == ["alice@spotmusic.invalid"]
    assert mail.outbox[0].subject == (
        "[Launchpad] High-severity audit finding in Launchpad: Security group open to the world on port 22"
    )


def test_a_user_turns_an_email_off_for_all_environments_or_back_on_for_one(
    django_capture_on_commit_callbacks, queued_deliveries
):
    owner = person(name="quiet")
    loud = make_environment(owner=owner, name="loud-one")
    calm = make_environment(owner=owner, name="calm-one")
    NotificationPreference.objects.create(user=owner, event="run.failed", email=False)
    NotificationPreference.objects.create(user=owner, event="run.failed", environment=loud, email=True)

    with django_capture_on_commit_callbacks(execute=True):
        notify("run.failed", loud, run_id=1, kind="apply")
        notify("run.failed", calm, run_id=2, kind="apply")

    assert [message.subject for message in mail.outbox] == ["[Launchpad] Apply run #1 of loud-one failed"]


def test_webhooks_hear_the_events_they_subscribe_to_for_their_scope(
    django_capture_on_commit_callbacks, queued_deliveries
):
    owner, other = person(name="wanda"), person(name="otto")
    mine = make_environment(owner=owner, name="wanda-env")
    theirs = make_environment(owner=other, name="otto-env")
    personal = webhook(owner, ["drift.found"])
    scoped = webhook(other, ["drift.found", "run.failed"], environment=mine)  # an admin's channel, say
    webhook(owner, ["run.failed"])  # another event
    webhook(owner, ["drift.found"], active=False)
    webhook(other, ["drift.found"], environment=theirs)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries = notify("drift.found", mine, resources=[])

    assert {delivery.webhook for delivery in deliveries} == {personal, scoped}
    assert sorted(queued_deliveries) == sorted(delivery.pk for delivery in deliveries)


def test_nothing_is_sent_for_work_that_is_rolled_back(django_capture_on_commit_callbacks, queued_deliveries):
    owner = person(name="rolled")
    environment = make_environment(owner=owner, name="rolled-env")
    webhook(owner, ["run.failed"])

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                notify("run.failed", environment, run_id=3, kind="plan")
                raise RuntimeError("the run's own write failed")
        except RuntimeError:
            pass

    assert mail.outbox == [] and queued_deliveries == [] and not Delivery.objects.exists()


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="not a notification event"):
        notify("environment.renamed", None)


def test_a_failed_run_tells_its_owner_through_the_task(
    django_capture_on_commit_callbacks, monkeypatch, queued_deliveries
):
    """The task's failure path (the one the worker takes) tells the owner."""
    record_enqueued_runs(monkeypatch)
    owner = person(name="failing")
    environment = make_environment(owner=owner, name="fails")
    run = make_run(environment, kind="apply", status="running")
    writer = EventWriter(Run.objects.select_related("environment").get(pk=run.pk), RunEvent.append)

    with django_capture_on_commit_callbacks(execute=True):
        execution._record_failure(writer.job, writer, "terraform plan failed (exit 1): Invalid value")
    writer.flush()

    assert [message.subject for message in mail.outbox] == [f"[Launchpad] Apply run #{run.pk} of fails failed"]


def test_a_new_high_severity_audit_finding_tells_admins_and_the_owner_once(
    django_capture_on_commit_callbacks, queued_deliveries
):

    def audit() -> None:
        run = AuditRun.claim(create_audit_run(None, AuditTrigger.SCHEDULE).pk, "worker")
        collection = Collection(resources=[db_instance(PubliclyAccessible=True)], unreadable=[], regions=["eu-west-1"])
        record_audit(run, collection, evaluate(collection.resources))

    owner = person(name="db-owner")
    make_environment(owner=owner, name="dev")  # the instance's Environment tag
    person("admin", "security")

    with django_capture_on_commit_callbacks(execute=True):
        audit()
    with django_capture_on_commit_callbacks(execute=True):
        audit()  # seen again: nothing new to tell

    assert recipients() == ["db-owner@spotmusic.invalid", "security@spotmusic.invalid"]
    assert mail.outbox[0].subject == (
        "[Launchpad] High-severity audit finding in dev: The database instance is publicly accessible"
    )

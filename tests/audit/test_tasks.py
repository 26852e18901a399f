"""The audit as the worker runs it: on demand and on a schedule, against the emulator, findings kept up to date."""

from __future__ import annotations

import itertools
import os

import pytest
from django.conf import settings

from portal.audit import tasks as audit_tasks
from portal.audit.choices import AuditRunStatus, AuditTrigger, FindingStatus
from portal.audit.models import AuditRun, Finding, create_audit_run
from portal.audit.services import request_audit
from provisioning.aws import client
from tests.factories import make_environment, make_user
from tests.support.worker import tasks_a_worker_discovers

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
SSH_FROM_ANYWHERE = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


@pytest.fixture
def environment():
    return make_environment(name=f"aud{os.getpid() % 100000}x{next(_numbers)}")


def open_group(environment) -> str:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(
        GroupName=f"{environment.name}-bastion",
        Description="bastion",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "Environment", "Value": environment.name}]}
        ],
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=SSH_FROM_ANYWHERE)
    return group


def audit_now(environment, admin) -> AuditRun:
    run = request_audit(admin, environment)
    audit_tasks.run_live_audit(run.pk)
    run.refresh_from_db()
    assert run.status == AuditRunStatus.SUCCEEDED, run.error
    return run


def test_an_environment_audit_finds_fixes_and_relapses_in_the_account(emulator, environment, enqueued_audits):
    admin = make_user("admin")
    group = open_group(environment)

    first = audit_now(environment, admin)
    finding = Finding.objects.get(resource_id=group)
    assert (finding.rule_id, finding.status, finding.environment) == (
        "sg.open-ingress",
        FindingStatus.OPEN,
        environment,
    )
    assert first.regions == [environment.region] and first.new_findings == 1

    client("ec2").revoke_security_group_ingress(GroupId=group, IpPermissions=SSH_FROM_ANYWHERE)
    fixed = audit_now(environment, admin)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.RESOLVED and fixed.resolved_findings == 1

    client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=SSH_FROM_ANYWHERE)
    audit_now(environment, admin)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN and finding.reopened_at is not None


def test_the_scheduled_audit_reads_the_whole_account(emulator, environment):
    group = open_group(environment)

    run_id = audit_tasks.run_scheduled_audit()

    run = AuditRun.objects.get(pk=run_id)
    assert (run.trigger, run.scope, run.status) == (AuditTrigger.SCHEDULE, "account", AuditRunStatus.SUCCEEDED)
    assert Finding.objects.get(resource_id=group).environment == environment


def test_a_scheduled_audit_is_skipped_while_another_is_under_way():
    create_audit_run(None, AuditTrigger.ON_DEMAND)

    assert audit_tasks.run_scheduled_audit() is None
    assert AuditRun.objects.count() == 1


def test_an_audit_that_cannot_read_the_account_fails_with_the_reason(monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("Could not connect to the endpoint URL")

    monkeypatch.setattr(audit_tasks.collect_live, "collect", unreachable)
    run = create_audit_run(None, AuditTrigger.SCHEDULE)

    audit_tasks.run_live_audit(run.pk)

    run.refresh_from_db()
    assert run.status == AuditRunStatus.FAILED
    assert run.error == "ConnectionError: Could not connect to the endpoint URL"
    assert run.finished_at is not None


def test_an_audit_already_taken_is_not_run_twice(monkeypatch):
    run = create_audit_run(None, AuditTrigger.SCHEDULE)
    run.status = AuditRunStatus.SUCCEEDED
    run.save()
    monkeypatch.setattr(audit_tasks.collect_live, "collect", lambda *a, **k: pytest.fail("audited twice"))

    audit_tasks.run_live_audit(run.pk)


def test_beat_audits_the_account_daily_and_a_worker_discovers_the_tasks():
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-account"]
    assert schedule["task"] == audit_tasks.run_scheduled_audit.name == "portal.audit.tasks.run_scheduled_audit"
    assert schedule["schedule"] == float(os.environ.get("LAUNCHPAD_AUDIT_SCHEDULE_SECONDS", "86400"))

    # A fresh interpreter, as a worker starts: the tasks come from autodiscovery alone.
    assert {audit_tasks.run_live_audit.name, audit_tasks.run_scheduled_audit.name} <= tasks_a_worker_discovers()

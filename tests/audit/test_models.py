"""A finding's life across audits: first seen, last seen, resolved when fixed, open again when it comes back."""

from __future__ import annotations

import pytest

from portal.audit.choices import AuditRunStatus, AuditTrigger, FindingStatus, Severity
from portal.audit.models import (
    AuditError,
    AuditRun,
    Finding,
    create_audit_run,
)
from portal.audit.recording import record_audit
from provisioning.audit.collect_live import Collection, Unreadable
from provisioning.audit.rules import SEVERITY_ORDER, evaluate
from tests.audit.documents import bucket, db_instance, role, security_group
from tests.factories import make_environment

pytestmark = pytest.mark.django_db


def audit(*resources, environment=None, unreadable=(), regions=("eu-west-1",)) -> AuditRun:
    """One audit that saw ``resources`` (already normalised documents), recorded as a worker records it."""
    run = AuditRun.claim(create_audit_run(environment, AuditTrigger.SCHEDULE).pk, "worker")
    collection = Collection(resources=list(resources), unreadable=list(unreadable), regions=list(regions))
    return record_audit(run, collection, evaluate(collection.resources))


def public_database():
    return db_instance(PubliclyAccessible=True)


def test_a_first_audit_opens_findings_seen_now_for_the_first_time():
    run = audit(public_database(), role(UsedBy=[]))

    finding = Finding.objects.get(rule_id="rds.public")
    assert finding.status == FindingStatus.OPEN
    assert finding.first_seen_at == finding.last_seen_at
    assert finding.resolved_at is None and finding.last_audit_run == run
    assert (run.status, run.findings_seen, run.new_findings, run.resources_audited) == (
        AuditRunStatus.SUCCEEDED,
        2,
        2,
        2,
    )


def test_a_finding_seen_again_keeps_its_first_seen_time_and_moves_its_last_seen_time():
    audit(public_database())
    first = Finding.objects.get()

    run = audit(public_database())

    again = Finding.objects.get()
    assert again.pk == first.pk
    assert again.first_seen_at == first.first_seen_at
    assert again.last_seen_at > first.last_seen_at
    assert run.new_findings == 0


def test_a_fixed_resource_resolves_its_finding_and_a_relapse_opens_it_again():
    audit(public_database())

    fixed = audit(db_instance())
    finding = Finding.objects.get()
    assert finding.status == FindingStatus.RESOLVED and finding.resolved_at is not None
    assert fixed.resolved_findings == 1

    relapse = audit(public_database())
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert finding.resolved_at is None and finding.reopened_at is not None
    assert relapse.reopened_findings == 1 and relapse.new_findings == 0


def test_a_resource_that_is_gone_resolves_its_findings():
    audit(public_database(), bucket(PublicAccessBlock=None))

    audit(bucket(PublicAccessBlock=None))

    assert Finding.objects.get(rule_id="rds.public").status == FindingStatus.RESOLVED
    assert Finding.objects.get(rule_id="s3.public-access-not-blocked").status == FindingStatus.OPEN


def test_findings_belong_to_the_environment_their_tag_names():
    environment = make_environment(name="dev")

    audit(
        public_database(),
        db_instance(DBInstanceIdentifier="legacy", PubliclyAccessible=True, Tags={"Environment": "gone"}),
    )

    ours = Finding.objects.get(resource_id="spotmusic-dev-mysql")
    assert ours.environment == environment and ours.environment_tag == "dev"
    # A tag naming no Launchpad environment: account-wide, the tag kept for the reader.
    legacy = Finding.objects.get(resource_id="legacy")
    assert legacy.environment is None and legacy.environment_tag == "gone"


def test_an_environment_audit_resolves_only_that_environments_findings():
    dev, qa = make_environment(name="dev"), make_environment(name="qa1")
    qa_database = db_instance(DBInstanceIdentifier="qa1-mysql", PubliclyAccessible=True, Tags={"Environment": "qa1"})
    audit(public_database(), qa_database)

    audit(environment=dev)

    statuses = dict(Finding.objects.values_list("resource_id", "status"))
    assert statuses == {"spotmusic-dev-mysql": FindingStatus.RESOLVED, "qa1-mysql": FindingStatus.OPEN}
    assert qa.findings.get().status == FindingStatus.OPEN


def test_a_resource_the_audit_could_not_read_keeps_its_findings():
    database = public_database()
    audit(database, security_group(GroupId="sg-x", IpPermissions=[]))
    audit(security_group(GroupId="sg-x", IpPermissions=[]))  # a first audit: the database is gone, resolved
    audit(database)

    run = audit(unreadable=[Unreadable("rds_instance", "", database.key, "AccessDenied: no")])

    assert Finding.objects.get(rule_id="rds.public").status == FindingStatus.OPEN
    assert run.warnings == [
        {"kind": "rds_instance", "region": "", "resource": database.key, "error": "AccessDenied: no"}
    ]


def test_a_service_the_audit_could_not_read_in_a_region_keeps_its_findings_there():
    group = security_group({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    group.region = "eu-west-1"
    audit(group)

    audit(unreadable=[Unreadable("security_group", "eu-west-1", "", "AccessDenied: no")])

    assert Finding.objects.get().status == FindingStatus.OPEN


def test_a_region_left_out_of_an_audit_keeps_its_findings():
    group = security_group({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    group.region = "us-west-2"
    audit(group, regions=["us-west-2"])

    audit(regions=["eu-west-1"])

    assert Finding.objects.get().status == FindingStatus.OPEN


def test_one_audit_of_a_scope_at_a_time():
    running = create_audit_run(None, AuditTrigger.ON_DEMAND)

    with pytest.raises(AuditError, match=f"already under way \\(#{running.pk}\\)"):
        create_audit_run(None, AuditTrigger.ON_DEMAND)
    # Another scope may run meanwhile.
    assert create_audit_run(make_environment(name="dev"), AuditTrigger.ON_DEMAND).scope == "dev"


def test_an_audit_is_taken_by_one_worker_only():
    run = create_audit_run(None, AuditTrigger.SCHEDULE)

    assert AuditRun.claim(run.pk, "worker").status == AuditRunStatus.RUNNING
    assert AuditRun.claim(run.pk, "worker") is None


def test_every_severity_a_finding_can_have_is_ranked_by_the_rules_order():
    assert set(Severity.values) == set(SEVERITY_ORDER)
    assert sorted(Severity.values, key=lambda severity: SEVERITY_ORDER[severity]) == ["high", "medium", "low"]

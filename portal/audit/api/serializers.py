from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.audit.models import AuditRun, Finding, Suppression


class SuppressionSerializer(serializers.ModelSerializer):
    # null once the user who suppressed is deleted.
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Suppression
        fields = ["id", "justification", "expires_at", "created_by", "created_at", "ended_at", "active"]
        read_only_fields = fields


class FindingSerializer(serializers.ModelSerializer):
    """A finding in a list: what, where, how bad, since when."""

    # null for an account-wide finding (no Launchpad environment owns the resource).
    environment = serializers.CharField(source="environment.name", read_only=True, default=None, allow_null=True)
    # Plain strings: "status" choice sets of other resources would collide in the schema's enum names.
    status = serializers.CharField(read_only=True, help_text="open, suppressed or resolved.")

    class Meta:
        model = Finding
        fields = [
            "id",
            "rule_id",
            "severity",
            "title",
            "message",
            "status",
            "environment",
            "environment_tag",
            "resource_kind",
            "resource_id",
            "resource_arn",
            "region",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
            "reopened_at",
        ]
        read_only_fields = fields


class FindingDetailSerializer(FindingSerializer):
    """A finding with the rule's reasons, the offending JSON, the pointers to its guilty parts and suppressions."""

    rationale = serializers.SerializerMethodField()
    remediation = serializers.SerializerMethodField()
    suppressions = SuppressionSerializer(many=True, read_only=True)

    class Meta(FindingSerializer.Meta):
        fields = [*FindingSerializer.Meta.fields, "rationale", "remediation", "evidence", "pointers", "suppressions"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_rationale(self, finding: Finding) -> str:
        return finding.rule.rationale if finding.rule else ""

    @extend_schema_field(serializers.CharField())
    def get_remediation(self, finding: Finding) -> str:
        return finding.rule.remediation if finding.rule else ""


class SuppressRequestSerializer(serializers.Serializer):
    justification = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Why the finding is acceptable for now (required)."
    )
    expires_at = serializers.DateTimeField(
        help_text="When the suppression ends and the finding is open again: in the future, at most 365 days away."
    )


class AuditRunSerializer(serializers.ModelSerializer):
    # An account-wide audit has no environment: null, which the schema must allow (allow_null makes it nullable).
    environment = serializers.CharField(
        source="environment.name",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The audited environment's name; null for an account-wide audit.",
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None, allow_null=True)
    status = serializers.CharField(read_only=True, help_text="queued, running, succeeded or failed.")

    class Meta:
        model = AuditRun
        fields = [
            "id",
            "scope",
            "environment",
            "trigger",
            "status",
            "requested_by",
            "regions",
            "resources_audited",
            "findings_seen",
            "new_findings",
            "reopened_findings",
            "resolved_findings",
            "warnings",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class AuditRequestSerializer(serializers.Serializer):
    environment = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="The environment to audit; leave it out (or null) for the whole account.",
    )


class AuditRuleSerializer(serializers.Serializer):
    id = serializers.CharField()
    severity = serializers.CharField()
    resource_kind = serializers.CharField(source="kind.value")
    title = serializers.CharField()
    rationale = serializers.CharField()
    remediation = serializers.CharField()
    live_only = serializers.BooleanField()


class FindingExportSerializer(serializers.Serializer):
    """A finding as exported (portal.audit.export): the CSV's columns, plus evidence and pointers in JSON."""

    id = serializers.IntegerField()
    rule = serializers.CharField(help_text="The rule's id, such as iam.wildcard-action.")
    severity = serializers.CharField(help_text="high, medium or low.")
    status = serializers.CharField(help_text="open, suppressed or resolved.")
    environment = serializers.CharField(help_text="The environment's name; empty for account-wide findings.")
    resource_kind = serializers.CharField()
    resource_id = serializers.CharField()
    title = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    evidence = serializers.JSONField(help_text="The resource's document as the audit saw it (JSON only).")
    pointers = serializers.ListField(
        child=serializers.CharField(), help_text="JSON pointers into the evidence (JSON only)."
    )

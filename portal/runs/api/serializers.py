from __future__ import annotations

from rest_framework import serializers

from portal.runs.choices import RunKind
from portal.runs.models import Run, RunEvent


class RunSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name", read_only=True)
    # null: asked by Launchpad itself (an expiry), and not approved (yet).
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "environment",
            "kind",
            "status",
            "requested_by",
            "approved_by",
            "approved_at",
            "review_comment",
            "needs_approval",
            "approval_reasons",
            "has_changes",
            "plan_summary",
            "plan_findings",
            "error",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class AttributeChangeSerializer(serializers.Serializer):
    """One attribute of a planned change; "(sensitive)" and "(known after apply)" stand for values never shown."""

    name = serializers.CharField(help_text="The attribute, dotted into objects (tags.Owner); lists are whole.")
    before = serializers.JSONField(allow_null=True, help_text="Its value now; null for a create or when unset.")
    after = serializers.JSONField(allow_null=True, help_text="Its planned value; null for a delete or when unset.")
    forces_replacement = serializers.BooleanField(help_text="Changing it makes Terraform replace the resource.")


class ResourceChangeSerializer(serializers.Serializer):
    """What the plan does to one resource, attribute by attribute."""

    address = serializers.CharField()
    module = serializers.CharField(allow_blank=True, help_text="The module declaring it; empty for the root module.")
    type = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "replace", "delete"])
    attributes = AttributeChangeSerializer(
        many=True,
        help_text="A create's settings, a delete's last values, what an update or a replacement changes.",
    )
    replaced_because = serializers.ListField(
        child=serializers.CharField(), help_text="For a replacement: the attributes that cannot change in place."
    )
    values_omitted = serializers.BooleanField(
        help_text="The plan's values are larger than a run keeps: this resource's were left out."
    )


class RunRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices)


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RunEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunEvent
        fields = ["seq", "stream", "message", "data", "created_at"]

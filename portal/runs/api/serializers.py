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


class RunRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices)


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RunEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunEvent
        fields = ["seq", "stream", "message", "data", "created_at"]

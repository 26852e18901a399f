from __future__ import annotations

from rest_framework import serializers

from portal.runs.choices import RunKind, RunStatus
from portal.runs.models import Run, RunEvent


class RunSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name", read_only=True)
    # null: asked by Launchpad itself (an expiry), and not approved (yet).
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None, allow_null=True)
    approvers = serializers.SerializerMethodField(
        help_text="While the plan waits for an approver: who may approve it (by name), by the rule approve applies."
    )

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
            "approvers",
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
        extra_kwargs = {"review_comment": {"help_text": "The approver's comment, or the reason of a rejection."}}

    def get_approvers(self, run: Run) -> list[str]:
        if run.status != RunStatus.AWAITING_APPROVAL:
            return []
        return [user.get_username() for user in run.approvers()]


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


class RejectSerializer(serializers.Serializer):
    # Whether a reason is given is Run.reject's rule (ReasonMissing: 400 naming "reason", the page's sentence).
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Why the plan is rejected (required): kept with the run, in the activity log and sent to its owner.",
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        write_only=True,
        help_text="Deprecated: the former name of `reason`, read when `reason` is not given.",
    )

    def validate(self, attrs: dict) -> dict:
        return {"reason": attrs["reason"] or attrs["comment"]}


class RunEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunEvent
        fields = ["seq", "stream", "message", "data", "created_at"]

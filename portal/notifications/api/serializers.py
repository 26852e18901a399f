from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.environments.models import Environment
from portal.notifications.choices import Event
from portal.notifications.models import Delivery, Webhook


class WebhookSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    environment = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Environment.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only this environment's events; empty: every environment you own (and, for approvers and "
        "admins, the approvals and audit findings they receive).",
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), allow_empty=False)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=200,
        help_text="The HMAC-SHA256 key of X-Launchpad-Signature. Write-only; omitted at creation, Launchpad "
        "generates one and returns it once as new_secret.",
    )
    new_secret = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "name", "url", "environment", "events", "active", "owner", "created_at", "secret", "new_secret"]
        read_only_fields = ["id", "owner", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_new_secret(self, webhook) -> str | None:
        """The secret Launchpad generated, in the response that created the webhook only."""
        return getattr(webhook, "new_secret", None)


class DeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.IntegerField(source="webhook_id", read_only=True)
    log = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook",
            "event",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "finished_at",
            "payload",
            "log",
        ]
        read_only_fields = fields


class EventPreferenceSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=Event.choices)
    email = serializers.BooleanField()


class EnvironmentPreferenceSerializer(serializers.Serializer):
    environment = serializers.SlugRelatedField(slug_field="name", queryset=Environment.objects.all())
    event = serializers.ChoiceField(choices=Event.choices)
    email = serializers.BooleanField()


class NotificationPreferencesSerializer(serializers.Serializer):
    events = EventPreferenceSerializer(
        many=True, help_text="E-mail on or off per event, for all environments (unlisted events: on)."
    )
    environments = EnvironmentPreferenceSerializer(
        many=True, help_text="Overrides for single environments; PUT replaces them all."
    )

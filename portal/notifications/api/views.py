from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.activity.models import record
from portal.notifications.api.serializers import (
    DeliverySerializer,
    NotificationPreferencesSerializer,
    WebhookSerializer,
)
from portal.notifications.models import (
    Webhook,
    preferences_of,
    replace_preferences,
    validate_webhook,
    webhooks_visible_to,
)


class WebhookViewSet(viewsets.ModelViewSet):
    """Your webhooks and those of environments you own (admins: all): signed JSON POSTs per event."""

    serializer_class = WebhookSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return Webhook.objects.none()
        return webhooks_visible_to(self.request.user)

    def _save(self, serializer, webhook: Webhook) -> Webhook:
        data = serializer.validated_data
        for field in ("name", "url", "environment", "events", "active"):
            if field in data:
                setattr(webhook, field, data[field])
        validate_webhook(
            url=webhook.url, events=webhook.events, environment=webhook.environment, user=self.request.user
        )
        if "secret" in data or webhook.pk is None:
            generated = webhook.set_secret(data.get("secret"))
            if "secret" not in data:
                webhook.new_secret = generated
        webhook.save()
        return webhook

    def perform_create(self, serializer):
        with transaction.atomic():
            webhook = self._save(serializer, Webhook(owner=self.request.user))
            record("webhook.created", webhook, request=self.request, url=webhook.url, events=webhook.events)
        serializer.instance = webhook

    def perform_update(self, serializer):
        with transaction.atomic():
            webhook = self._save(serializer, serializer.instance)
            record("webhook.updated", webhook, request=self.request, fields=sorted(serializer.validated_data))

    def perform_destroy(self, instance):
        record("webhook.deleted", instance, request=self.request, url=instance.url)
        instance.delete()

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The webhook's deliveries, newest first, with every attempt."""
        page = self.paginate_queryset(self.get_object().deliveries.all())
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class NotificationPreferencesView(APIView):
    """Your e-mail choices: per event, with overrides for single environments."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=NotificationPreferencesSerializer)
    def get(self, request):
        return Response(NotificationPreferencesSerializer(preferences_of(request.user)).data)

    @extend_schema(request=NotificationPreferencesSerializer, responses=NotificationPreferencesSerializer)
    def put(self, request):
        serializer = NotificationPreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            replace_preferences(request.user, serializer.validated_data)
            record("notification_preferences.updated", request.user, request=request)
        return Response(NotificationPreferencesSerializer(preferences_of(request.user)).data, status=status.HTTP_200_OK)

"""The filter of the notifications page's delivery log (?webhook=<id>); the API lists one webhook's deliveries
at /api/v1/webhooks/{id}/deliveries/, the webhook in the path."""

from __future__ import annotations

import django_filters

from portal.filtersets import FilterSet
from portal.notifications.models import Delivery


class DeliveryFilterSet(FilterSet):
    webhook = django_filters.NumberFilter(field_name="webhook_id", label="Webhook")

    class Meta(FilterSet.Meta):
        model = Delivery
        fields = ["webhook"]

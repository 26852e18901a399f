from rest_framework import serializers

from portal.activity.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "data",
            "ip_address",
            "created_at",
        ]
        read_only_fields = fields

from rest_framework import serializers

from portal.activity.models import ActivityEntry


class ActivityEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityEntry
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

from __future__ import annotations

from rest_framework import serializers

from portal.accounts.models import ApiToken


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="api")


class NewTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown once: Launchpad keeps only its hash.")


class ApiTokenSerializer(serializers.ModelSerializer):
    preview = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "preview", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "preview", "created_at", "last_used_at", "revoked_at"]

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from portal.accounts.models import MAX_LIFETIME_DAYS, ApiToken, TokenScope


class TokenOptionsSerializer(serializers.Serializer):
    """What a new token is: its name, scope and lifetime."""

    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(
        choices=TokenScope.choices,
        default=TokenScope.FULL,
        help_text="read: safe methods only (GET, HEAD, OPTIONS); full: everything its user may do.",
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text=f"The token stops working this many days from now (1 to {MAX_LIFETIME_DAYS}); "
        "left out or null: it does not expire.",
    )


class TokenRequestSerializer(TokenOptionsSerializer):
    """A username and password for a new token of that user (POST /auth/token/)."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="api")


class TokenCreateSerializer(TokenOptionsSerializer):
    """A new token made by a signed-in user (with the password again) or by an admin's full-access token."""

    password = serializers.CharField(
        max_length=4096,
        style={"input_type": "password"},
        trim_whitespace=False,
        required=False,
        write_only=True,
        help_text="Your password: needed when signed in with the session cookie. Not read for an admin's token.",
    )
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Whose token it is (admins only; default: yours).",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    preview = serializers.CharField(read_only=True)
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"], read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "preview",
            "scope",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_by_token",
        ]
        read_only_fields = fields
        extra_kwargs = {"created_by_token": {"help_text": "The token whose request made this one (null: none)."}}


class NewTokenSerializer(ApiTokenSerializer):
    """A token just made, with its key: in this answer only."""

    token = serializers.SerializerMethodField(help_text="Shown once: Launchpad keeps only its hash.")
    user = serializers.CharField(source="user.username", read_only=True, help_text="Whose token it is.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "user", "token"]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return self.context["key"]

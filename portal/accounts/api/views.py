from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import DEFAULT_DB_ALIAS, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.api.serializers import (
    ApiTokenSerializer,
    NewTokenSerializer,
    TokenCreateSerializer,
    TokenRequestSerializer,
)
from portal.accounts.authentication import HashedTokenAuthentication
from portal.accounts.lifecycle import revoke
from portal.accounts.models import ApiToken, RevokedTokenError
from portal.accounts.roles import is_admin
from portal.accounts.throttling import SignInAttempt, password_confirmed
from portal.activity.models import record
from portal.api_schema import ErrorSerializer
from portal.client_address import client_address

TOO_MANY_ATTEMPTS = OpenApiResponse(
    ErrorSerializer,
    description="Too many failed sign-in attempts from this address or for this username: the "
    "Retry-After header says in how many seconds to try again.",
)


def issue(request, owner, options: dict, created_by_token: ApiToken | None = None) -> Response:
    """Make the token ``options`` describe for ``owner``, record it, and answer 201 with its key (once)."""
    # The token and its activity event together (this view runs outside the request's transaction).
    with transaction.atomic():
        token, key = ApiToken.issue(
            owner,
            options["name"],
            scope=options["scope"],
            expires_in_days=options["expires_in_days"],
            created_by_token=created_by_token,
        )
        # POST /auth/token/ has no signed-in user: the owner who gave the password made it.
        actor = request.user if request.user.is_authenticated else owner
        record(
            "token.created",
            token,
            actor=actor,
            request=request,
            **({"user": owner.get_username()} if owner != actor else {}),
        )
    body = NewTokenSerializer(token, context={"key": key}).data
    return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class ObtainTokenView(APIView):
    """Exchange a username and password for a new API token. Failed attempts are limited per client address
    and per username (the "login" rate): past the limit the answer is a 429 with Retry-After."""

    # The count of failed attempts must outlive the 401 they get (portal/atomic_requests.py).
    _non_atomic_requests = frozenset({DEFAULT_DB_ALIAS})

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get_authenticate_header(self, request):
        # With no authenticators DRF turns a refused login into a 403; naming the scheme keeps it a 401.
        return HashedTokenAuthentication.keyword

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: NewTokenSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Wrong username or password."),
            429: TOO_MANY_ATTEMPTS,
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        attempt = SignInAttempt(client_address(request), username)
        if not attempt.allowed:
            raise attempt.refusal()
        user = authenticate(request, username=username, password=serializer.validated_data["password"])
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        attempt.succeeded()
        return issue(request, user, serializer.validated_data)


class MayCreateTokens(permissions.BasePermission):
    """A token may not make tokens, or one stolen token would buy any number of others: creating one takes the
    password (the session, or POST /auth/token/). Admins' full-access tokens may, and what they make is revoked
    with them."""

    message = (
        "A token cannot create tokens: use POST /api/v1/auth/token/ with your username and password, "
        "or the API tokens page (only admins may create tokens with a token)."
    )

    def has_permission(self, request, view) -> bool:
        return view.action != "create" or not isinstance(request.auth, ApiToken) or is_admin(request.user)


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The signed-in user's own API tokens: list, create (key shown once), revoke (with every token made with it)."""

    # A wrong password's count must outlive the 400 it gets (portal/atomic_requests.py); writes here are atomic.
    _non_atomic_requests = frozenset({DEFAULT_DB_ALIAS})

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated, MayCreateTokens]
    queryset = ApiToken.objects.none()  # typed path parameter in the schema; real rows from get_queryset

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(
        request=TokenCreateSerializer,
        responses={
            201: NewTokenSerializer,
            400: OpenApiResponse(description="Invalid: a missing or wrong password, a bad scope or expiry."),
            403: OpenApiResponse(
                description="Made with a token (not an admin's), with a read-only token, or for another user by "
                "someone not an admin."
            ),
            429: TOO_MANY_ATTEMPTS,
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data
        owner = options.get("user", request.user)
        if owner != request.user and not is_admin(request.user):
            raise PermissionDenied("Only admins create tokens for other users.")
        by_token = request.auth if isinstance(request.auth, ApiToken) else None
        if by_token is None:
            # A session cookie alone (a browser left open, a stolen cookie) does not make long-lived keys.
            if not options.get("password"):
                raise ValidationError({"password": ["Enter your password to create a token."]})
            if not password_confirmed(request, options["password"]):
                raise ValidationError({"password": ["Wrong password."]})
        try:
            return issue(request, owner, options, created_by_token=by_token)
        except RevokedTokenError as error:
            raise AuthenticationFailed("Invalid or revoked token.") from error

    def perform_destroy(self, instance):
        revoke(instance, self.request)

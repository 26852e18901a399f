from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.api.serializers import ApiTokenSerializer, NewTokenSerializer, TokenRequestSerializer
from portal.accounts.authentication import HashedTokenAuthentication
from portal.accounts.models import ApiToken
from portal.accounts.throttling import SignInAttempt, client_address
from portal.activity.models import record
from portal.api_schema import ErrorSerializer


class ObtainTokenView(APIView):
    """Exchange a username and password for a new API token. Failed attempts are limited per client address
    and per username (the "login" rate): past the limit the answer is a 429 with Retry-After."""

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
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many failed sign-in attempts from this address or for this username: the "
                "Retry-After header says in how many seconds to try again.",
            ),
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
        token, key = ApiToken.issue(user, serializer.validated_data["name"])
        record("token.created", token, actor=user, request=request)
        return Response({"id": token.pk, "name": token.name, "token": key}, status=status.HTTP_201_CREATED)


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The signed-in user's own API tokens: list, create (key shown once), revoke."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # typed path parameter in the schema; real rows from get_queryset

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=ApiTokenSerializer, responses={201: NewTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = ApiToken.issue(request.user, serializer.validated_data["name"])
        record("token.created", token, request=request)
        return Response({"id": token.pk, "name": token.name, "token": key}, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        instance.revoke()
        record("token.revoked", instance, request=self.request)

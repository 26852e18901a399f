from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.audit.models import open_high_findings
from portal.environments.api.serializers import (
    PREFETCHED_FINDINGS,
    BlueprintSerializer,
    DriftCheckDetailSerializer,
    DriftCheckSerializer,
    EnvironmentHistorySerializer,
    EnvironmentSerializer,
    EnvironmentUpdateSerializer,
    ExtendSerializer,
)
from portal.environments.filtersets import EnvironmentFilterSet
from portal.environments.models import (
    DEFAULT_LIFETIME,
    Blueprint,
    DriftCheck,
    Environment,
    check_definition,
)
from portal.environments.services import change_settings, define_environment, name_history, request_drift_check
from portal.permissions import CanChangeEnvironment, can_change_environment
from portal.runs.api.pagination import BoundedLimitOffsetPagination
from portal.runs.api.serializers import RunSerializer
from portal.runs.choices import RunKind
from portal.runs.services import request_run


class BlueprintViewSet(viewsets.ReadOnlyModelViewSet):
    """The blueprints of the module library, with the variable schema read from their .tf files."""

    queryset = Blueprint.objects.filter(available=True)
    serializer_class = BlueprintSerializer
    lookup_field = "name"


@extend_schema_view(  # the list's filters come from EnvironmentFilterSet (drf-spectacular reads it)
    list=extend_schema(
        responses={
            200: EnvironmentSerializer(many=True),
            400: OpenApiResponse(description="A filter's value is not one of its choices."),
        },
    )
)
class EnvironmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Environments: list, create (and apply), retrieve, update variables, delete (= a destroy run)."""

    serializer_class = EnvironmentSerializer
    permission_classes = [IsAuthenticated, CanChangeEnvironment]
    pagination_class = BoundedLimitOffsetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EnvironmentFilterSet
    lookup_field = "name"
    lookup_value_regex = "[a-z][a-z0-9-]{0,40}"

    def get_queryset(self):
        queryset = Environment.objects.select_related("blueprint", "owner")
        if self.action == "list":
            # A page of environments in six queries whatever its size: the newest run and drift check and the open
            # high findings of every row come in one query each, and the columns a list never shows (the blueprint's variable schema,
            # the encrypted secrets) are not read.
            queryset = (
                queryset.with_latest_run()
                .with_latest_drift_check()
                .prefetch_related(Prefetch("findings", queryset=open_high_findings(), to_attr=PREFETCHED_FINDINGS))
                .defer("encrypted_secrets", "blueprint__variables", "blueprint__description")
            )
        return queryset

    def get_object(self):
        """The environment the name means: the one holding it, else the latest destroyed one (history: the rest)."""
        environment = get_object_or_404(self.get_queryset().named(self.kwargs[self.lookup_field]))
        self.check_object_permissions(self.request, environment)
        return environment

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        definition = check_definition(
            name=data["name"],
            blueprint=data["blueprint"],
            tier=data["tier"],
            region=data["region"],
            variables=data["variables"],
            lifetime_hours=data.get("lifetime_hours", DEFAULT_LIFETIME),
        )
        environment, _ = define_environment(definition, request.user, apply=data["apply"], request=request)
        return Response(self.get_serializer(environment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=EnvironmentUpdateSerializer,
        responses={
            202: RunSerializer,
            400: OpenApiResponse(description="A value is refused: {variable: [the rule's message]}; nothing changed."),
            409: OpenApiResponse(description="Destroyed, being changed, or a run is under way; nothing changed."),
        },
    )
    def partial_update(self, request, *args, **kwargs):
        """Change the environment's settings (merged into the current ones; null removes one, back to the default)
        and ask for the run that plans the change: applied under the usual approval rules, or a plan only with
        ``apply`` false. Name, tier and region are not settings and cannot change."""
        environment = self.get_object()
        serializer = EnvironmentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variables = {**environment.variables, **serializer.validated_data["variables"]}
        variables = {k: v for k, v in variables.items() if v is not None}  # null removes a setting
        run = change_settings(
            environment, variables, request.user, apply=serializer.validated_data["apply"], request=request
        )
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            200: OpenApiResponse(
                RunSerializer, description="Nothing was ever applied: deleted at once, its destroy run succeeded."
            ),
            202: OpenApiResponse(RunSerializer, description="The destroy run is queued."),
            409: OpenApiResponse(description="The environment is already destroyed."),
        }
    )
    def destroy(self, request, *args, **kwargs):
        run = request_run(self.get_object(), RunKind.DESTROY, request.user, request)
        return Response(
            RunSerializer(run).data, status=status.HTTP_200_OK if run.is_finished else status.HTTP_202_ACCEPTED
        )

    @extend_schema(responses=EnvironmentHistorySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=BoundedLimitOffsetPagination, filter_backends=[])
    def history(self, request, *args, **kwargs):
        """Every environment that carried this name, the newest first, a page at a time, each with its newest runs
        and how many it has: a destroyed environment's name may be used again, and the earlier ones' history stays
        here."""
        environments = name_history(self.kwargs[self.lookup_field])
        page = self.paginate_queryset(environments)
        if not page and not environments.exists():
            raise NotFound("No environment was ever called that.")
        return self.get_paginated_response(EnvironmentHistorySerializer(page, many=True).data)

    @extend_schema(
        request=ExtendSerializer,
        responses={200: EnvironmentSerializer, 400: OpenApiResponse(description="The extension is refused.")},
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, *args, **kwargs):
        """Push the environment's expiry further (owner or admin); audited, and the owner is warned again."""
        environment = self.get_object()
        serializer = ExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        environment.extend(serializer.validated_data["hours"], request.user, request)
        return Response(self.get_serializer(environment).data)


class DriftCheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The drift checks of one environment (refresh-only plans; never applied); POST asks for one now."""

    permission_classes = [IsAuthenticated]

    def environment(self) -> Environment:
        return get_object_or_404(Environment.objects.named(self.kwargs["environment_name"]))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no environment name
            return DriftCheck.objects.none()
        return DriftCheck.objects.filter(environment=self.environment()).select_related("environment", "requested_by")

    def get_serializer_class(self):
        return DriftCheckDetailSerializer if self.action == "retrieve" else DriftCheckSerializer

    @extend_schema(
        request=None,
        responses={
            202: DriftCheckSerializer,
            409: OpenApiResponse(description="A run or another check is under way, or the environment is not applied."),
        },
    )
    def create(self, request, *args, **kwargs):
        environment = self.environment()
        if not can_change_environment(request.user, environment):
            raise PermissionDenied("Only the environment's owner or an admin can ask for a drift check.")
        check = request_drift_check(environment, request.user, request)
        return Response(DriftCheckSerializer(check).data, status=status.HTTP_202_ACCEPTED)

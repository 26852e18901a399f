from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.environments.models import Environment
from portal.permissions import IsApprover, can_change_environment
from portal.runs.api.pagination import RunEventPagination
from portal.runs.api.serializers import (
    ResourceChangeSerializer,
    ReviewSerializer,
    RunEventSerializer,
    RunRequestSerializer,
    RunSerializer,
)
from portal.runs.filtersets import RunEventFilterSet
from portal.runs.models import (
    Run,
    RunEvent,
)
from portal.runs.services import cancel_run, request_run, review_run

# A refused transition (portal.api_errors): the run or the environment is not in a state that allows it.
RUN_ID = "A unique integer value identifying this run."
REFUSED = OpenApiResponse(description="Refused in the run's or the environment's present state; detail says why.")


class EnvironmentRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The runs of one environment; POST asks for a plan, apply or destroy."""

    serializer_class = RunSerializer
    permission_classes = [IsAuthenticated]

    def environment(self) -> Environment:
        return get_object_or_404(Environment.objects.named(self.kwargs["environment_name"]))

    def get_queryset(self):
        return Run.objects.filter(environment=self.environment()).select_related(
            "environment", "requested_by", "approved_by"
        )

    @extend_schema(request=RunRequestSerializer, responses={201: RunSerializer, 409: REFUSED})
    def create(self, request, *args, **kwargs):
        environment = self.environment()
        if not can_change_environment(request.user, environment):
            raise PermissionDenied("Only the environment's owner or an admin can ask for its runs.")
        serializer = RunRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = request_run(environment, serializer.validated_data["kind"], request.user, request)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One run: read it, cancel it, approve or reject its plan, and tail its events."""

    serializer_class = RunSerializer
    permission_classes = [IsAuthenticated]
    queryset = Run.objects.select_related("environment", "requested_by", "approved_by")
    filterset_class = None  # the events action's is RunEventFilterSet

    @extend_schema(request=None, responses={200: RunSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not (can_change_environment(request.user, run.environment) or run.requested_by_id == request.user.pk):
            raise PermissionDenied("Only the requester, the environment's owner or an admin can cancel a run.")
        run = cancel_run(run.pk, request.user, request)
        return Response(RunSerializer(run).data)

    def _review(self, request, approve: bool):
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = serializer.validated_data["comment"]
        run = review_run(self.get_object().pk, request.user, approve, comment, request)
        return Response(RunSerializer(run).data)

    @extend_schema(request=ReviewSerializer, responses={200: RunSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsApprover])
    def approve(self, request, pk=None):
        # A plan with high-severity findings: an admin approves, and says why (Run.approve; 403 or 400).
        return self._review(request, approve=True)

    @extend_schema(request=ReviewSerializer, responses={200: RunSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, IsApprover])
    def reject(self, request, pk=None):
        return self._review(request, approve=False)

    @extend_schema(responses={200: ResourceChangeSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def changes(self, request, pk=None):
        """Each resource the run's plan changes, with its attributes before → after (empty before the plan)."""
        return Response(ResourceChangeSerializer(self.get_object().changes(), many=True).data)

    @extend_schema(
        # The action's queryset is the events (for their filter); the id in the path is still the run's.
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description=RUN_ID)],
        responses={200: RunEventSerializer(many=True), 400: OpenApiResponse(description="after is not a number.")},
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=RunEventPagination,
        queryset=RunEvent.objects.order_by("seq"),
        filter_backends=[DjangoFilterBackend],
        filterset_class=RunEventFilterSet,
    )
    def events(self, request, pk=None):
        # Polled every second or two by every open log view: only the run's existence is read, not its row
        # (plan, findings) and its three joins; the events come by the (run, seq) index.
        run = get_object_or_404(Run.objects.only("id"), pk=pk)
        self.check_object_permissions(request, run)
        events = self.filter_queryset(self.get_queryset().filter(run_id=run.pk))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(RunEventSerializer(page, many=True).data)

"""GET /api/v1/environments/{name}/status/ and GET /api/v1/status/: what the dashboards show, as JSON."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.dashboards import status
from portal.dashboards.api.serializers import EnvironmentStatusSerializer, FleetSerializer
from portal.environments.models import Environment
from provisioning.status import DEFAULT_WINDOW, WINDOWS

REFRESH = OpenApiParameter(
    "refresh", OpenApiTypes.BOOL, description="Read AWS now instead of serving what the cache holds (up to its TTL)."
)


INCLUDE_DESTROYED = OpenApiParameter(
    "include_destroyed", OpenApiTypes.BOOL, description="List destroyed environments too (left out by default)."
)


def wants_refresh(request) -> bool:
    return request.query_params.get("refresh", "").lower() in {"1", "true", "yes"}


class EnvironmentStatusView(APIView):
    """An environment's health, ECS services, alarms, queue depths and metric charts."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="environment_status",
        parameters=[
            OpenApiParameter(
                "window", str, enum=list(WINDOWS), default=DEFAULT_WINDOW, description="Chart time window."
            ),
            REFRESH,
        ],
        responses={200: EnvironmentStatusSerializer, 400: OpenApiResponse(description="window is not 1h or 24h.")},
    )
    def get(self, request, name: str):
        environment = get_object_or_404(Environment.objects.select_related("blueprint").named(name))
        dashboard = status.environment_dashboard(
            environment, request.query_params.get("window", DEFAULT_WINDOW), refresh=wants_refresh(request)
        )
        return Response(EnvironmentStatusSerializer(dashboard).data)


class FleetStatusView(APIView):
    """Every environment's health badge, worst first, with how many are at each level."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="fleet_status", parameters=[REFRESH, INCLUDE_DESTROYED], responses=FleetSerializer)
    def get(self, request):
        entries = status.fleet(
            refresh=wants_refresh(request), include_destroyed=status.asks_for_destroyed(request.query_params)
        )
        return Response(FleetSerializer({"counts": status.level_counts(entries), "environments": entries}).data)

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from portal.activity.api.serializers import ActivityEntrySerializer
from portal.activity.models import ActivityEntry
from portal.permissions import IsAdmin


@extend_schema(
    parameters=[OpenApiParameter("action", str), OpenApiParameter("actor", str), OpenApiParameter("object_type", str)]
)
class ActivityEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity log (admins only)."""

    serializer_class = ActivityEntrySerializer
    permission_classes = [IsAuthenticated, IsAdmin]

    def get_queryset(self):
        queryset = ActivityEntry.objects.all()
        params = self.request.query_params
        if params.get("action"):
            queryset = queryset.filter(action=params["action"])
        if params.get("actor"):
            queryset = queryset.filter(actor_name=params["actor"])
        if params.get("object_type"):
            queryset = queryset.filter(object_type=params["object_type"])
        return queryset


@extend_schema_view(list=extend_schema(deprecated=True), retrieve=extend_schema(deprecated=True))
class ActivityEntryAliasViewSet(ActivityEntryViewSet):
    """The activity log under its former route, /api/v1/audit-events/, kept for the scripts that use it."""

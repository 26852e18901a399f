from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from portal.activity.api.serializers import AuditEventSerializer
from portal.activity.models import AuditEvent
from portal.permissions import IsAdmin


@extend_schema(
    parameters=[OpenApiParameter("action", str), OpenApiParameter("actor", str), OpenApiParameter("object_type", str)]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity log (admins only)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated, IsAdmin]

    def get_queryset(self):
        queryset = AuditEvent.objects.all()
        params = self.request.query_params
        if params.get("action"):
            queryset = queryset.filter(action=params["action"])
        if params.get("actor"):
            queryset = queryset.filter(actor_name=params["actor"])
        if params.get("object_type"):
            queryset = queryset.filter(object_type=params["object_type"])
        return queryset

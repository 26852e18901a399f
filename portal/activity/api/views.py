from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from portal.activity.api.serializers import AuditEventSerializer
from portal.activity.filtersets import AuditEventFilterSet
from portal.activity.models import AuditEvent
from portal.permissions import IsAdmin


@extend_schema(
    parameters=[
        OpenApiParameter("action", str),
        OpenApiParameter("actor", str),
        OpenApiParameter("object_type", str),
        OpenApiParameter("search", str, description="Part of the object's name"),
    ]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity log (admins only)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated, IsAdmin]
    queryset = AuditEvent.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilterSet

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from portal.activity.api.serializers import ActivityEntrySerializer
from portal.activity.filtersets import ActivityEntryFilterSet
from portal.activity.models import ActivityEntry
from portal.permissions import IsAdmin


class ActivityEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The activity log (admins only)."""

    serializer_class = ActivityEntrySerializer
    permission_classes = [IsAuthenticated, IsAdmin]
    queryset = ActivityEntry.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityEntryFilterSet


@extend_schema_view(list=extend_schema(deprecated=True), retrieve=extend_schema(deprecated=True))
class ActivityEntryAliasViewSet(ActivityEntryViewSet):
    """The activity log under its former route, /api/v1/audit-events/, kept for the scripts that use it."""

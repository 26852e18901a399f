from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from portal.audit.api.serializers import (
    AuditRequestSerializer,
    AuditRuleSerializer,
    AuditRunSerializer,
    FindingDetailSerializer,
    FindingExportSerializer,
    FindingSerializer,
    SuppressRequestSerializer,
)
from portal.audit.export import export_records, filename, records_csv
from portal.audit.filtersets import FindingFilterSet
from portal.audit.models import AuditRun, Finding, suppress
from portal.audit.services import request_audit
from portal.audit.views import by_severity
from portal.environments.models import Environment
from portal.permissions import IsAdmin
from provisioning.audit.rules import RULES


class FindingsCSVRenderer(BaseRenderer):
    """The export's CSV (``?format=csv``): the findings' columns; an error as one ``detail`` column."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, list):
            return records_csv(data)
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return f"detail\r\n{detail}\r\n"


# The filters of the list and the export come from FindingFilterSet (drf-spectacular reads it); a value a filter
# refuses (not one of its choices, not a date and time) is a 400 naming it.
BAD_FILTER = OpenApiResponse(
    description="A filter is not one of its choices or not a date and time, or the format is not json or csv."
)


@extend_schema_view(list=extend_schema(responses={200: FindingSerializer(many=True), 400: BAD_FILTER}))
class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit's findings, most severe first (admins only); one of them can be suppressed with a justification."""

    permission_classes = [IsAuthenticated, IsAdmin]
    queryset = Finding.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = FindingFilterSet

    def get_serializer_class(self):
        return FindingSerializer if self.action == "list" else FindingDetailSerializer

    def perform_content_negotiation(self, request, force=False):
        # DRF answers an unknown ?format= with a 404; the export's format is a parameter like any other: a 400.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            if self.action != "export":
                raise
            raise ValidationError({"format": ["Choose json or csv."]}) from None

    def get_queryset(self):
        findings = Finding.objects.select_related("environment").prefetch_related("suppressions__created_by")
        if self.action not in ("list", "export"):
            return findings
        return by_severity(findings)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["json", "csv"],
                description="json (default): a list with evidence and pointers; csv: a header row, then a row each.",
            ),
        ],
        responses={
            (200, "application/json"): FindingExportSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="Columns: id, rule, severity, status, environment, resource kind, resource id, title, "
                "first seen, last seen, resolved at.",
            ),
            400: BAD_FILTER,
        },
    )
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer, FindingsCSVRenderer], pagination_class=None)
    def export(self, request):
        """Every finding the filters select (not one page), as a JSON or CSV download."""
        records = export_records(self.filter_queryset(self.get_queryset()))
        response = Response(records)
        extension = "csv" if request.accepted_renderer.format == "csv" else "json"
        response["Content-Disposition"] = f'attachment; filename="{filename(extension)}"'
        return response

    @extend_schema(request=SuppressRequestSerializer, responses={201: FindingDetailSerializer})
    @action(detail=True, methods=["post"])
    def suppress(self, request, pk=None):
        """Suppress the finding until ``expires_at``; the justification is kept and logged in the activity log."""
        finding = self.get_object()
        serializer = SuppressRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        suppress(
            finding,
            request.user,
            serializer.validated_data["justification"],
            serializer.validated_data["expires_at"],
            request=request,
        )
        finding.refresh_from_db()
        return Response(FindingDetailSerializer(finding).data, status=status.HTTP_201_CREATED)


class AuditRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Live audits (admins only): list them, read one, or ask for one now (of the account or one environment)."""

    serializer_class = AuditRunSerializer
    permission_classes = [IsAuthenticated, IsAdmin]
    queryset = AuditRun.objects.select_related("environment", "requested_by")

    @extend_schema(
        request=AuditRequestSerializer,
        responses={
            201: AuditRunSerializer,
            404: OpenApiResponse(description="There is no environment of that name."),
            409: OpenApiResponse(description="An audit of the same scope is already under way."),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = AuditRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data.get("environment")
        environment = get_object_or_404(Environment.objects.named(name)) if name else None
        with transaction.atomic():
            run = request_audit(request.user, environment, request=request)
        return Response(AuditRunSerializer(run).data, status=status.HTTP_201_CREATED)


class AuditRuleViewSet(viewsets.ViewSet):
    """The rules the audit and the pre-apply check of plans apply (admins only)."""

    permission_classes = [IsAuthenticated, IsAdmin]
    serializer_class = AuditRuleSerializer

    @extend_schema(responses=AuditRuleSerializer(many=True))
    def list(self, request):
        return Response(AuditRuleSerializer(list(RULES.values()), many=True).data)

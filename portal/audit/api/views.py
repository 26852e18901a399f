from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.audit.api.serializers import (
    AuditRequestSerializer,
    AuditRuleSerializer,
    AuditRunSerializer,
    FindingDetailSerializer,
    FindingSerializer,
    SuppressRequestSerializer,
)
from portal.audit.choices import FindingStatus, ResourceKind, Severity
from portal.audit.forms import ACCOUNT_WIDE, filter_findings
from portal.audit.models import AuditError, AuditRun, Finding, release_expired_suppressions, request_audit, suppress
from portal.audit.views import by_severity
from portal.environments.models import Environment
from portal.permissions import IsAdmin
from provisioning.audit.rules import RULES


def _since(params, name: str):
    value = params.get(name)
    if value in (None, ""):
        return None
    when = parse_datetime(value)
    if when is None:
        raise ValidationError({name: ["Give a date and time such as 2026-11-24T09:00:00Z."]})
    return when


@extend_schema(
    parameters=[
        OpenApiParameter(
            "environment", str, description=f"An environment's name, or {ACCOUNT_WIDE!r} for account-wide."
        ),
        OpenApiParameter("severity", str, enum=Severity.values),
        OpenApiParameter("rule", str, description="A rule id, such as iam.wildcard-action.", enum=list(RULES)),
        OpenApiParameter(
            "status", str, enum=[*FindingStatus.values, "all"], description="Default: open and suppressed."
        ),
        OpenApiParameter("resource_kind", str, enum=ResourceKind.values),
        OpenApiParameter("search", str, description="Part of the resource's name or ARN."),
        OpenApiParameter("first_seen_after", str, description="Only findings first seen after this time (ISO 8601)."),
        OpenApiParameter("resolved_after", str, description="Only findings resolved after this time (ISO 8601)."),
    ]
)
class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit's findings, most severe first (admins only); one of them can be suppressed with a justification."""

    permission_classes = [IsAuthenticated, IsAdmin]
    queryset = Finding.objects.all()

    def get_serializer_class(self):
        return FindingSerializer if self.action == "list" else FindingDetailSerializer

    def get_queryset(self):
        release_expired_suppressions()
        findings = Finding.objects.select_related("environment").prefetch_related("suppressions__created_by")
        if self.action != "list":
            return findings
        params = self.request.query_params
        findings = filter_findings(
            findings,
            environment=params.get("environment", ""),
            severity=params.get("severity", ""),
            rule=params.get("rule", ""),
            status=params.get("status", ""),
            kind=params.get("resource_kind", ""),
            search=params.get("search", ""),
        )
        if first_seen_after := _since(params, "first_seen_after"):
            findings = findings.filter(first_seen_at__gt=first_seen_after)
        if resolved_after := _since(params, "resolved_after"):
            findings = findings.filter(resolved_at__gt=resolved_after)
        return by_severity(findings)

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
            409: OpenApiResponse(description="An audit of the same scope is already under way."),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = AuditRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name = serializer.validated_data.get("environment")
        environment = get_object_or_404(Environment, name=name) if name else None
        try:
            with transaction.atomic():
                run = request_audit(request.user, environment, request=request)
        except AuditError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(AuditRunSerializer(run).data, status=status.HTTP_201_CREATED)


class AuditRuleViewSet(viewsets.ViewSet):
    """The rules the audit and the pre-apply check of plans apply (admins only)."""

    permission_classes = [IsAuthenticated, IsAdmin]
    serializer_class = AuditRuleSerializer

    @extend_schema(responses=AuditRuleSerializer(many=True))
    def list(self, request):
        return Response(AuditRuleSerializer(list(RULES.values()), many=True).data)

"""The audit pages (admins only): findings with filters, a finding's detail, what changed in a day, the rules."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.roles import is_admin
from portal.audit.choices import SEVERITY_RANK, FindingStatus, Severity
from portal.audit.evidence import evidence_lines, missing_pointers
from portal.audit.forms import AuditRequestForm, FindingFilterForm, SuppressionForm
from portal.audit.models import AuditError, AuditRun, Finding, release_expired_suppressions, request_audit, suppress
from portal.environments.models import Environment
from provisioning.audit.rules import RULES

PAGE_SIZE = 100
CHANGES_WINDOW = timedelta(hours=24)


def admin_only(view):
    """Signed-in admins only; everyone else gets a 403 with the reason."""

    @login_required
    @wraps(view)
    def check(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("Only admins can see the security audit.")
        return view(request, *args, **kwargs)

    return check


def by_severity(queryset):
    """Most severe first, then rule and resource."""
    rank = Case(
        *[When(severity=severity, then=Value(order)) for severity, order in SEVERITY_RANK.items()],
        output_field=IntegerField(),
    )
    return queryset.annotate(severity_rank=rank).order_by("severity_rank", "rule_id", "resource_id")


def open_counts() -> dict[str, int]:
    counts = Finding.objects.filter(status=FindingStatus.OPEN).aggregate(
        **{severity.value: Count("pk", filter=Q(severity=severity)) for severity in Severity}
    )
    return {severity.label: counts[severity.value] for severity in Severity}


@admin_only
@require_GET
def finding_list(request):
    release_expired_suppressions()
    filters = FindingFilterForm(request.GET or None)
    findings = Finding.objects.select_related("environment")
    findings = filters.filter(findings) if request.GET else findings.exclude(status=FindingStatus.RESOLVED)
    page = Paginator(by_severity(findings), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/finding_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "filtered": bool(query),
            "counts": open_counts(),
            "audit_form": AuditRequestForm(),
            "audit_runs": AuditRun.objects.select_related("requested_by")[:5],
        },
    )


@admin_only
@require_GET
def finding_detail(request, pk: int):
    release_expired_suppressions()
    finding = get_object_or_404(Finding.objects.select_related("environment", "last_audit_run"), pk=pk)
    return render(request, "audit/finding_detail.html", _detail_context(finding, SuppressionForm()))


def _detail_context(finding: Finding, form: SuppressionForm) -> dict:
    return {
        "finding": finding,
        "rule": RULES.get(finding.rule_id),
        "lines": evidence_lines(finding.evidence, finding.pointers),
        "missing": missing_pointers(finding.evidence, finding.pointers),
        "suppression": finding.active_suppression,
        "suppressions": finding.suppressions.select_related("created_by"),
        "form": form,
    }


@admin_only
@require_POST
def finding_suppress(request, pk: int):
    finding = get_object_or_404(Finding, pk=pk)
    form = SuppressionForm(request.POST)
    if form.is_valid():
        try:
            suppress(
                finding,
                request.user,
                form.cleaned_data["justification"],
                form.cleaned_data["expires_at"],
                request=request,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                form.add_error(None, error.messages)
        else:
            messages.success(request, f"Finding suppressed until {form.cleaned_data['expires_at']:%Y-%m-%d %H:%M} UTC.")
            return redirect("audit:finding", finding.pk)
    return render(request, "audit/finding_detail.html", _detail_context(finding, form), status=400)


@admin_only
@require_POST
def audit_request(request):
    """ "Run audit now": queue a live audit of the account or of one environment."""
    form = AuditRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the whole account or a live environment to audit.")
        return redirect("audit:findings")
    name = form.cleaned_data["environment"]
    environment = get_object_or_404(Environment, name=name) if name else None
    try:
        run = request_audit(request.user, environment, request=request)
    except AuditError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Audit #{run.pk} of {run.scope_label} queued: findings update when it is done.")
    return redirect("audit:findings")


@admin_only
@require_GET
def changes(request):
    """What changed in the last 24 hours: new and re-opened findings, and resolved ones."""
    release_expired_suppressions()
    since = timezone.now() - CHANGES_WINDOW
    findings = Finding.objects.select_related("environment")
    return render(
        request,
        "audit/changes.html",
        {
            "since": since,
            "new": by_severity(findings.filter(first_seen_at__gte=since)),
            "reopened": by_severity(findings.filter(reopened_at__gte=since, first_seen_at__lt=since)),
            "resolved": by_severity(findings.filter(status=FindingStatus.RESOLVED, resolved_at__gte=since)),
            "audit_runs": AuditRun.objects.filter(created_at__gte=since).select_related("requested_by"),
        },
    )


@admin_only
@require_GET
def rule_list(request):
    return render(request, "audit/rule_list.html", {"rules": list(RULES.values())})

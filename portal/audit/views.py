"""The audit pages (admins only): findings with filters and their export, a finding's detail, what changed in a
day, the rules, and the IAM and WAF browsers (the account read live, findings laid on what they point at)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.roles import admin_required
from portal.audit import browse
from portal.audit.choices import FindingStatus, ResourceKind, Severity
from portal.audit.evidence import evidence_lines, missing_pointers
from portal.audit.export import export_records, filename, records_csv
from portal.audit.filtersets import FindingFilterSet
from portal.audit.forms import AuditRequestForm, RoleFilterForm, SuppressionForm
from portal.audit.models import AuditRun, Finding, suppress
from portal.audit.services import request_audit
from portal.environments.models import Environment
from provisioning.audit.rules import RULES, SEVERITY_ORDER

PAGE_SIZE = 100
CHANGES_WINDOW = timedelta(hours=24)


admin_only = admin_required("Only admins can see the security audit.")


def by_severity(queryset):
    """Most severe first, then rule and resource."""
    rank = Case(
        *[When(severity=severity, then=Value(order)) for severity, order in SEVERITY_ORDER.items()],
        output_field=IntegerField(),
    )
    return queryset.annotate(severity_rank=rank).order_by("severity_rank", "rule_id", "resource_id")


def open_counts() -> dict[str, int]:
    counts = Finding.objects.filter(status=FindingStatus.OPEN).aggregate(
        **{severity.value: Count("pk", filter=Q(severity=severity)) for severity in Severity}
    )
    return {severity.label: counts[severity.value] for severity in Severity}


def filtered_findings(request) -> tuple[FindingFilterSet, object]:
    """The findings page's filters and the findings they select (no filter: every unresolved one)."""
    filterset = FindingFilterSet(request.GET, queryset=Finding.objects.select_related("environment"))
    return filterset, by_severity(filterset.matching())


@admin_only
@require_GET
def finding_list(request):
    filters, findings = filtered_findings(request)
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/finding_list.html",
        {
            "filters": filters.page_form(),
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
    environment = get_object_or_404(Environment.objects.named(name)) if name else None
    run = request_audit(request.user, environment, request=request)
    messages.success(request, f"Audit #{run.pk} of {run.scope_label} queued: findings update when it is done.")
    return redirect("audit:findings")


@admin_only
@require_GET
def changes(request):
    """What changed in the last 24 hours: new and re-opened findings, and resolved ones."""
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


# --- export --------------------------------------------------------------------------------------
def _attachment(response: HttpResponse, extension: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename(extension)}"'
    return response


@admin_only
@require_GET
def export_csv(request):
    """The findings the findings page shows with the same filters (every page of them), as CSV."""
    _, findings = filtered_findings(request)
    return _attachment(
        HttpResponse(records_csv(export_records(findings)), content_type="text/csv; charset=utf-8"), "csv"
    )


@admin_only
@require_GET
def export_json(request):
    """The same findings as JSON, with each one's evidence and pointers."""
    _, findings = filtered_findings(request)
    return _attachment(JsonResponse(export_records(findings), safe=False, json_dumps_params={"indent": 2}), "json")


# --- the IAM and WAF browsers --------------------------------------------------------------------
def _live_read(request, read):
    """The cached read (a fresh one with ``?refresh=1``), or the sentence saying why AWS could not be read."""
    try:
        return read(refresh=request.GET.get("refresh") == "1"), ""
    except browse.LiveReadError as error:
        return None, str(error)


def _refresh_query(request) -> str:
    query = request.GET.copy()
    query["refresh"] = "1"
    return query.urlencode()


def _unreadable(read, *keys: str) -> list:
    """What the read could not see: the listings (no key), and the resources named by ``keys``."""
    if read is None:
        return []
    return [u for u in read.unreadable if not u.key or any(key and u.key.endswith(key) for key in keys)]


@admin_only
@require_GET
def iam_roles(request):
    """The account's IAM roles, filtered by Environment tag and name, with each one's open findings."""
    read, error = _live_read(request, browse.iam_roles)
    roles = sorted(read.resources if read else [], key=lambda role: role.id.lower())
    seen = sorted({role.environment for role in roles if role.environment})
    names = sorted({*seen, *Environment.objects.not_destroyed().values_list("name", flat=True)})
    filters = RoleFilterForm(request.GET or None, environments=names)
    roles = filters.filter(roles)
    counts = browse.open_counts_by_arn(ResourceKind.IAM_ROLE)
    return render(
        request,
        "audit/iam_roles.html",
        {
            "filters": filters,
            "rows": [(role, counts.get(role.arn, 0)) for role in roles],
            **_live_context(request, read, error),
        },
    )


def _live_context(request, read, error) -> dict:
    """What every page over a live read shows: the read, its error, what could not be read, a refresh link."""
    return {"read": read, "error": error, "unreadable": _unreadable(read), "refresh_query": _refresh_query(request)}


@admin_only
@require_GET
def iam_role(request, name: str):
    """One role: its trust policy and every inline and attached policy, statement by statement."""
    read, error = _live_read(request, browse.iam_roles)
    role = next((role for role in read.resources if role.id == name), None) if read else None
    unreadable = _unreadable(read, f"/{name}")
    if read is not None and role is None and not unreadable:
        raise Http404(f"No IAM role named {name} in the account.")
    view = browse.role_view(role, browse.role_findings(role.arn)) if role else None
    return render(
        request,
        "audit/iam_role.html",
        {
            "name": name,
            "view": view,
            "read": read,
            "error": error,
            "unreadable": unreadable,
            "refresh_query": _refresh_query(request),
        },
    )


def _web_acl_path(acl) -> tuple[str, str, str]:
    """(scope, name, id) of a web ACL, as its page's URL has them (the id is the ARN's last part)."""
    return acl.document.get("Scope", "REGIONAL").lower(), acl.id, acl.arn.rsplit("/", 1)[-1]


@admin_only
@require_GET
def web_acls(request):
    """The web ACLs of the audited regions (REGIONAL) and CloudFront's: default action, rules, logging, use."""
    read, error = _live_read(request, browse.web_acls)
    acls = sorted(read.resources if read else [], key=lambda acl: (acl.document.get("Scope", ""), acl.id.lower()))
    counts = browse.open_counts_by_arn(ResourceKind.WAF_WEB_ACL)
    return render(
        request,
        "audit/waf_acls.html",
        {
            "rows": [(acl, _web_acl_path(acl), counts.get(acl.arn, 0)) for acl in acls],
            **_live_context(request, read, error),
        },
    )


@admin_only
@require_GET
def web_acl(request, scope: str, name: str, acl_id: str):
    """One web ACL: its rules by priority, default action, associations and logging, findings marked."""
    read, error = _live_read(request, browse.web_acls)
    acl = None
    if read is not None:
        acl = next((acl for acl in read.resources if _web_acl_path(acl) == (scope.lower(), name, acl_id)), None)
    unreadable = _unreadable(read, f"/{name}/{acl_id}")
    if read is not None and acl is None and not unreadable:
        raise Http404(f"No {scope} web ACL {name} ({acl_id}) in the audited regions.")
    view = browse.web_acl_view(acl, browse.web_acl_findings(acl.arn)) if acl else None
    return render(
        request,
        "audit/waf_acl.html",
        {
            "name": name,
            "scope": scope.upper(),
            "view": view,
            "acl": acl,
            "read": read,
            "error": error,
            "unreadable": unreadable,
            "refresh_query": _refresh_query(request),
        },
    )

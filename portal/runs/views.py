"""The run page: its status, plan summary, progress and streaming log, and the approve / reject / cancel controls."""

from __future__ import annotations

import contextlib
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.roles import is_approver
from portal.audit.evidence import evidence_lines
from portal.permissions import can_change_environment
from portal.runs.choices import RunKind, RunStatus
from portal.runs.filtersets import RunEventFilterSet
from portal.runs.forms import ReviewForm
from portal.runs.models import HIGH_FINDINGS_NEED_ADMIN, Run, security_hold_refusal
from portal.runs.services import cancel_run, review_run
from provisioning import engine
from provisioning.audit.rules import RULES
from provisioning.terraform import APPLY_COMPLETE, applied_address

# Lines sent per poll of the log: a long log arrives in a few polls instead of one huge response.
EVENTS_PER_POLL = 500
SELF_APPROVAL_REFUSED = "A run must be approved by someone other than the person who asked for it."


def apply_progress(run: Run) -> dict | None:
    """Resources done of planned: Terraform's apply_complete events for the plan's resources.

    Events of other resources (the region's state-store bootstrap) are not counted. None when there is
    nothing to apply (a plan-only run, no plan yet, or a plan without changes).
    """
    summary = run.plan_summary or {}
    if run.kind == RunKind.PLAN or not summary:
        return None
    total = summary.get("add", 0) + summary.get("change", 0) + summary.get("destroy", 0)
    if total == 0:
        return None
    planned = {resource["address"] for resource in summary.get("resources", [])}
    done = sum(
        1
        for data in run.events.filter(data__type=APPLY_COMPLETE).values_list("data", flat=True)
        if applied_address(data) in planned
    )
    if run.status == RunStatus.SUCCEEDED:
        done = total  # a succeeded apply applied its whole plan, whatever lines Terraform printed
    done = min(done, total)
    return {"done": done, "total": total, "percent": round(100 * done / total)}


def review_context(request, run: Run) -> dict:
    requester = run.requested_by_id == request.user.pk
    awaiting = run.status == RunStatus.AWAITING_APPROVAL
    can_review = awaiting and is_approver(request.user) and not requester
    security_hold = bool(run.high_plan_findings)
    return {
        "can_review": can_review,
        "can_approve": can_review and security_hold_refusal(run, request.user) is None,
        "security_hold": security_hold,
        "security_hold_sentence": HIGH_FINDINGS_NEED_ADMIN,
        "self_approval_refused": awaiting and is_approver(request.user) and requester,
        "can_cancel": _can_cancel(request.user, run)
        and (run.status in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL, RunStatus.RUNNING))
        and not run.cancel_requested,
        "review_form": _review_form(security_hold),
        "self_approval_sentence": SELF_APPROVAL_REFUSED,
    }


def _review_form(security_hold: bool) -> ReviewForm:
    form = ReviewForm()
    if security_hold:
        # Rejecting still needs no words; approving over high-severity findings does (Run.approve checks it).
        form.fields["comment"].label = "Comment or justification"
        form.fields["comment"].help_text = (
            "To approve: why the high-severity findings below are acceptable. Kept with the run and in the "
            "activity log."
        )
    return form


def _can_cancel(user, run: Run) -> bool:
    return can_change_environment(user, run.environment) or run.requested_by_id == user.pk


def _run(pk: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("environment", "environment__blueprint", "requested_by", "approved_by"), pk=pk
    )


def _live_context(request, run: Run) -> dict:
    return {
        "run": run,
        "environment": run.environment,
        "progress": apply_progress(run),
        "summary": run.plan_summary or {},
        "plan_findings": plan_findings(run),
        **review_context(request, run),
    }


def _review_context(run: Run) -> dict:
    summary = run.plan_summary or {}
    losses = {resource["address"] for resource in summary.get("stateful_losses", [])}
    resources = [
        {
            "address": change["address"],
            "type": change["type"],
            "action": change["action"],
            "module": change["module"],
            "destructive": change["action"] in ("replace", "delete"),
            "data_loss": change["address"] in losses,
            **_shown_change(change),
        }
        for change in run.changes()
    ]
    return {"run": run, "summary": summary, "resources": resources, "modules": _by_module(resources)}


def _by_module(resources: list[dict]) -> list[dict]:
    """The resources grouped by the module that declares them, each group with its count of changes."""
    groups: dict[str, list[dict]] = {}
    for resource in resources:
        groups.setdefault(resource["module"], []).append(resource)
    return [
        {
            "module": module,
            "resources": [
                {**resource, "name": resource["address"].removeprefix(f"{module}.") if module else resource["address"]}
                for resource in members
            ],
        }
        for module, members in groups.items()
    ]


def _shown_change(change: dict) -> dict:
    """The attributes of one resource's change as the page shows them: the values Terraform learns only when it
    applies listed apart (a create has many), JSON pretty-printed."""
    attributes, unknown = [], []
    for attribute in change["attributes"]:
        if attribute["before"] is None and attribute["after"] == engine.KNOWN_AFTER_APPLY:
            unknown.append(attribute["name"])
            continue
        attributes.append(
            {
                "name": attribute["name"],
                "before": _shown_value(attribute["before"]),
                "after": _shown_value(attribute["after"]),
                "forces_replacement": attribute["forces_replacement"],
            }
        )
    return {
        "attributes": attributes,
        "unknown": unknown,
        "replaced_because": change["replaced_because"],
        "values_omitted": change["values_omitted"],
    }


def _shown_value(value: object) -> dict | None:
    """A value as text: JSON (an object, a list, or a string holding one, like a policy) indented; markers apart."""
    if value is None:
        return None
    if value in (engine.SENSITIVE, engine.KNOWN_AFTER_APPLY):
        return {"text": value, "marker": True}
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):  # text that merely begins with a bracket stays text
            value = json.loads(value)
    if isinstance(value, (dict, list)):
        noun = "item" if isinstance(value, list) else "key"
        size = f"{len(value)} {noun}{'s' if len(value) != 1 else ''}"
        return {"text": json.dumps(value, indent=2, sort_keys=True), "nested": True, "size": size}
    return {"text": json.dumps(value) if isinstance(value, bool) else str(value)}


def plan_findings(run: Run) -> list[dict]:
    """The security check's findings on the plan, with each rule's reasons and the evidence lines to show."""
    return [
        {
            **finding,
            "rule": RULES.get(finding.get("rule_id")),
            "lines": evidence_lines(finding.get("evidence"), finding.get("pointers") or []),
        }
        for finding in run.plan_findings or []
    ]


@login_required
@require_GET
def run_detail(request, pk: int):
    run = _run(pk)
    events = list(run.events.all())
    return render(
        request,
        "runs/run_detail.html",
        {
            **_live_context(request, run),
            **_review_context(run),
            "events": events,
            "last_seq": events[-1].seq if events else 0,
        },
    )


@login_required
@require_GET
def run_plan_review(request, pk: int):
    """The plan review (each resource's attributes before → after), polled until the plan is made or the run ends."""
    return render(request, "runs/_plan_review.html", _review_context(_run(pk)))


@login_required
@require_GET
def run_status(request, pk: int):
    """The live panel of the run page (status, progress, plan summary, controls), polled until the run ends."""
    return render(request, "runs/_run_live.html", _live_context(request, _run(pk)))


@login_required
@require_GET
def run_events(request, pk: int):
    """The log lines after ``?after=N``, as HTML rows; X-Run-Finished tells the page when to stop asking."""
    run = _run(pk)
    events = list(RunEventFilterSet(request.GET, queryset=run.events.all()).selected()[:EVENTS_PER_POLL])
    response = render(request, "runs/_run_events.html", {"events": events})
    response["X-Run-Finished"] = "true" if run.is_finished else "false"
    return response


@login_required
@require_POST
def run_review(request, pk: int, decision: str):
    """Approve or reject a plan awaiting approval (approvers only, never the requester: the run refuses)."""
    if not is_approver(request.user):
        raise PermissionDenied("Only approvers can approve or reject runs.")
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["comment"]))
        return redirect("runs:detail", pk)
    comment = form.cleaned_data["comment"]
    approve = decision == "approve"
    run = review_run(_run(pk).pk, request.user, approve, comment, request)
    messages.success(request, f"Run #{run.pk} {'approved: its apply is queued' if approve else 'rejected'}.")
    return redirect("runs:detail", pk)


@login_required
@require_POST
def run_cancel(request, pk: int):
    run = _run(pk)
    if not _can_cancel(request.user, run):
        raise PermissionDenied("Only the requester, the environment's owner or an admin can cancel a run.")
    run = cancel_run(run.pk, request.user, request)
    messages.success(
        request, "Cancel requested: the worker stops the plan." if run.cancel_requested else "Run cancelled."
    )
    return redirect("runs:detail", pk)

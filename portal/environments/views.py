"""Environment pages: the list, the new-environment form, an environment's page, its settings, its runs and its
destruction."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.audit.models import open_high_findings
from portal.environments.filtersets import EnvironmentFilterSet
from portal.environments.forms import DestroyConfirmationForm, EnvironmentForm, ExtendForm, SettingsForm
from portal.environments.models import NEWEST_FIRST, Blueprint, Environment
from portal.environments.services import change_settings, define_environment, name_history, request_drift_check
from portal.permissions import can_change_environment
from portal.runs.choices import FINISHED_STATUSES, RunKind
from portal.runs.models import TransitionError
from portal.runs.services import destroy_outlook, request_run
from provisioning.engine import data_held_by

PAGE_SIZE = 50


@login_required
@require_GET
def environment_list(request):
    filterset = EnvironmentFilterSet(
        request.GET or None, queryset=Environment.objects.select_related("blueprint", "owner").with_latest_run()
    )
    environments = filterset.matching()
    page = Paginator(environments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "environments/environment_list.html",
        {"filters": filterset.page_form(), "page": page, "query": query.urlencode(), "filtered": bool(query)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def environment_new(request):
    """Step 1 picks a blueprint (?blueprint=name); step 2 is the form generated from its variables."""
    if not request.GET.get("blueprint"):
        blueprints = Blueprint.objects.filter(available=True)
        return render(request, "environments/blueprint_choice.html", {"blueprints": blueprints})
    blueprint = get_object_or_404(Blueprint, name=request.GET["blueprint"], available=True)
    form = EnvironmentForm(blueprint, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            environment, run = define_environment(
                form.definition, request.user, apply=form.cleaned_data["apply"], request=request
            )
        except ValidationError as error:  # a rule that changed since the form checked (the same name, just taken)
            form.add_definition_errors(error)
        else:
            # Where the run stands is the run page's to say, from its real status (it changes under the message).
            messages.success(request, f"{environment.name} is defined." + (" Its first run is below." if run else ""))
            return redirect("runs:detail", run.pk) if run else redirect("environments:detail", environment.name)
    status = 400 if request.method == "POST" else 200
    return render(request, "environments/environment_form.html", {"form": form, "blueprint": blueprint}, status=status)


def _environment_context(request, environment: Environment) -> dict:
    runs = list(environment.runs.select_related("requested_by", "approved_by")[:20])
    declared = environment.blueprint.user_variables
    drift_check = environment.last_drift_check()
    return {
        "environment": environment,
        "runs": runs,
        "live": any(run.status not in FINISHED_STATUSES for run in runs)
        or (drift_check is not None and not drift_check.is_finished),
        "drift_check": drift_check,
        "drifted_resources": _drifted_resources(drift_check),
        "high_findings": list(open_high_findings(environment)),
        "drift_interval_hours": round(settings.LAUNCHPAD_DRIFT_INTERVAL_SECONDS / 3600, 1),
        "expired": environment.has_expired(),
        "extend_form": ExtendForm(),
        "outputs": [_output(name, value) for name, value in sorted(environment.outputs.items())],
        "variables": [
            {
                "name": variable["name"],
                "value": _shown(environment.variables.get(variable["name"], variable["default"])),
                "set": variable["name"] in environment.variables,
                "description": variable["description"],
            }
            for variable in declared
        ],
        "can_change": can_change_environment(request.user, environment),
        "earlier": environment.history().exclude(pk=environment.pk).count(),
    }


def _drifted_resources(check) -> list[dict]:
    """A drift check's resources with each value written as Terraform would ("(unset)" for none)."""
    if check is None:
        return []
    return [
        {
            **resource,
            "attributes": [
                {
                    "name": attribute["name"],
                    "before": "(unset)" if attribute["before"] is None else _shown(attribute["before"]),
                    "after": "(unset)" if attribute["after"] is None else _shown(attribute["after"]),
                }
                for attribute in resource["attributes"]
            ],
        }
        for resource in check.resources
    ]


def _shown(value) -> str:
    """A value as Terraform would write it: strings as they are, anything else as JSON (true, not True)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _output(name: str, value) -> dict:
    """An output as shown: URLs become links; a map is one line per key, a list one line per item."""
    if isinstance(value, dict):
        items = [(key, _shown(item)) for key, item in sorted(value.items())]
    elif isinstance(value, list):
        items = [("", _shown(item)) for item in value]
    else:
        items = [("", _shown(value))]
    return {
        "name": name,
        "items": [
            {"key": key, "text": text, "is_link": text.startswith(("http://", "https://"))} for key, text in items
        ],
    }


@login_required
@require_GET
def environment_detail(request, name: str):
    environment = get_object_or_404(Environment.objects.select_related("blueprint", "owner").named(name))
    return render(request, "environments/environment_detail.html", _environment_context(request, environment))


@login_required
@require_GET
def environment_history(request, name: str):
    """Every environment that carried ``name`` (a destroyed one's name may be used again), the newest first, a page
    at a time, each with its newest runs; ``?environment=<id>``: every run of that one, a page at a time. The
    history of a destroyed environment stays reachable once its name is taken again."""
    environments = name_history(name)
    if not environments.exists():
        raise Http404(f"No environment was ever called {name}.")
    chosen = request.GET.get("environment", "")
    context = {"name": name}
    if chosen:
        environment = get_object_or_404(environments, pk=chosen) if chosen.isdigit() else None
        if environment is None:
            raise Http404(f"No environment called {name} has the id {chosen}.")
        runs = environment.runs.select_related("requested_by").order_by(*NEWEST_FIRST)
        page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
        context |= {"environment": environment, "page": page, "query": f"environment={environment.pk}"}
    else:
        context["page"] = Paginator(environments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "environments/environment_history.html", context)


@login_required
@require_GET
def environment_live(request, name: str):
    """The live part of the environment page (status, outputs, runs), polled while a run is unfinished."""
    environment = get_object_or_404(Environment.objects.select_related("blueprint", "owner").named(name))
    return render(request, "environments/_environment_live.html", _environment_context(request, environment))


def _changeable(request, name: str) -> Environment:
    environment = get_object_or_404(Environment.objects.select_related("blueprint", "owner").named(name))
    if not can_change_environment(request.user, environment):
        raise PermissionDenied("Only the environment's owner or an admin can ask for its runs.")
    return environment


@login_required
@require_POST
def environment_request_run(request, name: str):
    """The Plan and Apply buttons (destroy goes through its confirmation page)."""
    environment = _changeable(request, name)
    kind = request.POST.get("kind")
    if kind not in (RunKind.PLAN, RunKind.APPLY):
        messages.error(request, "Choose plan or apply; destroying has its own confirmation page.")
        return redirect("environments:detail", environment.name)
    run = request_run(environment, kind, request.user, request)
    return redirect("runs:detail", run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def environment_settings(request, name: str):
    """Edit settings: the blueprint's form filled in with the current values; saving plans the change (a run)."""
    environment = _changeable(request, name)
    form = SettingsForm(environment, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = change_settings(
                environment, form.chosen_variables(), request.user, apply=form.cleaned_data["apply"], request=request
            )
        except ValidationError as error:
            form.add_definition_errors(error)
        else:
            messages.success(
                request, f"The settings of {environment.name} are saved; the run that plans the change is queued."
            )
            return redirect("runs:detail", run.pk)
    status = 400 if request.method == "POST" else 200
    context = {"environment": environment, "form": form, "refusal": environment.settings_refusal()}
    return render(request, "environments/environment_settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def environment_destroy(request, name: str):
    """Destroy asks for the environment's name first; a wrong name destroys nothing."""
    environment = _changeable(request, name)
    form = DestroyConfirmationForm(environment, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = request_run(environment, RunKind.DESTROY, request.user, request)
        except TransitionError as error:
            # Shown inside the confirmation form, a 400 like the form's other errors (tests pin what the user
            # sees here); other pages let a refusal through to RefusalMiddleware and its own status.
            form.add_error(None, str(error))
        else:
            if run.is_finished:  # nothing was ever applied: deleted at once
                messages.success(request, f"{environment.name} is deleted: nothing of it was ever applied.")
                return redirect("environments:list")
            return redirect("runs:detail", run.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "environments/environment_destroy.html",
        {
            "environment": environment,
            "form": form,
            "outlook": destroy_outlook(environment, request.user),
            "data_held": _in_words(data_held_by(environment.blueprint.name)),
        },
        status=status,
    )


def _in_words(items) -> str:
    """``["a", "b", "c"]`` as "a, b and c"."""
    return " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


@login_required
@require_POST
def environment_check_drift(request, name: str):
    """The "Check drift now" button: a refresh-only plan, queued; its result appears on the page."""
    environment = _changeable(request, name)
    request_drift_check(environment, request.user, request)
    messages.success(request, f"Drift check of {environment.name} queued: the result appears below.")
    return redirect(reverse("environments:detail", args=[environment.name]) + "#drift")


@login_required
@require_POST
def environment_extend(request, name: str):
    """The extend form: more hours before Launchpad destroys the environment (owner or admin)."""
    environment = _changeable(request, name)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("hours", ["Give a number of hours."])))
    else:
        try:
            environment.extend(form.cleaned_data["hours"], request.user, request)
        except ValidationError as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(
                request, f"{environment.name} now lives until {environment.expires_at:%Y-%m-%d %H:%M} UTC."
            )
    return redirect(reverse("environments:detail", args=[environment.name]) + "#expiry")

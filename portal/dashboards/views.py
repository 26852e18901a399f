"""The dashboards: the fleet page (every environment's health badge) and one environment's dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from portal.dashboards import status
from portal.environments.models import Environment
from provisioning.status import DEFAULT_WINDOW, WINDOWS, Metrics


def _fleet_context(request) -> dict:
    include_destroyed = status.asks_for_destroyed(request.GET)
    entries = status.fleet(include_destroyed=include_destroyed)
    return {
        "entries": entries,
        "counts": status.level_counts(entries),
        "ttl": status.ttl(),
        "include_destroyed": include_destroyed,
    }


@login_required
@require_http_methods(["GET", "POST"])
def fleet(request):
    """Every environment with its badge, worst first; POST reads AWS again for all of them."""
    if request.method == "POST":
        status.fleet(refresh=True)
        return redirect("dashboards:fleet")
    return render(request, "dashboards/fleet.html", _fleet_context(request))


@login_required
@require_GET
def fleet_live(request):
    """The fleet page's table alone, for the page to refresh itself."""
    return render(request, "dashboards/_fleet_live.html", _fleet_context(request))


def _dashboard_context(request, name: str, refresh: bool = False) -> dict:
    environment = get_object_or_404(Environment.objects.select_related("blueprint", "owner").named(name))
    window = request.GET.get("window", DEFAULT_WINDOW)
    dashboard = status.environment_dashboard(environment, window, refresh=refresh)
    return {
        "environment": environment,
        "dashboard": dashboard,
        "window": window,
        "windows": list(WINDOWS),
        "charts": chart_data(dashboard.metrics),
        "ttl": status.ttl(),
    }


def chart_data(metrics: Metrics | None) -> list[dict]:
    """The charts as the page's script draws them: points as [milliseconds since the epoch, value]."""
    if metrics is None:
        return []
    return [
        {
            "key": chart.key,
            "title": chart.title,
            "unit": chart.unit,
            "error": chart.error,
            "start": int(metrics.start.timestamp() * 1000),
            "end": int(metrics.end.timestamp() * 1000),
            "series": [
                {
                    "label": series.label,
                    "points": [
                        [int(time.timestamp() * 1000), value]
                        for time, value in zip(series.timestamps, series.values, strict=True)
                    ],
                }
                for series in chart.series
            ],
        }
        for chart in metrics.charts
    ]


@login_required
@require_http_methods(["GET", "POST"])
def environment_dashboard(request, name: str):
    """One environment: health and why, ECS services, alarms, queues and charts; POST reads AWS again."""
    if request.method == "POST":
        _dashboard_context(request, name, refresh=True)
        url = reverse("dashboards:environment", args=[name])
        window = request.GET.get("window", DEFAULT_WINDOW)
        return redirect(url if window == DEFAULT_WINDOW else f"{url}?window={window}")
    return render(request, "dashboards/dashboard.html", _dashboard_context(request, name))


@login_required
@require_GET
def environment_dashboard_live(request, name: str):
    """The dashboard's widgets alone, for the page to refresh itself."""
    return render(request, "dashboards/_dashboard_live.html", _dashboard_context(request, name))

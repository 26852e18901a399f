from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path


def healthz(request):
    """Liveness for load balancers and compose: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("portal.api_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("portal.accounts.urls")),
    path("runs/", include("portal.runs.urls")),
    path("activity/", include("portal.activity.urls")),
    path("audit/", include("portal.audit.urls")),
    path("notifications/", include("portal.notifications.urls")),
    path("", include("portal.dashboards.urls")),
    path("", include("portal.environments.urls")),
]

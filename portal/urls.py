from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


def healthz(request):
    """Liveness for load balancers and compose: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, an API answer opened in a tab).
    path("favicon.ico", RedirectView.as_view(url=static("launchpad/favicon.svg"), permanent=True), name="favicon"),
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

# Under /api/ these answer JSON (portal/http_errors.py); a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413.
handler400 = "portal.http_errors.bad_request"
handler404 = "portal.http_errors.page_not_found"
handler500 = "portal.http_errors.server_error"

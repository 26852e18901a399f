"""/api/v1/: the REST API, its OpenAPI schema and its docs page."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import DefaultRouter

from portal.accounts.api.views import ApiTokenViewSet, ObtainTokenView
from portal.activity.api.views import ActivityEntryAliasViewSet, ActivityEntryViewSet
from portal.audit.api.views import AuditRuleViewSet, AuditRunViewSet, FindingViewSet
from portal.dashboards.api.views import EnvironmentStatusView, FleetStatusView
from portal.environments.api.views import BlueprintViewSet, DriftCheckViewSet, EnvironmentViewSet
from portal.notifications.api.views import NotificationPreferencesView, WebhookViewSet
from portal.runs.api.views import EnvironmentRunViewSet, RunViewSet

# Redoc styles its page with <style> elements it writes at run time (styled-components) and searches in a worker
# made from a blob: this page alone allows both; every other page keeps the strict policy of portal/settings.py.
REDOC_POLICY = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})

router = DefaultRouter()
router.register("environments", EnvironmentViewSet, basename="environment")
router.register(
    r"environments/(?P<environment_name>[a-z][a-z0-9-]{0,40})/runs", EnvironmentRunViewSet, basename="environment-run"
)
router.register(
    r"environments/(?P<environment_name>[a-z][a-z0-9-]{0,40})/drift-checks",
    DriftCheckViewSet,
    basename="environment-drift-check",
)
router.register("runs", RunViewSet, basename="run")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("blueprints", BlueprintViewSet, basename="blueprint")
router.register("activity", ActivityEntryViewSet, basename="activity-entry")
# The activity log's former route (deprecated, same answers): scripts use it.
router.register("audit-events", ActivityEntryAliasViewSet, basename="audit-event")
router.register("audit/findings", FindingViewSet, basename="audit-finding")
router.register("audit/runs", AuditRunViewSet, basename="audit-run")
router.register("audit/rules", AuditRuleViewSet, basename="audit-rule")
router.register("tokens", ApiTokenViewSet, basename="token")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="obtain-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", REDOC_POLICY(SpectacularRedocView.as_view(url_name="schema")), name="docs"),
    path("status/", FleetStatusView.as_view(), name="fleet-status"),
    path("environments/<slug:name>/status/", EnvironmentStatusView.as_view(), name="environment-status"),
    path("notification-preferences/", NotificationPreferencesView.as_view(), name="notification-preferences"),
    path("", include(router.urls)),
]

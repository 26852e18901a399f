from django.urls import path

from portal.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("fleet/", views.fleet, name="fleet"),
    path("fleet/live/", views.fleet_live, name="fleet-live"),
    path("environments/<slug:name>/dashboard/", views.environment_dashboard, name="environment"),
    path("environments/<slug:name>/dashboard/live/", views.environment_dashboard_live, name="environment-live"),
]

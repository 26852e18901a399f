from django.urls import path

from portal.environments import views

app_name = "environments"

urlpatterns = [
    path("", views.environment_list, name="list"),
    path("environments/new/", views.environment_new, name="new"),
    path("environments/<slug:name>/", views.environment_detail, name="detail"),
    path("environments/<slug:name>/live/", views.environment_live, name="live"),
    path("environments/<slug:name>/history/", views.environment_history, name="history"),
    path("environments/<slug:name>/runs/", views.environment_request_run, name="request-run"),
    path("environments/<slug:name>/destroy/", views.environment_destroy, name="destroy"),
    path("environments/<slug:name>/drift/", views.environment_check_drift, name="check-drift"),
    path("environments/<slug:name>/extend/", views.environment_extend, name="extend"),
]

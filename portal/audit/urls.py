from django.urls import path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.finding_list, name="findings"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/suppress/", views.finding_suppress, name="suppress"),
    path("runs/", views.audit_request, name="request"),
    path("changes/", views.changes, name="changes"),
    path("rules/", views.rule_list, name="rules"),
]

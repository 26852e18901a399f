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
    path("export.csv", views.export_csv, name="export-csv"),
    path("export.json", views.export_json, name="export-json"),
    path("iam/", views.iam_roles, name="iam"),
    path("iam/roles/<str:name>/", views.iam_role, name="iam-role"),
    path("waf/", views.web_acls, name="waf"),
    path("waf/<str:scope>/<str:name>/<str:acl_id>/", views.web_acl, name="web-acl"),
]

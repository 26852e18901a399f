from django.urls import path

from portal.runs import views

app_name = "runs"

urlpatterns = [
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/status/", views.run_status, name="status"),
    path("<int:pk>/events/", views.run_events, name="events"),
    path("<int:pk>/plan/", views.run_plan_review, name="plan_review"),
    path("<int:pk>/approve/", views.run_review, {"decision": "approve"}, name="approve"),
    path("<int:pk>/reject/", views.run_review, {"decision": "reject"}, name="reject"),
    path("<int:pk>/cancel/", views.run_cancel, name="cancel"),
]

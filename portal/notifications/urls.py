from django.urls import path

from portal.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notifications_home, name="home"),
    path("preferences/", views.preferences_save, name="preferences"),
    path("overrides/", views.override_add, name="override-add"),
    path("overrides/<int:pk>/delete/", views.override_delete, name="override-delete"),
    path("webhooks/<int:pk>/toggle/", views.webhook_toggle, name="webhook-toggle"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook-delete"),
]

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "portal.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Registers the delivery tasks with Celery in every process that loads Django (web, worker, beat).
        from portal.notifications import tasks  # noqa: F401

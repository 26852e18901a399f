"""The Celery application: configuration from Django settings (CELERY_*), tasks from each app's tasks module."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("launchpad")
app.config_from_object("django.conf:settings", namespace="CELERY")
# portal/<app>/tasks.py of every installed app (runs, environments, audit, notifications, jobs).
app.autodiscover_tasks()

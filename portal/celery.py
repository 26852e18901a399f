"""The Celery application: configuration from Django settings (CELERY_*), tasks from provisioning.tasks and
.audit_tasks and from each installed app's tasks module (portal/<app>/tasks.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("launchpad")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["provisioning"])
app.autodiscover_tasks(["provisioning"], related_name="audit_tasks")
app.autodiscover_tasks()

"""Launchpad's web side: the Django project, its apps and the REST API."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]

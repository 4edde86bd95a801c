"""The portal: the Django project that owns users, teams, workspaces and costs."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]

"""Catalog sync tasks: idempotent, safe to retry, queued after commit."""

import logging

from celery import shared_task

from images import services
from images.registry import RegistryError

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(RegistryError,), retry_backoff=5, retry_kwargs={"max_retries": 5})
def repository_sync_task(name):
    services.repository_sync(name=name)


@shared_task
def catalog_sync_task():
    """Beat: the whole catalog, every PLATFORM_REGISTRY_SYNC_SECONDS. A registry that is down is logged, not retried
    (the next beat tries again)."""
    try:
        services.catalog_sync()
    except RegistryError as exc:
        logger.warning("catalog sync skipped: %s", exc)


@shared_task
def report_notify_task(report_id):
    services.report_notify(report_id=report_id)

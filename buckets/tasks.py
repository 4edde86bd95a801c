"""Celery tasks of the buckets app: thin wrappers around services, idempotent, retried with back-off
while the object store is unreachable (StorageError) or another pass holds the lock (Busy)."""

from celery import shared_task
from django.core.cache import cache

from buckets import services
from buckets.storage import StorageError

QUEUED = "buckets:queued:{}"  # a sync of this person is queued (buckets/signals.py)
RETRY = {"autoretry_for": (StorageError, services.Busy), "retry_backoff": 2, "retry_backoff_max": 300,
         "retry_jitter": True, "max_retries": 12, "ignore_result": True}


@shared_task(**RETRY)
def bucket_provision_task(bucket_id):
    if isinstance(bucket_id, int):
        services.bucket_provision(bucket_id=bucket_id)


@shared_task(**RETRY)
def identity_sync_task(user_id):
    if isinstance(user_id, int):
        cache.delete(QUEUED.format(user_id))
        services.identity_sync(user_id=user_id)


@shared_task(**RETRY)
def identity_remove_task(identity_id):
    if isinstance(identity_id, int):
        services.identity_remove(identity_id=identity_id)


@shared_task(**{**RETRY, "max_retries": 3})
def bucket_sample_task(bucket_id):
    if isinstance(bucket_id, int):
        services.bucket_sample(bucket_id=bucket_id)


@shared_task(ignore_result=True)
def buckets_janitor_task():
    """Beat, every 30 s: queue whatever pass is missing (see services.buckets_janitor)."""
    return services.buckets_janitor()


@shared_task(ignore_result=True)
def buckets_sample_task():
    """Beat, every PLATFORM_BUCKETS_SAMPLE_SECONDS: measure every bucket."""
    return services.buckets_sample_all()

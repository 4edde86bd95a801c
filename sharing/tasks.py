"""Celery tasks of sharing: thin, idempotent, taking ids."""

from celery import shared_task

from sharing import live, services


@shared_task(ignore_result=True, acks_late=True)
def snapshot_take_task(snapshot_id):
    if isinstance(snapshot_id, int):
        services.snapshot_take(snapshot_id=snapshot_id)


@shared_task(ignore_result=True, acks_late=True)
def copy_write_task(copy_id):
    if isinstance(copy_id, int):
        services.copy_write(copy_id=copy_id)


@shared_task(ignore_result=True)
def live_shares_expire_task():
    """Beat, every minute: end live shares whose date has passed (the hub does not expire shares itself)."""
    return live.live_shares_expire()

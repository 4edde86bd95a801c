"""Celery tasks of image builds: thin, idempotent, taking ids. A build may run for PLATFORM_BUILD_TIMEOUT_SECONDS:
its task's time limit is that plus the steps after the build."""

from celery import shared_task
from django.conf import settings

from builds import services


@shared_task(ignore_result=True, acks_late=True, time_limit=settings.PLATFORM_BUILD_TIMEOUT_SECONDS + 300,
             soft_time_limit=settings.PLATFORM_BUILD_TIMEOUT_SECONDS + 240)
def image_build_task(build_id):
    if isinstance(build_id, int):
        services.build_run(build_id=build_id)


@shared_task(ignore_result=True, acks_late=True)
def image_propose_task(build_id, target):
    if isinstance(build_id, int) and isinstance(target, str):
        services.build_copy(build_id=build_id, target=target)


@shared_task(ignore_result=True)
def builds_abandoned_fail_task():
    return services.builds_abandoned_fail()

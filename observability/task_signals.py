"""Celery's signals turned into task metrics and the request id's passage from a request into its tasks.

The publisher stamps each message with when it was sent and the current request id (message headers,
read back on the worker's side as attributes of `task.request`); the worker counts outcomes and how long
each task waited in the queue (from its publication, or from its countdown's end when it had one).
"""

import logging
import time
from datetime import datetime

from celery import signals

from observability import logs, metrics

PUBLISHED = "dsw_published_at"
REQUEST_ID = "dsw_request_id"
logger = logging.getLogger("portal.tasks")
_started = {}  # task id -> (perf_counter at start, seconds queued); a worker runs each id once at a time


@signals.worker_ready.connect
def _serve_worker_metrics(sender=None, **kwargs):
    from django.conf import settings

    if settings.PLATFORM_WORKER_METRICS_PORT:
        from observability.worker_server import worker_metrics_serve

        worker_metrics_serve(port=settings.PLATFORM_WORKER_METRICS_PORT)


@signals.before_task_publish.connect
def _stamp(sender=None, headers=None, **kwargs):
    if headers is None:
        return
    headers.setdefault(PUBLISHED, time.time())
    rid = logs.request_id()
    if rid:
        headers.setdefault(REQUEST_ID, rid)


def _queued_seconds(request, now):
    published = getattr(request, PUBLISHED, None)
    if not isinstance(published, (int, float)):
        return None
    ready = published
    eta = getattr(request, "eta", None)
    if eta:
        try:
            ready = max(ready, (eta if isinstance(eta, datetime) else datetime.fromisoformat(eta)).timestamp())
        except (TypeError, ValueError):
            pass
    return now - ready


@signals.task_prerun.connect
def _began(task_id=None, task=None, **kwargs):
    request = task.request
    queued = _queued_seconds(request, time.time())
    if queued is not None:
        metrics.task_began(task=task.name, queued_seconds=queued)
    # A task queued outside any request (beat, the janitor) gets an id of its own, so its lines group together.
    logs.request_id_set(logs.request_id_from(getattr(request, REQUEST_ID, None)))
    _started[task_id] = (time.perf_counter(), queued)


@signals.task_postrun.connect
def _ended(task_id=None, task=None, state=None, **kwargs):
    began, queued = _started.pop(task_id, (None, None))
    seconds = time.perf_counter() - began if began is not None else None
    outcome = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry"}.get(state, "other")
    metrics.task_ran(task=task.name, outcome=outcome, seconds=seconds)
    logger.info("task %s %s", task.name, outcome, extra={
        "task": task.name, "task_id": task_id, "outcome": outcome, "request_id": logs.request_id(),
        "duration_ms": round(seconds * 1000, 1) if seconds is not None else None,
        "queued_ms": round(queued * 1000, 1) if queued is not None else None})
    logs.request_id_set("")  # the worker's next task starts without this one's id

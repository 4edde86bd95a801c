"""The platform's own metrics: every series written once here, with the small functions the apps call.

Apps import this module only (an import contract): it depends on no app, so any of them may record
what it sees without depending on the others. Series that describe the platform's state (workspaces
by state, budgets, buckets) are not counted here but read from the database at scrape time
(observability/collectors.py), so they are right after any restart and cost nothing between scrapes.

Processes: gunicorn workers and Celery workers are separate processes, and Prometheus must see one
platform. When PROMETHEUS_MULTIPROC_DIR is set in a process's environment (platform_run sets it for
the portal, the worker and beat; the chart does in its pods), prometheus_client writes every value to
a per-process file there and /metrics merges them (observability/views.py). It must be set before
prometheus_client is imported, so it is set by whoever starts the process, never by settings (the
hub and workspaces started from a portal process must not inherit it: they would write into the
platform's private directory).
"""

import re
import time

from django.db import transaction
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Our series only (no process or GC series: in multiprocess mode they would describe one random worker).
REGISTRY = CollectorRegistry(auto_describe=True)

# Launches take seconds to minutes; the last buckets catch the spawn timeout (PLATFORM_SPAWN_TIMEOUT).
LAUNCH_BUCKETS = (1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
QUEUE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

LAUNCHES = Counter("dsw_launches", "Workspace launches by how they ended: running, failed (with a reason in "
                   "dsw_launch_failures_total) or refused at the request (budget, image).",
                   ["outcome", "profile"], registry=REGISTRY)
LAUNCH_DURATION = Histogram("dsw_launch_duration_seconds", "From the start request (API call or button) until the "
                            "hub reported the server running.", ["profile"], buckets=LAUNCH_BUCKETS, registry=REGISTRY)
LAUNCH_FAILURES = Counter("dsw_launch_failures", "Launches that failed or were refused, by reason (spawn_error, "
                          "timeout, out_of_memory, hub_unreachable, server_died, no_gpu, budget, image_blocked).",
                          ["reason", "profile"], registry=REGISTRY)
SERVER_FAILURES = Counter("dsw_workspace_failures", "Running workspaces whose server ended without being asked to, "
                          "by reason.", ["reason", "profile"], registry=REGISTRY)
CULLS = Counter("dsw_workspace_culls", "Workspaces stopped by idle culling.", ["profile"], registry=REGISTRY)
KEEP_RUNNINGS = Counter("dsw_workspace_keep_runnings", "'Keep running' used on a warned-about workspace.",
                        ["profile"], registry=REGISTRY)
TASKS = Counter("dsw_celery_tasks", "Celery tasks that ran, by task and outcome (success, failure, retry).",
                ["task", "outcome"], registry=REGISTRY)
TASK_QUEUE_SECONDS = Histogram("dsw_celery_task_queue_seconds", "From a task's publication (or its countdown's end) "
                               "until a worker began it.", ["task"], buckets=QUEUE_BUCKETS, registry=REGISTRY)
TASK_SECONDS = Histogram("dsw_celery_task_duration_seconds", "How long tasks ran.", ["task"], buckets=LATENCY_BUCKETS,
                         registry=REGISTRY)
HUB_SECONDS = Histogram("dsw_hub_api_request_duration_seconds", "The portal's calls to the JupyterHub REST API.",
                        ["method", "route"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
HUB_ERRORS = Counter("dsw_hub_api_errors", "Hub API calls that failed: unreachable (no answer) or an HTTP status "
                     "of 500 and above.", ["route", "kind"], registry=REGISTRY)
REGISTRY_SYNCED = Gauge("dsw_registry_last_sync_timestamp_seconds", "When the image catalog last synced with the "
                        "registry completely (Unix time); lag = time() - this.", registry=REGISTRY,
                        multiprocess_mode="max")
HTTP_REQUESTS = Counter("dsw_http_requests", "Portal requests by view, method and status class.",
                        ["view", "method", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram("dsw_http_request_duration_seconds", "Portal request latency by view.", ["view", "method"],
                         buckets=LATENCY_BUCKETS, registry=REGISTRY)

# Failure reasons counted as launches that failed, in the words of workspaces.states.Failure; a server that
# dies after it ran is a workspace failure, not a launch failure.
_NO_GPU = re.compile(r"\bGPUs?\b")


def _after_commit(record):
    # Inside a transaction that may roll back (a compare-and-set lost, a request that failed later) nothing
    # has happened yet; outside one, on_commit runs at once.
    transaction.on_commit(record)


def workspace_observed(*, before, after, profile, failure="", requested_at=None, message=""):
    """The reconciler recorded a new observed state (`before` → `after`, strings of
    workspaces.states.Observed); counts launches and failures once the change is committed."""
    if before == after:
        return
    if after == "running":
        seconds = time.time() - requested_at.timestamp() if requested_at else None

        def record():
            LAUNCHES.labels("running", profile).inc()
            if seconds is not None and seconds >= 0:
                LAUNCH_DURATION.labels(profile).observe(seconds)
        _after_commit(record)
    elif after == "failed":
        reason = failure_reason(failure, message)
        if before == "running":
            _after_commit(lambda: SERVER_FAILURES.labels(reason, profile).inc())
        else:
            def record():
                LAUNCHES.labels("failed", profile).inc()
                LAUNCH_FAILURES.labels(reason, profile).inc()
            _after_commit(record)


def failure_reason(failure, message=""):
    """A bounded label for a failure: the typed reason, with a spawn refused for want of a GPU told apart
    (the spawner says so in its message: spawner/gpus.py)."""
    if failure == "spawn_error" and _NO_GPU.search(message or ""):
        return "no_gpu"
    return failure or "unknown"


def launch_refused(*, reason, profile):
    """A launch request refused before anything started: `budget` or `image_blocked`."""
    LAUNCHES.labels("refused", profile).inc()
    LAUNCH_FAILURES.labels(reason, profile).inc()


def workspace_culled(*, profile):
    _after_commit(lambda: CULLS.labels(profile).inc())


def workspace_kept_running(*, profile):
    _after_commit(lambda: KEEP_RUNNINGS.labels(profile).inc())


def registry_synced():
    REGISTRY_SYNCED.set(time.time())


def hub_call(*, method, path, seconds, status=None):
    """One hub API call; `status` None means the hub did not answer."""
    route = hub_route(path)
    HUB_SECONDS.labels(method, route).observe(seconds)
    if status is None:
        HUB_ERRORS.labels(route, "unreachable").inc()
    elif status >= 500:
        HUB_ERRORS.labels(route, "status").inc()


_USER_PATH = re.compile(r"^/users/[^/]+")
_SERVER_PATH = re.compile(r"^/users/\{user\}/servers/[^/]+")


def hub_route(path):
    """The hub API path with names replaced, so the label has a handful of values whoever calls."""
    path = path.split("?", 1)[0]
    path = _USER_PATH.sub("/users/{user}", path)
    return _SERVER_PATH.sub("/users/{user}/servers/{server}", path)


def http_request(*, view, method, status, seconds):
    HTTP_REQUESTS.labels(view, method, f"{status // 100}xx").inc()
    HTTP_SECONDS.labels(view, method).observe(seconds)


def task_ran(*, task, outcome, seconds=None):
    TASKS.labels(task, outcome).inc()
    if seconds is not None:
        TASK_SECONDS.labels(task).observe(seconds)


def task_began(*, task, queued_seconds):
    if queued_seconds >= 0:
        TASK_QUEUE_SECONDS.labels(task).observe(queued_seconds)

"""/metrics (Prometheus, behind a bearer token), /healthz (alive) and /readyz (ready to serve)."""

import hmac
import os

import requests
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from observability.collectors import PlatformCollector
from observability.metrics import REGISTRY


def metrics_registry(multiprocess_dir=None, *, state=True):
    """Every series of the platform: the counters of all its processes (merged from `multiprocess_dir`,
    default PROMETHEUS_MULTIPROC_DIR, when set) or of this one, and with `state` the database's."""
    registry = CollectorRegistry(auto_describe=False)
    multiprocess_dir = multiprocess_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_ThisProcess(REGISTRY))
    if state:
        registry.register(PlatformCollector())
    return registry


class _ThisProcess:
    """This process's own series (no multiprocess directory: one process, e.g. the tests' live server). A view of
    the module's registry, so the per-scrape registry can add the database's state without touching it."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


def _refuse(status, message, **headers):
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


def metrics_refusal(authorization):
    """(status, message) when `authorization` (the header's value) is not the metrics token, else None.

    Never public: without a configured token metrics are off. The token is compared in constant time."""
    token = settings.PLATFORM_METRICS_TOKEN
    if not token:
        return 403, "Metrics are off: set PLATFORM_METRICS_TOKEN and scrape with it as a bearer token."
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401, "Send the metrics token: Authorization: Bearer <PLATFORM_METRICS_TOKEN>."
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 403, "That is not the metrics token."
    return None


@never_cache
def metrics(request):
    """Prometheus's text format, for a scraper that sends `Authorization: Bearer PLATFORM_METRICS_TOKEN`."""
    refusal = metrics_refusal(request.headers.get("Authorization"))
    if refusal:
        status, message = refusal
        return _refuse(status, message, **({"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else {}))
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


@never_cache
def healthz(request):
    """Alive: the process answers. Nothing outside it is asked, so an outage of the database or the hub
    never gets healthy portal processes restarted (that is /readyz's business)."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker():
    from portal.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=settings.PLATFORM_READY_TIMEOUT)


def _check_hub():
    # The API's root answers without a token (the hub's version); anything but 200 is a hub not ready.
    answer = requests.get(f"{settings.PLATFORM_HUB_API_URL}/", timeout=settings.PLATFORM_READY_TIMEOUT)
    if answer.status_code != 200:
        raise RuntimeError(f"the hub answered {answer.status_code}")


READY_CHECKS = {"database": _check_database, "broker": _check_broker, "hub": _check_hub}


@never_cache
def readyz(request):
    """Ready: the database, the broker and the hub answer. 503 names the checks that failed and why."""
    checks, failing = {}, []
    for name, check in READY_CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001  (whatever broke, the probe must answer, naming it)
            checks[name] = f"failing: {exc.__class__.__name__}: {str(exc)[:200]}".rstrip(": ")
            failing.append(name)
    body = {"status": "failing" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)

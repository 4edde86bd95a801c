"""The Celery worker's own /metrics, for Kubernetes, where each worker pod keeps its metric files in a
folder of its own that no portal pod reads (with `make run` the portal serves them: one folder).

Started in the worker's main process when PLATFORM_WORKER_METRICS_PORT is set (the chart sets it); the
prefork children write their files, this merges them. The same bearer token as the portal's /metrics;
no database state here (the portal serves it, once)."""

import logging
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from observability.views import metrics_refusal, metrics_registry

logger = logging.getLogger(__name__)


def metrics_app(environ, start_response):
    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Only /metrics here.\n"]
    refusal = metrics_refusal(environ.get("HTTP_AUTHORIZATION"))
    if refusal:
        status, message = refusal
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response(f"{status} {'Unauthorized' if status == 401 else 'Forbidden'}", headers)
        return [message.encode() + b"\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(metrics_registry(state=False))]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # a scrape every few seconds is not news
        pass


def worker_metrics_serve(*, port, host="0.0.0.0"):
    """Serve metrics_app on a daemon thread; returns the server (its `server_port` is the port bound)."""
    server = make_server(host, port, metrics_app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("Worker metrics on %s:%s/metrics", host, server.server_port)
    return server

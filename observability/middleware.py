"""One middleware for what every portal request leaves behind: its request id, its line in the log and
its place in dsw_http_requests_total / dsw_http_request_duration_seconds."""

import logging
import time

from observability import logs, metrics

logger = logging.getLogger("portal.requests")
# Any word is a method to Django; labels take these only, so nobody can mint series.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _machine_endpoints():
    """{path: (view name, handler)}: the view inside the security and CSP middleware every response gets (they
    ask nothing of the Host header), without the rest of the stack."""
    from csp.middleware import CSPMiddleware
    from django.middleware.security import SecurityMiddleware

    from observability import views

    return {path: (name, SecurityMiddleware(CSPMiddleware(view))) for path, name, view in (
        ("/healthz", "healthz", views.healthz), ("/readyz", "readyz", views.readyz), ("/metrics", "metrics", views.metrics))}


class RequestObservabilityMiddleware:
    """Outermost, so the time it measures is the request's whole time in the portal.

    It answers the probes and /metrics itself, before any middleware validates the Host header: kubelets and
    Prometheus reach pods by their address, which no DJANGO_ALLOWED_HOSTS lists (and /metrics has its token)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.endpoints = _machine_endpoints()

    def __call__(self, request):
        started = time.perf_counter()
        rid = logs.request_id_from(request.headers.get(logs.HEADER))
        token = logs.request_id_set(rid)
        request.request_id = rid
        status = 500
        endpoint = self.endpoints.get(request.path_info)
        try:
            response = endpoint[1](request) if endpoint else self.get_response(request)
            status = response.status_code
            response[logs.HEADER] = rid
            return response
        finally:
            seconds = time.perf_counter() - started
            # The route's name, never the path: a bounded label whatever people type into the address bar.
            match = getattr(request, "resolver_match", None)
            view = endpoint[0] if endpoint else (match.view_name or match.route) if match else "unmatched"
            method = request.method if request.method in _METHODS else "other"
            metrics.http_request(view=view, method=method, status=status, seconds=seconds)
            logger.info("%s %s %s", request.method, request.path, status,
                        extra={"method": request.method, "path": request.path, "status": status, "view": view,
                               "duration_ms": round(seconds * 1000, 1)})
            logs.request_id_reset(token)

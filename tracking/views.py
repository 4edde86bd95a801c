"""/mlflow/…: MLflow's UI and REST API behind the portal's sign-in and the platform's permission layer.

Thin: who is calling (the portal session, a workspace's tracking token or a personal access token), the
route's rule and the gateway's decision, then the request goes to MLflow and its answer comes back streamed.
"""

import json
import logging
from urllib.parse import urlsplit

from csp.decorators import csp_exempt
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from portal.accounts.services import token_authenticate
from portal.ratelimit import RateLimited, secret_failure_record
from tracking import gateway, mlflow_client
from tracking.routes import rule_for
from tracking.tokens import tracking_token_authenticate

logger = logging.getLogger(__name__)

# Headers that describe one hop, not the message (RFC 9110 §7.6.1), and those the portal sets itself.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length", "cookie", "authorization", "set-cookie"}
_FORWARD = ("Content-Type", "Accept", "Accept-Encoding", "Range", "If-None-Match", "If-Modified-Since")


def _error(status, error_code, message):
    return JsonResponse({"error_code": error_code, "message": message}, status=status)


def _caller(request):
    """(user, may write, None) or (None, False, a refusal)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() == "bearer":
            user = tracking_token_authenticate(raw)
            if user is not None:
                return user, True, None
            token = token_authenticate(raw)
            if token is not None:
                return token.user, token.can_write, None
        secret_failure_record(request=request)
        return None, False, _error(401, "UNAUTHENTICATED", "Invalid, expired or revoked token: the workspace's "
                                   "MLFLOW_TRACKING_TOKEN or a personal access token (Bearer) is expected.")
    if request.user.is_authenticated:
        # The session is a browser's: a page of another origin (a workspace's own host) must not act with it.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin") or ""
            public = urlsplit(settings.PLATFORM_PUBLIC_URL)
            if origin != f"{public.scheme}://{public.netloc}" and request.headers.get("Sec-Fetch-Site") != "same-origin":
                return None, False, _error(403, "PERMISSION_DENIED", "Cross-origin requests are refused.")
        return request.user, True, None
    if request.method in ("GET", "HEAD") and "text/html" in request.headers.get("Accept", ""):
        return None, False, redirect_to_login(request.get_full_path())
    return None, False, _error(401, "UNAUTHENTICATED", "Sign in to the portal, or send a token (Bearer).")


def _body_json(request, rule):
    if rule.kind in ("artifact", "shell") or request.method in ("GET", "HEAD"):
        return {}
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


# MLflow's answers other than its UI (artifacts, JSON) are served from the portal's origin: an artifact is whatever a
# workspace logged, e.g. an .html with script in it. Opened directly, it must not run in that origin (where it could
# act with the reader's portal session): an opaque sandbox, no sniffing, and artifacts are downloads.
INERT_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}


@csrf_exempt  # no cookie-borne request of another origin gets through _caller
@csp_exempt()  # MLflow's own page, with its own scripts and styles; everything else is made inert below
def mlflow_proxy(request, path=""):
    response = _mlflow_answer(request)
    rule = rule_for(request.method, request.path)
    if rule is None or rule.kind != "shell":
        for name, value in INERT_HEADERS.items():
            response[name] = value
        if rule is not None and (rule.kind == "artifact" or rule.endpoint == "get-artifact") and request.method == "GET":
            response["Content-Disposition"] = "attachment"
    return response


def _mlflow_answer(request):
    try:
        user, can_write, refusal = _caller(request)
    except RateLimited as exc:
        return _error(429, "REQUEST_LIMIT_EXCEEDED", str(exc))
    if refusal is not None:
        return refusal
    rule = rule_for(request.method, request.path)
    if rule is None:
        return _error(403, "PERMISSION_DENIED", "This MLflow feature is not offered by the platform.")
    body = _body_json(request, rule)
    if body is None:
        return _error(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
    artifact_path = None
    if rule.kind == "artifact" and "/artifacts/" in request.path:
        artifact_path = request.path.split("/artifacts/", 1)[1] if rule.endpoint == "artifacts" else None
    if rule.kind == "artifact" and rule.endpoint.startswith("mpu/"):
        artifact_path = request.path.split(f"/{rule.endpoint}/", 1)[1] if f"/{rule.endpoint}/" in request.path else ""
    try:
        decision = gateway.request_check(user=user, can_write=can_write, rule=rule, query=request.GET, body=body,
                                         artifact_path=artifact_path)
        if isinstance(decision, gateway.Refusal):
            return _error(decision.status, decision.error_code, decision.message)
        upstream = _forward(request, rule, decision)
    except mlflow_client.TrackingUnavailable as exc:
        logger.warning("MLflow did not answer %s %s: %s", request.method, request.path, exc)
        return _error(503, "TEMPORARILY_UNAVAILABLE", "Experiment tracking is unavailable at the moment; try again soon.")
    if rule.kind == "server-info" and upstream.status_code == 200:
        # Multipart transfers hand out presigned URLs of the object store: every byte goes through here instead.
        return JsonResponse({**upstream.json(), "multipart_uploads_enabled": False, "multipart_downloads_enabled": False})
    if decision.filter_experiments and upstream.status_code == 200:
        answer = upstream.json()
        answer["experiments"] = gateway.experiments_visible(user=user, experiments=answer.get("experiments", []))
        return JsonResponse(answer)
    response = StreamingHttpResponse(upstream.raw.stream(64 * 1024, decode_content=False), status=upstream.status_code)
    response.streaming_content_close = upstream.close
    for name, value in upstream.headers.items():
        if name.lower() not in _HOP:
            response[name] = value
    if "Content-Length" in upstream.headers:
        response["Content-Length"] = upstream.headers["Content-Length"]
    return response


def _forward(request, rule, decision):
    headers = {name: request.headers[name] for name in _FORWARD if name in request.headers}
    if decision.body is not None:
        data = decision.body
    elif rule.kind == "artifact" and request.method in ("PUT", "POST"):
        data = _Body(request)  # streamed: artifacts may be large
    else:
        data = request.body or None
    path = request.path[len("/mlflow"):]
    return mlflow_client.send(request.method, path, params=request.META.get("QUERY_STRING") or None,
                              data=data, headers=headers, stream=True, long=rule.kind == "artifact")


class _Body:
    """The request's body as requests streams a file: read in blocks, its length known up front (otherwise it
    would send it chunked, with no end MLflow's upload waits for)."""

    def __init__(self, request):
        self.request = request
        self.length = int(request.headers.get("Content-Length") or 0)

    def __len__(self):
        return self.length

    def read(self, size=-1):
        return self.request.read(size)

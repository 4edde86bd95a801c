"""The two endpoints the registry itself talks to: the token issuer and the notification webhook.

Plain Django views rather than DRF ones: their clients (docker, skopeo, the registry) speak the
distribution protocol, not our API's error shape.
"""

import base64
import binascii
import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from portal.ratelimit import RateLimited

from images import services, tasks

logger = logging.getLogger(__name__)


def _unauthorized(message):
    response = JsonResponse({"errors": [{"code": "UNAUTHORIZED", "message": message}]}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="registry token"'
    return response


def _basic_credentials(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("use HTTP Basic authentication")
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed Basic credentials") from None
    return username, password


@require_GET
def registry_token(request):
    """Distribution token auth: ``GET ?service=…&scope=repository:name:pull,push`` with Basic credentials
    (a robot's ``robot$name`` and secret, or a user with a personal access token or password)."""
    service = request.GET.get("service")
    if service and service != settings.PLATFORM_REGISTRY_SERVICE:
        return JsonResponse({"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]}, status=400)
    try:
        credentials = _basic_credentials(request)
    except ValueError as exc:
        return _unauthorized(str(exc))
    principal, read_only = None, False
    if credentials is not None:
        try:
            principal, read_only = services.registry_principal(*credentials, request=request)
        except RateLimited as exc:
            response = JsonResponse({"errors": [{"code": "TOOMANYREQUESTS",
                                                 "message": f"too many failed attempts; try again in {exc.retry_after} s"}]},
                                    status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        if principal is None:
            logger.info("registry token refused for %r", credentials[0])
            return _unauthorized("invalid username, token or secret")
    return JsonResponse(services.registry_token_for(principal, request.GET.getlist("scope"), read_only=read_only))


@csrf_exempt
@require_POST
def registry_events(request):
    """The registry's notifications (push/delete): re-sync the repositories they name, after commit."""
    if not services.webhook_authorized(request.META.get("HTTP_AUTHORIZATION", "")):
        return JsonResponse({"detail": "A valid bearer token is required.", "errors": {}}, status=401)
    try:
        names = services.registry_events_accept(json.loads(request.body or b"null"))
    except (ValueError, UnicodeDecodeError) as exc:
        return JsonResponse({"detail": f"Malformed notification envelope: {exc}", "errors": {"events": [str(exc)]}}, status=400)
    for name in names:
        transaction.on_commit(lambda name=name: tasks.repository_sync_task.delay(name))
    return JsonResponse({"queued": names})

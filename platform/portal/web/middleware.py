"""Request limits every route shares: body size, characters no database takes, and 429 answers."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render

from portal.ratelimit import RateLimited


def _machine_client(request):
    """API and OAuth clients read JSON; people read pages."""
    return request.path.startswith(("/api/", "/o/"))


def _refusal(request, status, message):
    if _machine_client(request):
        return JsonResponse({"detail": message, "errors": {}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class PortalHostMiddleware:
    """With per-user subdomains, a workspace host (alice.localhost) reaches the portal only when no server
    answers there (a stopped workspace, a typo): send the person to the same path on the portal's own host,
    so no portal page is ever served on a workspace's origin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        workspace_hosts = "." + (urlsplit(settings.PLATFORM_PUBLIC_URL).hostname or "")
        if settings.PLATFORM_WORKSPACE_SUBDOMAINS and request.get_host().split(":")[0].lower().endswith(workspace_hosts):
            if request.method not in ("GET", "HEAD"):
                return _refusal(request, 404, "Nothing answers here.")
            return HttpResponseRedirect(settings.PLATFORM_PUBLIC_URL + request.get_full_path())
        return self.get_response(request)


class RequestLimitsMiddleware:
    """Refuse, before anything reads them, bodies over PLATFORM_MAX_REQUEST_BYTES (413) and NUL
    characters in the path or query string (400: PostgreSQL cannot store them, so a lookup with
    one would fail deep inside a view)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refusal(request, 400, "The Content-Length header is not a number.")
        limit = settings.PLATFORM_MAX_REQUEST_BYTES
        if length > limit:
            return _refusal(request, 413, f"The request body is larger than the limit of {limit} bytes.")
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                         for key, values in request.GET.lists()):
            return _refusal(request, 400, "NUL characters are not allowed in the path or query string.")
        return self.get_response(request)


class RateLimitedMiddleware:
    """Turns ``RateLimited`` (portal.ratelimit) raised by a page into a 429 that says when to retry.

    API views answer their own 429 through the API's exception handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, RateLimited):
            return None
        if _machine_client(request):
            response = JsonResponse({"detail": str(exception), "errors": {}}, status=429)
        else:
            response = render(request, "429.html", {"retry_after": exception.retry_after}, status=429)
        response["Retry-After"] = str(exception.retry_after)
        return response

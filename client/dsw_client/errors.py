"""What can go wrong, as exceptions a script can catch by meaning rather than by status code.

Every exception's ``str()`` is one line a person can act on; the CLI prints it as is.
"""

from __future__ import annotations


class DswError(Exception):
    """Base of everything this package raises on purpose."""


class NotSignedIn(DswError):
    """No token to send (nothing in the arguments, the environment or the config file)."""


class PlatformUnreachable(DswError):
    """Nothing answered at the URL (refused, unknown host, timed out)."""


class NotThePlatform(DswError):
    """Something answered, but not the platform's API (a web page, another service): a wrong URL."""


class ApiError(DswError):
    """The API answered with an error. ``detail`` is its one-line message, ``errors`` its field errors
    (``{"name": ["This field is required."]}``), ``status`` the HTTP status."""

    def __init__(self, message: str, *, status: int, detail: str = "", errors: dict | None = None, method: str = "",
                 path: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.errors = errors or {}
        self.method = method
        self.path = path


class BadInput(ApiError):
    """400 (and 413): the request was refused for what it said; ``errors`` names each field at fault."""


class TokenRefused(ApiError):
    """401: no valid token (a wrong password at sign-in, or an invalid, expired or revoked token)."""


class NotAllowed(ApiError):
    """403: signed in, but not allowed to do this (or the token is read-only)."""


class NotFound(ApiError):
    """404: it does not exist, or you may not see it (the API does not say which)."""


class Conflict(ApiError):
    """409: a conflicting change happened at the same moment, or the action does not apply now."""


class RateLimited(ApiError):
    """429 after the retries: ``retry_after`` is how many seconds the platform asked to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the platform's fault (``detail`` carries a reference to quote), or it is overloaded."""


class WorkspaceFailed(DswError):
    """A workspace being waited for failed (or was stopped) instead of running; ``workspace`` is its last state."""

    def __init__(self, message: str, *, workspace):
        super().__init__(message)
        self.workspace = workspace


class WaitTimeout(DswError):
    """A workspace did not reach the state waited for in time; ``workspace`` is its last state."""

    def __init__(self, message: str, *, workspace):
        super().__init__(message)
        self.workspace = workspace


def error_for_status(status: int):
    """The exception class for an HTTP error status."""
    if status in (400, 413):
        return BadInput
    if status >= 500:
        return ServerError
    return {401: TokenRefused, 403: NotAllowed, 404: NotFound, 409: Conflict, 429: RateLimited}.get(status, ApiError)

"""HTTP to the platform's API: the token, one error shape turned into exceptions, retries on 429/503,
pagination. ``requests`` is imported on the first request, so ``dsw --version`` never pays for it."""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

from dsw_client import __version__
from dsw_client.errors import (
    ApiError, NotFound, NotThePlatform, PlatformUnreachable, RateLimited, ServerError, TokenRefused, error_for_status,
)

logger = logging.getLogger("dsw_client")

RETRY_STATUSES = (429, 503)  # the platform did not act on the request: asking again is safe for any method


def url_check(url: str) -> str:
    """The base URL without a trailing slash; NotThePlatform for anything that is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotThePlatform(f"{url!r} is not the platform's URL: give it like https://portal.example.org")
    return url.strip().rstrip("/")


class Transport:
    """One platform, one token. ``token`` may be None only for the sign-in itself."""

    def __init__(self, url: str, token: str | None, *, token_expires: datetime | None = None, token_source: str = "",
                 timeout: float = 60.0, retries: int = 4, max_retry_wait: float = 30.0, page_size: int = 200):
        self.url = url_check(url)
        self.token = token
        self.token_expires = token_expires
        self.token_source = token_source
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.page_size = page_size
        self._session = None

    def __repr__(self):
        return f"Transport({self.url!r})"

    def session(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = f"dsw-client/{__version__} {requests.utils.default_user_agent()}"
            self._session.headers["Accept"] = "application/json"
            if self.token:
                self._session.headers["Authorization"] = f"Bearer {self.token}"
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    # --- one request ---------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None, text: bool = False,
                binary: bool = False, **path_params) -> Any:
        """Send one request and return its JSON (None for 204; the body as text with ``text=True``, as bytes
        whatever its type with ``binary=True``).

        ``path`` is the schema's path template ("/api/v1/workspaces/{id}/"), filled from ``path_params``.
        429 and 503 are retried with back-off (``Retry-After`` when the platform sends one, if it is at
        most ``max_retry_wait`` seconds); every other error raises at once."""
        import requests

        target = path.format(**{name: quote(str(value), safe="") for name, value in path_params.items()})
        params = {name: value for name, value in (params or {}).items() if value is not None}
        for attempt in range(self.retries + 1):
            started = time.monotonic()
            try:
                response = self.session().request(method, self.url + target, params=params or None, json=json,
                                                  timeout=(min(10.0, self.timeout), self.timeout), allow_redirects=False)
            except requests.exceptions.ConnectionError as exc:
                raise PlatformUnreachable(self._unreachable(exc)) from None
            except requests.exceptions.Timeout:
                raise PlatformUnreachable(f"No answer from {self.url} within {self.timeout:g} s.") from None
            except requests.exceptions.RequestException as exc:
                raise PlatformUnreachable(f"Cannot talk to {self.url}: {str(exc)[:200]}") from None
            logger.debug("%s %s -> %s in %.0f ms", method, response.request.path_url, response.status_code,
                         (time.monotonic() - started) * 1000)
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                wait = self._retry_wait(response, attempt)
                if wait is not None:
                    logger.info("%s %s answered %s: retrying in %.1f s (retry %d of %d)", method, target,
                                response.status_code, wait, attempt + 1, self.retries)
                    time.sleep(wait)
                    continue
            break
        return self._answer(response, method, target, text=text, binary=binary)

    def _retry_wait(self, response, attempt):
        """Seconds to wait before the next try, or None when the platform asks for longer than we wait."""
        asked = response.headers.get("Retry-After", "")
        try:
            wait = float(asked)
        except ValueError:  # absent, or an HTTP date: back off on our own
            wait = min(8.0, 0.5 * 2 ** attempt) * random.uniform(1.0, 1.25)
        return wait if wait <= self.max_retry_wait else None

    def _unreachable(self, exc):
        reason = str(exc)
        host = urlsplit(self.url).hostname
        if "Name or service not known" in reason or "NameResolutionError" in reason or "nodename nor servname" in reason:
            return f"Cannot reach {self.url}: no host named {host!r} was found. Is the URL right?"
        if "refused" in reason.lower():
            return f"Cannot reach {self.url}: nothing answers there (connection refused). Is the URL right, and the platform up?"
        if "SSL" in reason or "certificate" in reason.lower():
            return f"Cannot reach {self.url}: the TLS connection failed ({reason[:200]})."
        return f"Cannot reach {self.url}: {reason[:200]}"

    def _answer(self, response, method, target, *, text, binary=False):
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            raise NotThePlatform(f"{self.url} redirects {target} to {location or 'elsewhere'}: use the platform's own URL "
                                 "(e.g. https:// instead of http://).")
        body = None
        if content_type.startswith("application/json"):
            try:
                body = response.json()
            except ValueError:  # announced as JSON, but it is not: not our API
                body = None
        if status < 300:
            if status == 204:
                return None
            if binary:
                return response.content
            if text and body is None and content_type.startswith("text/"):
                return response.text
            if body is not None:
                return body
        elif body is not None:
            raise self._error(body, status, method, target, response.headers.get("Retry-After"))
        if status >= 500:
            raise ServerError(f"The platform answered {status} {response.reason} to {method} {target}: it may be starting "
                              "or overloaded; try again in a moment.", status=status, method=method, path=target)
        raise NotThePlatform(f"{self.url} answered {method} {target} with {status} ({content_type or 'no content type'}), "
                             "not like the platform's API: is the URL right?")

    def _error(self, body, status, method, target, retry_after):
        body = body if isinstance(body, dict) else {}
        detail = str(body.get("detail") or f"{status} error")
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
        message = _one_line(detail, errors)
        kind = error_for_status(status)
        extra = {"status": status, "detail": detail, "errors": errors, "method": method, "path": target}
        if kind is TokenRefused and self.token and not target.startswith("/api/v1/auth/"):
            message = self._token_refused()
        elif kind is NotFound:
            message = f"{detail.rstrip('.')}: {method} {target}"
        elif kind is RateLimited:
            seconds = _number(retry_after)
            if seconds and "second" not in detail:  # DRF's detail already says "Expected available in N seconds."
                message = f"{detail.rstrip('.')}: try again in {seconds:g} s."
            return RateLimited(message, retry_after=seconds, **extra)
        return kind(message, **extra) if kind is not ApiError else ApiError(f"{message} ({method} {target})", **extra)

    def _token_refused(self):
        source = f" from {self.token_source}" if self.token_source else ""
        if self.token_expires is not None and self.token_expires <= datetime.now(timezone.utc):
            return (f"Your token for {self.url} expired on {self.token_expires:%Y-%m-%d %H:%M} UTC: sign in again "
                    "(dsw login).")
        return (f"{self.url} refused the token{source} (it is invalid, expired or revoked): sign in again (dsw login) "
                "or use another token.")

    # --- shortcuts -------------------------------------------------------------

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def elsewhere(self, method: str, url: str, *, data=None, into=None) -> None:
        """A request to a URL the API handed out (a presigned object-store link): sent without the token or any
        header of ours, since that URL is another service's. ``data``: the body to send; ``into``: a binary file
        the answer is written to."""
        import requests

        try:
            response = requests.request(method, url, data=data, stream=into is not None, allow_redirects=False,
                                        timeout=(min(10.0, self.timeout), self.timeout))
        except requests.exceptions.RequestException as exc:
            raise PlatformUnreachable(f"Cannot reach {urlsplit(url).netloc}: {str(exc)[:200]}") from None
        with response:
            if response.status_code >= 300:
                kind = error_for_status(response.status_code)
                raise kind(f"{urlsplit(url).netloc} answered {response.status_code} to {method}: "
                           f"{response.text[:200].strip() or response.reason}", status=response.status_code,
                           method=method, path=urlsplit(url).path)
            if into is not None:
                for chunk in response.iter_content(1 << 20):
                    into.write(chunk)

    def paginate(self, path, *, params: dict | None = None, **path_params) -> Iterator[dict]:
        """Every item of a paginated list, fetching pages as the iteration reaches them."""
        page = 1
        while True:
            try:
                body = self.get(path, params={**(params or {}), "page": page, "page_size": self.page_size}, **path_params)
            except NotFound:
                if page == 1:
                    raise
                return  # the list shrank while we read it: the page we asked for is past the end now
            yield from body["results"]
            if not body.get("next"):
                return
            page += 1


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _one_line(detail: str, errors: dict) -> str:
    """The API's message, plus the other fields at fault (its ``detail`` names only the first)."""
    parts = [detail]
    for name, problems in errors.items():
        named = "Invalid input: " if name == "non_field_errors" else f"Invalid input for '{name}': "
        if name == next(iter(errors)) and detail.startswith(named):
            continue  # the detail is this field's message
        parts.append(_flat(problems) if name == "non_field_errors" else f"'{name}': {_flat(problems)}")
    return "; ".join(parts).replace("\n", " ")


def _flat(problems) -> str:
    if isinstance(problems, list):
        return " ".join(_flat(item) for item in problems)
    if isinstance(problems, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in problems.items())
    return str(problems)

"""The portal's one adapter to JupyterHub: its REST API as the portal's service account sees it, where
people reach servers, and how active those servers are.

"Already running", "already pending" and "already stopped" are successes: every call here may be
repeated safely. Errors the caller can act on are HubError; a hub that does not answer is
HubUnreachable. `hub_client()` builds the client from settings; tests and benchmarks use
`workspaces.hub_fake.FakeHub`, which answers the same calls from memory.

Kernel checks (for idle culling) run concurrently, at most `concurrency` at a time, each with a
timeout; one server that hangs or answers garbage gives an error for that server only.
"""

import base64
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

from observability import logs, metrics
from workspaces.culling import kernels_activity, parse_time

# How long the idle check's per-server token lives (kernel_check_token): a day, so one serves many sweeps.
KERNEL_CHECK_TOKEN_SECONDS = 24 * 3600

logger = logging.getLogger(__name__)


def hub_client():
    """The hub client for this platform's settings."""
    return HubClient(settings.PLATFORM_HUB_API_URL, settings.PLATFORM_HUB_API_TOKEN,
                     servers_url=settings.PLATFORM_SERVERS_URL or settings.PLATFORM_PUBLIC_URL,
                     pool_size=settings.PLATFORM_CULL_CONCURRENCY)


def server_public_url(public_url, username, server_name, *, subdomains, path=""):
    """Where people reach a server, as the hub routes it: `<public_url>/user/<name>/<server>/<path>`, on the
    person's own host `<name>.<host>` with per-user subdomains (the hub's own naming, so the two agree)."""
    parts = urlsplit(public_url)
    if subdomains:
        from jupyterhub.utils import subdomain_hook_idna  # here: the module takes half a second to import

        host = subdomain_hook_idna(username, parts.hostname, "user")
        public_url = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"
    return f"{public_url.rstrip('/')}/user/{quote(username, safe='')}/{quote(server_name, safe='')}/{path}"


class HubError(Exception):
    pass


class HubUnreachable(HubError):
    pass


@dataclass(frozen=True)
class ServerState:
    exists: bool
    ready: bool = False
    pending: str = ""  # "spawn", "stop" or ""
    url: str = ""  # absolute (http://alice.localhost:8000/user/…) with per-user subdomains, else a path
    last_activity: str = ""
    started: str = ""  # when this run began: names the run (a restarted server is another run)
    user_exists: bool = True  # the hub knows the person (a start need not create them first)

    @classmethod
    def from_model(cls, server):
        """From the hub's server model (an item of a user's `servers`); None means no such server."""
        if not server:
            return cls(exists=False)
        return cls(exists=True, ready=bool(server.get("ready")), pending=server.get("pending") or "",
                   url=server.get("url") or "", last_activity=server.get("last_activity") or "",
                   started=server.get("started") or "")


@dataclass(frozen=True)
class SpawnProgress:
    progress: int
    message: str
    ready: bool = False
    failed: bool = False


def _pooled_session(pool_size):
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HubClient:
    def __init__(self, api_url, token, *, timeout=10, servers_url="", pool_size=10):
        self.api_url = api_url.rstrip("/")
        # Where /user/… servers answer (the proxy); needed only for server_kernels.
        self.servers_url = servers_url.rstrip("/")
        self.session = _pooled_session(pool_size)
        self.session.headers["Authorization"] = f"token {token}"
        # Requests into servers (kernel checks, project files) go through a pool of their own that carries no
        # token by default: each request brings the one-server token it was given, never the portal's.
        self.servers = _pooled_session(pool_size)
        self.timeout = timeout
        self.requests_made = 0  # hub API calls (not requests to servers), for benchmarks and logs

    def _call(self, method, path, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        if logs.request_id():  # the hub logs it with the call: one id from the portal request to the hub
            kwargs["headers"] = {**kwargs.get("headers", {}), logs.HEADER: logs.request_id()}
        self.requests_made += 1
        started = time.perf_counter()
        try:
            response = self.session.request(method, f"{self.api_url}{path}", **kwargs)
        except requests.RequestException as exc:
            metrics.hub_call(method=method, path=path, seconds=time.perf_counter() - started)
            raise HubUnreachable(f"The hub at {self.api_url} does not answer: {exc.__class__.__name__}") from exc
        metrics.hub_call(method=method, path=path, seconds=time.perf_counter() - started, status=response.status_code)
        return response

    @staticmethod
    def _server_path(user, server):
        return f"/users/{quote(user, safe='')}/servers/{quote(server, safe='')}"

    def ensure_user(self, user):
        response = self._call("POST", f"/users/{quote(user, safe='')}")
        if response.status_code not in (201, 409):
            raise HubError(f"Creating hub user {user!r} failed: {response.status_code} {response.text[:200]}")

    def start_server(self, user, server):
        """Ask the hub to spawn; True when accepted (201 ready, 202 pending, or already so)."""
        response = self._call("POST", self._server_path(user, server), json={})
        if response.status_code in (201, 202):
            return True
        if response.status_code == 400 and ("already running" in response.text or "is pending" in response.text):
            return True
        raise HubError(f"The hub refused to start {user}/{server}: {response.status_code} {_message(response)}")

    def stop_server(self, user, server, *, remove=False):
        """Stop (and with ``remove`` forget) a named server. Idempotent."""
        response = self._call("DELETE", self._server_path(user, server), json={"remove": remove})
        if response.status_code in (202, 204, 404):
            return
        if response.status_code == 400 and "pending" in response.text:
            return  # a stop or spawn is under way; the reconciler comes back
        raise HubError(f"The hub refused to stop {user}/{server}: {response.status_code} {_message(response)}")

    def server_state(self, user, server):
        response = self._call("GET", f"/users/{quote(user, safe='')}")
        if response.status_code == 404:
            return ServerState(exists=False, user_exists=False)
        if response.status_code != 200:
            raise HubError(f"Reading hub user {user!r} failed: {response.status_code}")
        return ServerState.from_model((response.json().get("servers") or {}).get(server))

    def spawn_progress(self, user, server, *, max_seconds=2.0):
        """The latest progress event of a pending spawn, read from the hub's event stream for at most ``max_seconds``."""
        latest = SpawnProgress(progress=0, message="")
        try:
            response = self.session.get(f"{self.api_url}{self._server_path(user, server)}/progress",
                                        stream=True, timeout=(self.timeout, max_seconds))
        except requests.exceptions.ReadTimeout:
            return latest
        except requests.RequestException as exc:
            raise HubUnreachable(f"The hub at {self.api_url} does not answer: {exc.__class__.__name__}") from exc
        with response:
            if response.status_code != 200:
                return latest
            try:
                for line in response.iter_lines(decode_unicode=True):
                    if not line or not line.startswith("data:"):
                        continue
                    event = json.loads(line[5:])
                    latest = SpawnProgress(progress=int(event.get("progress") or latest.progress),
                                           message=event.get("message") or latest.message,
                                           ready=bool(event.get("ready")), failed=bool(event.get("failed")))
                    if latest.ready or latest.failed:
                        break
            except requests.RequestException:
                # The stream stays open while the spawn goes on; a read that times out mid-stream
                # surfaces as a ConnectionError. We only wanted the latest event anyway.
                pass
        return latest

    def running_servers(self, *, page_size=200):
        """{(user, server): ServerState} for every server the hub knows, paging through users."""
        return {key: state for page in self.active_server_pages(page_size=page_size) for key, state in page}

    def active_server_pages(self, *, page_size=200):
        """Yield, one hub page at a time, [((user, server), ServerState)] for users with active servers.

        Uses JupyterHub's paginated listing (offset/limit, `_pagination.next`), so a sweep over
        thousands of servers costs the hub one bounded query per page, never one huge answer.
        """
        offset = 0
        while True:
            response = self._call("GET", "/users", params={"state": "active", "offset": offset, "limit": page_size},
                                  headers={"Accept": "application/jupyterhub-pagination+json"})
            if response.status_code != 200:
                raise HubError(f"Listing hub users failed: {response.status_code}")
            body = response.json()
            yield [((user["name"], name), ServerState.from_model(server))
                   for user in body["items"] for name, server in (user.get("servers") or {}).items() if server]
            next_page = (body.get("_pagination") or {}).get("next")
            if not next_page:
                return
            offset = next_page["offset"]

    def server_kernels(self, server_url, *, token, timeout=None):
        """The kernels of a running single-user server (its `/api/kernels`), reached through the proxy with
        ``token``: one of ``server_token``, opening that server only. Never the portal's own token: the server
        runs its owner's code, which can read what a request brings it. ``server_url`` is the hub's `url`, e.g.
        "/user/alice/ws-1/"."""
        response = self._server_request("GET", server_url, "api/kernels", token=token, timeout=timeout)
        if response.status_code != 200:
            raise HubError(f"Reading the kernels of {server_url} failed: {response.status_code}")
        try:
            kernels = response.json()
        except ValueError:
            raise HubError(f"The server at {server_url} sent no JSON for its kernels") from None
        if not isinstance(kernels, list):
            raise HubError(f"The server at {server_url} sent an unexpected kernel list")
        return kernels

    def server_token(self, user, server, *, expires_in=600, note="portal"):
        """(token id, token) of a new hub token of ``user`` that opens their server ``server`` only, for
        ``expires_in`` seconds. What the portal sends into a workspace (whose code may be hostile) is such a
        token, never its own: the workspace could read it, and it opens nothing but the workspace itself."""
        response = self._call("POST", f"/users/{quote(user, safe='')}/tokens", json={
            "scopes": [f"access:servers!server={user}/{server}"], "expires_in": expires_in, "note": note})
        if response.status_code not in (200, 201):
            raise HubError(f"Making a token for {user}/{server} failed: {response.status_code} {_message(response)}")
        body = response.json()
        return body["id"], body["token"]

    def token_revoke(self, user, token_id):
        """Revoke a token of ``user`` (idempotent: a token gone already is a success)."""
        response = self._call("DELETE", f"/users/{quote(user, safe='')}/tokens/{quote(str(token_id), safe='')}")
        if response.status_code not in (200, 204, 404):
            raise HubError(f"Revoking a token of {user} failed: {response.status_code} {_message(response)}")

    def server_contents_exists(self, server_url, path, *, token):
        """Whether ``path`` exists in a running server's home (its contents API, through the proxy)."""
        response = self._server_request("GET", server_url, f"api/contents/{quote(path)}", token=token, params={"content": "0"})
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise HubError(f"Reading {path} on {server_url} failed: {response.status_code} {_message(response)}")
        return True

    def server_contents_write(self, server_url, *, directories, files, token):
        """Create ``directories`` (parents first) and write ``files`` ({path: bytes}) in a running server's home,
        through its contents API, with ``token`` (one of ``server_token``). The server writes them as the
        workspace's own account. Repeating it rewrites the same files."""
        for directory in directories:
            response = self._server_request("PUT", server_url, f"api/contents/{quote(directory)}", token=token,
                                            json={"type": "directory"})
            if response.status_code not in (200, 201):
                raise HubError(f"Creating {directory} on {server_url} failed: {response.status_code} {_message(response)}")
        for path, data in files.items():
            model = {"type": "file", "format": "base64", "content": base64.b64encode(data).decode("ascii")}
            response = self._server_request("PUT", server_url, f"api/contents/{quote(path)}", token=token, json=model)
            if response.status_code not in (200, 201):
                raise HubError(f"Writing {path} on {server_url} failed: {response.status_code} {_message(response)}")

    def server_contents_model(self, server_url, path, *, token, content=False, folder=False, binary=False):
        """The contents API's model of ``path`` in a running server's home, or None when there is none. ``content``:
        with the file's text (`format=text`); ``binary``: with its bytes in base64 (`format=base64`); ``folder``: a
        folder's model with its entries. Read with ``token`` (one of ``server_token``)."""
        if folder:
            params = {"content": "1"}
        elif content or binary:
            params = {"content": "1", "type": "file", "format": "base64" if binary else "text"}
        else:
            params = {"content": "0"}
        response = self._server_request("GET", server_url, f"api/contents/{quote(path)}", token=token, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise HubError(f"Reading {path} on {server_url} failed: {response.status_code} {_message(response)}")
        try:
            return response.json()
        except ValueError:
            raise HubError(f"The server at {server_url} sent no JSON for {path}") from None

    def server_shares(self, user, server):
        """The hub's shares of one server (JupyterHub 5+ shares API): [{"user": name|None, "group": name|None}]."""
        response = self._call("GET", f"/shares/{quote(user, safe='')}/{quote(server, safe='')}")
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise HubError(f"Reading the shares of {user}/{server} failed: {response.status_code} {_message(response)}")
        return [{"user": (item.get("user") or {}).get("name"), "group": (item.get("group") or {}).get("name")}
                for item in response.json().get("items", [])]

    def server_share_grant(self, user, server, *, to_user):
        """Let ``to_user`` open ``user``'s server ``server`` (access only: the grantee cannot start, stop or share it).
        Idempotent: granting again keeps one share."""
        response = self._call("POST", f"/shares/{quote(user, safe='')}/{quote(server, safe='')}",
                              json={"user": to_user, "scopes": [f"access:servers!server={user}/{server}"]})
        if response.status_code not in (200, 201):
            raise HubError(f"Sharing {user}/{server} with {to_user} failed: {response.status_code} {_message(response)}")

    def server_share_revoke(self, user, server, *, to_user):
        """End ``to_user``'s share of the server; the hub refuses their next request. Idempotent."""
        # PATCH takes the scopes away; a share left with none is deleted (the hub answers {}).
        response = self._call("PATCH", f"/shares/{quote(user, safe='')}/{quote(server, safe='')}",
                              json={"user": to_user, "scopes": [f"access:servers!server={user}/{server}"]})
        if response.status_code not in (200, 204, 404):
            raise HubError(f"Ending the share of {user}/{server} with {to_user} failed: {response.status_code} {_message(response)}")

    def _server_request(self, method, server_url, path, *, token, timeout=None, **kwargs):
        # As server_kernels: with per-user subdomains the hub's url is absolute, and the proxy at servers_url is
        # asked for that host. `no_track_activity`: the platform writing files is not the owner being active.
        # Not self.session: it carries the portal's own token, which must not go there.
        parts = urlsplit(server_url)
        headers = {"Authorization": f"token {token}", **({"Host": parts.netloc} if parts.netloc else {})}
        params = {**kwargs.pop("params", {}), "no_track_activity": "1"}
        try:
            return self.servers.request(method, f"{self.servers_url}{parts.path.rstrip('/')}/{path}", headers=headers,
                                    params=params, timeout=timeout or self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise HubUnreachable(f"The server at {server_url} does not answer: {exc.__class__.__name__}") from exc


def _message(response):
    try:
        return response.json().get("message", "")[:300]
    except ValueError:
        return response.text[:300]


# --- How active servers are ------------------------------------------------------------------

@dataclass(frozen=True)
class ServerActivity:
    last_activity: datetime | None
    busy: bool = False
    error: str = ""  # the kernels could not be read; last_activity is then the hub's alone


def hub_activity(state):
    """The hub's view of one server (a ServerState): its last activity, never busy."""
    return ServerActivity(last_activity=parse_time(state.last_activity))


def kernel_check_token(hub, user, server, started):
    """A hub token that opens this one server of ``user`` and nothing else, for the idle check to send into
    it. Minted once per run of the server and kept in the cache: a sweep every few minutes costs the hub no
    new token. Leaked to the workspace's own code, it opens only what its owner already has."""
    key = f"hub:kernel-check-token:{user}/{server}/{started}"
    token = cache.get(key)
    if token is None:
        _, token = hub.server_token(user, server, expires_in=KERNEL_CHECK_TOKEN_SECONDS, note="idle check")
        cache.set(key, token, KERNEL_CHECK_TOKEN_SECONDS - 3600)  # never handed out in its last hour
    return token


def servers_activity(hub, states, *, concurrency, timeout, connected_is_active):
    """{key: ServerActivity} for {(user, server): ServerState}, combining the hub's last activity with each
    server's kernels (the latest kernel activity; busy when a kernel executes)."""

    def check(item):
        key, state = item
        from_hub = hub_activity(state)
        try:
            kernels = hub.server_kernels(state.url, token=kernel_check_token(hub, *key, state.started), timeout=timeout)
        except HubError as exc:
            logger.warning("Culling: kernels of %s/%s unreadable: %s", *key, exc)
            return key, ServerActivity(from_hub.last_activity, error=str(exc))
        except Exception as exc:  # one odd server must not end the sweep
            logger.exception("Culling: checking %s/%s failed", *key)
            return key, ServerActivity(from_hub.last_activity, error=exc.__class__.__name__)
        kernel_seen, busy = kernels_activity(kernels, connected_is_active=connected_is_active)
        latest = max(filter(None, [from_hub.last_activity, kernel_seen]), default=None)
        return key, ServerActivity(latest, busy=busy)

    if not states:
        return {}
    with ThreadPoolExecutor(max_workers=min(concurrency, len(states)), thread_name_prefix="cull-check") as pool:
        return dict(pool.map(check, states.items()))

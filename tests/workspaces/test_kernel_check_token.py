"""The idle check reads each server's kernels inside the workspace, whose code is its owner's and may be
hostile: what it sends there is a token that opens that one server, never the portal's own hub token
(which starts and stops everyone's servers). Checked at the HTTP level against a stand-in that speaks
JupyterHub's token API and a server's /api/kernels, recording every Authorization header it receives;
tests/workspaces/test_culling_hub.py checks the token the real hub made."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from workspaces.hub import HubClient, ServerState, servers_activity

PORTAL_TOKEN = "portal-service-token"


class HubAndServers(BaseHTTPRequestHandler):
    seen = []  # (method, path, Authorization)
    minted = []  # the token requests: (user, body)

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802  (http.server's naming)
        self.seen.append(("POST", self.path, self.headers.get("Authorization")))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = self.path.split("/")[4]  # /hub/api/users/<user>/tokens
        self.minted.append((user, body))
        self._answer(201, {"id": f"a{len(self.minted)}", "token": f"one-server-{len(self.minted)}"})

    def do_GET(self):  # noqa: N802
        self.seen.append(("GET", self.path.split("?")[0], self.headers.get("Authorization")))
        self._answer(200, [{"id": "k1", "execution_state": "idle", "last_activity": "2026-12-02T10:00:00Z",
                            "connections": 0}])


@pytest.fixture
def stand_in():
    HubAndServers.seen, HubAndServers.minted = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubAndServers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cache.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sweep(base, states):
    hub = HubClient(f"{base}/hub/api", PORTAL_TOKEN, servers_url=base)
    return servers_activity(hub, states, concurrency=4, timeout=5, connected_is_active=True)


def test_servers_get_a_token_that_opens_them_alone_never_the_portals(stand_in):
    states = {("alice", "ws-1"): ServerState(exists=True, ready=True, url="/user/alice/ws-1/", started="2026-12-02T09:00:00Z"),
              ("bob", "ws-2"): ServerState(exists=True, ready=True, url="/user/bob/ws-2/", started="2026-12-02T09:30:00Z")}
    activity = sweep(stand_in, states)
    assert not any(found.error for found in activity.values())

    to_servers = [auth for method, path, auth in HubAndServers.seen if path.startswith("/user/")]
    assert len(to_servers) == 2 and f"token {PORTAL_TOKEN}" not in to_servers
    minted = {user: body for user, body in HubAndServers.minted}
    assert minted["alice"]["scopes"] == ["access:servers!server=alice/ws-1"]
    assert minted["bob"]["scopes"] == ["access:servers!server=bob/ws-2"]
    # Each server got its own owner's one-server token; minting asked the hub with the portal's.
    kernels_auth = {path.split("/")[2]: auth for method, path, auth in HubAndServers.seen if path.startswith("/user/")}
    assert kernels_auth["alice"] != kernels_auth["bob"]
    assert {auth for method, path, auth in HubAndServers.seen if method == "POST"} == {f"token {PORTAL_TOKEN}"}


def test_one_token_per_run_serves_every_sweep(stand_in):
    alice = ("alice", "ws-1")
    run = ServerState(exists=True, ready=True, url="/user/alice/ws-1/", started="2026-12-02T09:00:00Z")
    sweep(stand_in, {alice: run})
    sweep(stand_in, {alice: run})
    assert len(HubAndServers.minted) == 1
    # A restarted server is another run: a new token (the old one opened only this server and expires).
    sweep(stand_in, {alice: ServerState(exists=True, ready=True, url="/user/alice/ws-1/", started="2026-12-02T11:00:00Z")})
    assert len(HubAndServers.minted) == 2

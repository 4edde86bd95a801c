"""The proxy routes by host name: each person's workspaces answer on their own host (their own origin),
the hub and the portal on the platform's; a host with no route of its own reaches the default target."""

import http.server
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.ports import free_ports


class Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{self.server.name} {self.headers['Host']} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def backend(name):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Named)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def proxy():
    public, api = free_ports(2)
    portal, hub, alice = backend("portal"), backend("hub"), backend("alice")
    environ = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": "proxy-secret"}
    process = subprocess.Popen([sys.executable, "-m", "spawner.proxy_server", "--ip", "127.0.0.1", "--port", str(public),
                                "--api-ip", "127.0.0.1", "--api-port", str(api),
                                f"--default-target=http://127.0.0.1:{portal.server_port}", "--host-routing"],
                               env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    routes = f"http://127.0.0.1:{api}/api/routes"
    headers = {"Authorization": "token proxy-secret"}
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(routes, headers=headers, timeout=1)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
    for spec, target in (("/localhost/hub", hub), ("/alice.localhost/user/alice", alice)):
        added = requests.post(f"{routes}{spec}", json={"target": f"http://127.0.0.1:{target.server_port}"},
                              headers=headers, timeout=5)
        assert added.status_code == 201
    yield public
    process.terminate()
    process.wait(10)
    for server in (portal, hub, alice):
        server.shutdown()


@pytest.mark.parametrize(("host", "path", "answer"), [
    ("localhost", "/hub/api", "hub"),
    ("localhost", "/user/alice/ws-1/lab", "portal"),  # alice's server is not on the platform's host
    ("alice.localhost", "/user/alice/ws-1/lab", "alice"),
    ("ALICE.localhost", "/user/alice/ws-1/api", "alice"),
    ("bob.localhost", "/user/alice/ws-1/lab", "portal"),  # nor on anyone else's
    ("alice.localhost", "/hub/api", "portal"),
    ("127.0.0.1", "/hub/api", "portal"),
])
def test_routes_are_looked_up_by_host(proxy, host, path, answer):
    response = requests.get(f"http://127.0.0.1:{proxy}{path}", headers={"Host": f"{host}:{proxy}"}, timeout=10)
    served_by, seen_host, seen_path = response.text.split(" ", 2)
    assert (served_by, seen_path) == (answer, path)  # the whole path reaches the target, host included
    assert seen_host.lower() == f"{host}:{proxy}".lower()

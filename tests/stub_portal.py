"""A stand-in portal for spawner tests: answers /api/internal/launch-spec/ with whatever the test
sets, and records what the spawner reports to /api/internal/server-event/."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Portal:
    def __init__(self):
        self.status, self.body, self.requests, self.reports = 404, b"{}", [], []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                portal.requests.append((self.path, self.headers.get("Authorization")))
                self.send_response(portal.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(portal.body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                portal.reports.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def serve(self, spec):
        self.status, self.body = 200, json.dumps(spec).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

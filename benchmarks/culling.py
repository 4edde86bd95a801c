"""The idle-culling sweep over many servers, against a plain paginated hub listing measured in the same run.

    .venv/bin/python benchmarks/culling.py [--servers 500] [--json]

Starts a real JupyterHub and proxy (the platform's own config) whose spawner is trivial: every
"server" is one small HTTP endpoint in this process that answers `/api/kernels` (half of them
with a busy kernel), so hundreds of servers fit on a laptop while the hub, the proxy, the
pagination and the kernel checks are all real. The portal side runs in a throw-away embedded
data directory (SQLite, file-system broker), never in your database.

Seeds through the hub API: a third of the servers report activity (`POST /users/{name}/activity`);
the sweep then runs as if 55 minutes had passed (idle timeout 30 min, warning 10 min): every
other server needs a kernel check, half of those are busy, the rest are warned. A second sweep
15 minutes later stops the warned ones. Prints times, hub requests, kernel checks and SQL
queries; the baselines are `GET /hub/api/users` paged through the same users, and that listing
plus every server's `/api/kernels` at the sweep's concurrency (no decisions, no database).
Run as its own process (it sets up Django for its temporary data directory).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HUB_CONFIG = """
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821 (the platform's own hub configuration)

from jupyterhub.spawner import Spawner


class TrivialSpawner(Spawner):
    # Every server is the benchmark's one HTTP endpoint; the hub and proxy treat it as a server.
    async def start(self):
        return ("127.0.0.1", {port})

    async def poll(self):
        return None

    async def stop(self, now=False):
        pass


c.JupyterHub.spawner_class = TrivialSpawner
c.Spawner.poll_interval = 3600
"""


class FakeServers(BaseHTTPRequestHandler):
    """`/user/<name>/ws-<id>/api/kernels`: one kernel, busy for even ids. Anything else: 200."""

    started = datetime.now(timezone.utc).isoformat()

    def do_GET(self):
        match = re.match(r"^/user/[^/]+/ws-(\d+)/api/kernels", self.path)
        if match:
            busy = int(match.group(1)) % 2 == 0
            body = json.dumps([{"id": "k", "name": "python3", "execution_state": "busy" if busy else "idle",
                                "connections": 0, "last_activity": self.started}]).encode()
        else:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_django(data_dir, public_port, hub_port):
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "PLATFORM_MODE"):
        os.environ.pop(name, None)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "PLATFORM_DATA_DIR": str(data_dir),
                       "PLATFORM_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
                       # The stand-in servers answer on /user/… of the proxy's one address, not on <name>.<host>.
                       "PLATFORM_WORKSPACE_SUBDOMAINS": "false",
                       "PLATFORM_HUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
                       "PLATFORM_CULL_IDLE_MINUTES": "30", "PLATFORM_CULL_WARNING_MINUTES": "10",
                       "PLATFORM_LOG_LEVEL": "WARNING"})
    for sub in ("celery/broker", "celery/control", "mail"):  # the embedded broker's folders, as `make run` makes them
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_hub(data_dir, public_port, hub_port, proxy_api_port, servers_port):
    from portal.processes.children import hub_environment

    config = data_dir / "hub_config.py"
    config.write_text(HUB_CONFIG.format(config=str(ROOT / "spawner" / "jupyterhub_config.py"), port=servers_port))
    environ = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}",
               **hub_environment(portal_internal_url="http://127.0.0.1:9", hub_port=hub_port, proxy_api_port=proxy_api_port),
               "PLATFORM_HUB_DATA_DIR": str(data_dir / "hub")}
    log = (data_dir / "hub.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=data_dir, env=environ,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def run(count, data_dir):
    public_port, hub_port, proxy_api_port = free_port(), free_port(), free_port()
    # A listen backlog of 5 (the default) drops connections under 16 concurrent checks: 1 s SYN retries.
    ThreadingHTTPServer.request_queue_size = 256
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeServers)
    fake.daemon_threads = True
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    setup_django(data_dir, public_port, hub_port)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone as dj_timezone

    from portal.accounts.models import Membership, Team, User
    from workspaces.hub import HubUnreachable
    from workspaces import environments
    from workspaces.culling_services import workspace_cull_sweep
    from workspaces.hub import hub_client, kernel_check_token
    from workspaces.models import Profile, Workspace

    hub_process = start_hub(data_dir, public_port, hub_port, proxy_api_port, fake.server_address[1])
    try:
        def hub_up():
            try:
                return hub_client().session.get(f"{hub_client().api_url}/users", timeout=2).status_code == 200
            except Exception:
                return False

        wait_for(hub_up, 90, "the hub never answered")

        # Portal side: users, one team, one running workspace each.
        team = Team.objects.create(name="Bench", slug="bench")
        profile = Profile.objects.create(name="Small", cpu="0.5", memory_bytes=2**30, idle_timeout_minutes=30, max_age_hours=0)
        users = User.objects.bulk_create([User(username=f"user{index:04d}", email=f"user{index:04d}@example.org")
                                          for index in range(count)])
        Membership.objects.bulk_create([Membership(team=team, user=user) for user in users])
        now = dj_timezone.now()
        Workspace.objects.bulk_create([
            Workspace(owner=user, team=team, name="main", profile=profile, image=environments.DEFAULT,
                      desired_state="running", observed_state="running", generation=1, served_generation=1,
                      started=now, observed_at=now) for user in users])
        servers = [(w.owner.username, w.server_name) for w in Workspace.objects.select_related("owner")]

        # Hub side: the same users and servers, started through the API as the portal does.
        hub = hub_client()
        names = [name for name, _ in servers]
        for start in range(0, len(names), 50):  # the hub creates users slowly; keep each request short
            answer = hub._call("POST", "/users", json={"usernames": names[start:start + 50]}, timeout=300)
            assert answer.status_code in (201, 409), answer.text

        def spawn(item):
            for _ in range(5):
                try:
                    return hub.start_server(*item)
                except HubUnreachable:
                    time.sleep(1)
            raise RuntimeError(f"could not start {item}")

        spawn_started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(spawn, servers))
        wait_for(lambda: sum(state.ready for state in hub.running_servers().values()) >= count, 600, "servers never got ready")
        spawn_seconds = time.monotonic() - spawn_started

        # Seed activity through the hub API: a third were used "50 minutes from now".
        recent = (datetime.now(timezone.utc) + timedelta(minutes=50)).isoformat()

        def seed(item):
            name, server = item
            hub._call("POST", f"/users/{name}/activity", json={"servers": {server: {"last_activity": recent}}})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(seed, servers[::3]))

        # Baseline: the plain paginated listing of the same users.
        baseline_client = hub_client()
        baseline_started = time.monotonic()
        listed = baseline_client.running_servers(page_size=200)
        baseline_seconds = time.monotonic() - baseline_started

        # Second baseline: the same listing plus every server's /api/kernels, as many at once as the
        # sweep allows, with no decisions and no database: the floor for a sweep that checks them all.
        from django.conf import settings

        def raw_pass():
            client = hub_client()
            began = time.monotonic()
            found = client.running_servers(page_size=200)
            with ThreadPoolExecutor(settings.PLATFORM_CULL_CONCURRENCY) as pool:
                # With the same one-server tokens the sweep uses (minted at the warm-up, then from the cache).
                list(pool.map(lambda item: client.server_kernels(
                    item[1].url, token=kernel_check_token(client, *item[0], item[1].started), timeout=10), found.items()))
            return time.monotonic() - began, found

        raw_pass()  # warm-up: the proxy's first request to each route is slower, for either side
        raw_seconds, raw_listed = raw_pass()

        results = []
        for minutes in (55, 70):
            with CaptureQueriesContext(connection) as queries:
                result = workspace_cull_sweep(now=dj_timezone.now() + timedelta(minutes=minutes), page_size=200)
            results.append((minutes, result, len(queries.captured_queries)))
        return {"servers": count, "listed": len(listed), "spawn_seconds": spawn_seconds,
                "baseline": {"seconds": baseline_seconds, "hub_requests": baseline_client.requests_made},
                "baseline_with_kernels": {"seconds": raw_seconds, "kernel_checks": len(raw_listed)},
                "sweeps": [{"after_minutes": minutes, "seconds": result.seconds, "hub_requests": result.hub_requests,
                            "kernel_checks": result.kernel_checks, "queries": queries, "warned": result.warned,
                            "culled": result.culled, "errors": result.errors, "matched": result.matched}
                           for minutes, result, queries in results]}
    finally:
        os.killpg(hub_process.pid, signal.SIGTERM)
        try:
            hub_process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hub_process.pid, signal.SIGKILL)
        fake.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="cull-bench-"))
    try:
        report = run(args.servers, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
        return report
    base = report["baseline"]
    print(f"Culling sweep over {report['servers']} servers (hub listed {report['listed']}; spawned in {report['spawn_seconds']:.1f} s)")
    print(f"  baseline: paginated GET /hub/api/users     {base['seconds']:7.3f} s  hub requests {base['hub_requests']}")
    raw = report["baseline_with_kernels"]
    print(f"  baseline: listing + {raw['kernel_checks']} raw kernel GETs      {raw['seconds']:7.3f} s")
    for sweep in report["sweeps"]:
        print(f"  sweep at +{sweep['after_minutes']} min: {sweep['seconds']:7.3f} s  ratio {sweep['seconds'] / base['seconds']:5.1f} (listing) "
              f"{sweep['seconds'] / raw['seconds']:5.2f} (listing + kernels)  "
              f"hub requests {sweep['hub_requests']}  kernel checks {sweep['kernel_checks']}  SQL queries {sweep['queries']}  "
              f"warned {sweep['warned']}  culled {sweep['culled']}  errors {sweep['errors']}")
    return report


if __name__ == "__main__":
    main()

"""API throughput and latency: the platform's workspace list against a bare DRF view, same gunicorn, one run.

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/api.py [--clients 20] [--seconds 10] [--rounds 3]

Creates a scratch PostgreSQL database next to the one DATABASE_URL names (dropped at the end), migrates
it and seeds a person with 25 workspaces and a personal token. Two gunicorns with the platform's own
settings (`--workers 2 --threads 4`, as `make run` starts the portal) serve:

* the platform: `GET /api/v1/workspaces/` with every middleware, pagination and the full serializer;
* the baseline: a bare DRF view (benchmarks/bare_api_urls.py) with the same token authentication, no
  middleware, one query for the same rows.

Figures, in the same run (rounds alternate the two, so both see the same machine):

* unloaded latency: one client, one request at a time (p50);
* closed loop: `--clients` clients each sending the next request when the last one answers: requests per
  second, the platform's against the baseline's (goal ≥ 0.7×);
* open loop: requests offered at half the platform's closed-loop rate on a fixed schedule, latency counted
  from when each request was due (so a stall is not hidden by the clients waiting): p99 against the
  unloaded p50 (goal ≤ 3×);
* queries per list view, with 5 and with 50 of everything it lists (goal: the same);
* the closed-loop ratio and the open-loop p99 again while `--during-launches` workspaces launch together,
  over and over, on a whole embedded platform of their own (benchmarks/launch.py's) on the same machine: the
  CPU the launches take (the hub, the fork server, the servers starting) is what the API shares.
"""

import argparse
import contextlib
import http.client
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
from benchmarks.costs import scratch_database  # noqa: E402
from tests.mounts import remove_tree_and_mounts  # noqa: E402
from tests.ports import free_ports  # noqa: E402

PATH = "/api/v1/workspaces/"
LIST_VIEWS = ["/api/v1/workspaces/", "/api/v1/profiles/", "/api/v1/projects/", "/api/v1/teams/", "/api/v1/tokens/",
              "/api/v1/images/"]


class Client:
    """One keep-alive HTTP connection, as a script's session would hold."""

    def __init__(self, port, token):
        self.port, self.headers = port, {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
        self.connection = None

    def get(self):
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.request("GET", PATH, headers=self.headers)
                response = self.connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {PATH} on port {self.port} answered {response.status}")
                return
            except (http.client.HTTPException, ConnectionError):  # the server closed an idle keep-alive connection
                self.connection = None
                if attempt:
                    raise


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def unloaded_p50(port, token, requests=200):
    client, times = Client(port, token), []
    for _ in range(requests):
        began = time.perf_counter()
        client.get()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def closed_loop(port, token, clients, seconds):
    """Requests per second with ``clients`` clients each waiting for its answer before the next request."""
    done, errors = [0] * clients, []
    stop = time.perf_counter() + seconds

    def work(index):
        client = Client(port, token)
        try:
            while time.perf_counter() < stop:
                client.get()
                done[index] += 1
        except Exception as exc:  # noqa: BLE001  (reported below: a benchmark that hides errors lies)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]}")
    return sum(done) / (time.perf_counter() - began)


def open_loop(port, token, rate, seconds, senders=40):
    """Latencies (from when each request was due) of requests offered at ``rate`` per second."""
    due_times = queue.Queue()
    latencies, errors = [], []

    def send():
        client = Client(port, token)
        while True:
            due = due_times.get()
            if due is None:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                client.get()
                latencies.append(time.perf_counter() - due)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.2
    for index in range(int(rate * seconds)):
        due_times.put(start + index / rate)
    for _ in threads:
        due_times.put(None)
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {errors[0]}")
    return latencies


@contextlib.contextmanager
def launches_in_background(together):
    """A whole embedded platform launching `together` workspaces at once, then deleting them, over and over;
    yields a function giving how many were launched so far."""
    from benchmarks.launch import Platform, run_parallel

    data_dir = tempfile.mkdtemp(prefix="dsw-bench-api-launches-")
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(remove_tree_and_mounts, data_dir)  # a home still mounted by a server slow to go
        platform = Platform(Path(data_dir))
        platform.start()
        stop, launched = threading.Event(), [0]

        def launch_over_and_over():
            while not stop.is_set():
                results = run_parallel(lambda index: platform.launch(f"busy-{launched[0] + index}"), together)
                for _, workspace_id in results:
                    platform.delete(workspace_id)
                launched[0] += together

        thread = threading.Thread(target=launch_over_and_over, daemon=True)
        thread.start()
        try:
            time.sleep(2)  # the first launches under way
            yield lambda: launched[0]
        finally:
            stop.set()
            thread.join(timeout=180)
            platform.stop()


def serve(settings_module, port, env):
    log = open(Path(env["PLATFORM_DATA_DIR"]) / f"{settings_module}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--graceful-timeout", "5", "--control-socket", f"{log.name}.ctl"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": settings_module}, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log.name
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/", headers={"Host": "127.0.0.1"})
            connection.getresponse().read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn ({settings_module}) exited: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn ({settings_module}) did not answer in 60 s")


def query_counts(user, team, profile):
    """Queries per list view with 5 and with 50 workspaces, projects and tokens."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from datetime import timedelta

    from django.utils import timezone

    from portal.accounts.models import AccessToken
    from projects.models import Project
    from workspaces.models import Workspace

    def grow(total):
        for index in range(Workspace.objects.filter(owner=user).count(), total):
            Workspace.objects.create(owner=user, team=team, profile=profile, name=f"q{index}", image="local:default")
        for index in range(Project.objects.filter(team=team).count(), total):
            Project.objects.create(team=team, name=f"Project {index}", slug=f"project-{index}")
        for index in range(user.access_tokens.count(), total):  # made directly: token_create is rate-limited per person
            AccessToken.objects.create(user=user, name=f"script {index}", prefix="dsw_bench", digest=f"{index:064x}",
                                       expires=timezone.now() + timedelta(days=1))

    client = DjangoClient(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    counts = {}
    for total in (5, 50):
        grow(total)
        for path in LIST_VIEWS:
            with CaptureQueriesContext(connection) as queries:
                status = client.get(path).status_code
            counts.setdefault(path, []).append(len(queries) if status == 200 else f"HTTP {status}")
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--during-launches", type=int, default=5, help="workspaces launched together (0: skip)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (e.g. from `bash scripts/services.sh start`); the benchmark "
                 "creates and drops its own scratch database there.")
    os.environ["DATABASE_URL"], drop = scratch_database(url)
    data_dir = tempfile.mkdtemp(prefix="dsw-bench-api-")
    os.chmod(data_dir, 0o700)
    os.environ.update(PLATFORM_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="portal.settings", PLATFORM_LOG_LEVEL="WARNING",
                      PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]))
    try:
        run(args)
    finally:
        drop()
        subprocess.run(["rm", "-rf", data_dir], check=False)


def run(args):
    import django

    django.setup()
    from django.core.management import call_command

    from portal.accounts.models import Membership, Team, User
    from portal.accounts.services import token_create
    from workspaces.models import Profile, Workspace

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench", email="bench@example.org")
    Membership.objects.create(team=team, user=user, role="admin")
    profile = Profile.objects.create(name="Small", cpu="1", memory_bytes=2 * 2**30, disk_bytes=10 * 2**30)
    for index in range(25):
        Workspace.objects.create(owner=user, team=team, profile=profile, name=f"ws{index}", image="local:default")
    token = token_create(user=user, name="benchmark", days=1)[1]
    from django.db import connections

    connections.close_all()  # the servers are other processes: no open transaction or connection of ours in the way

    platform_port, bare_port = free_ports(2)
    env = dict(os.environ)
    servers = [serve("portal.settings", platform_port, env), serve("benchmarks.bare_api_settings", bare_port, env)]
    try:
        for port in (platform_port, bare_port):  # warm both: imports, connections, the first query plans
            closed_loop(port, token, 4, 1)
        results = {"platform": {"p50": [], "rps": []}, "bare": {"p50": [], "rps": []}}
        for _ in range(args.rounds):
            for name, port in (("platform", platform_port), ("bare", bare_port)):
                results[name]["p50"].append(unloaded_p50(port, token))
                results[name]["rps"].append(closed_loop(port, token, args.clients, args.seconds))
        summary = {name: {key: statistics.median(values) for key, values in figures.items()} for name, figures in results.items()}
        rate = summary["platform"]["rps"] / 2
        latencies = open_loop(platform_port, token, rate, args.seconds)
        busy = {}
        if args.during_launches:
            with launches_in_background(args.during_launches) as launched:
                busy = {name: closed_loop(port, token, args.clients, args.seconds)
                        for name, port in (("platform", platform_port), ("bare", bare_port))}
                busy["latencies"] = open_loop(platform_port, token, rate, args.seconds)
            busy["launched"] = launched()
    except Exception:
        for server in servers:
            print(f"--- {server.log_path}\n{Path(server.log_path).read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)

    platform, bare = summary["platform"], summary["bare"]
    p99 = percentile(latencies, 0.99)
    print(f"GET {PATH} with a personal token, gunicorn --workers 2 --threads 4, medians of {args.rounds} rounds\n")
    print(f"{'':<34}{'platform':>12}{'bare DRF':>12}{'ratio':>8}")
    print(f"{'unloaded p50 (1 client)':<34}{platform['p50'] * 1000:>9.1f} ms{bare['p50'] * 1000:>9.1f} ms"
          f"{platform['p50'] / bare['p50']:>8.2f}")
    print(f"{f'closed loop, {args.clients} clients':<34}{platform['rps']:>8.0f} r/s{bare['rps']:>8.0f} r/s"
          f"{platform['rps'] / bare['rps']:>8.2f}   (goal ≥ 0.70)")
    print(f"\nopen loop at {rate:.0f} r/s (half the platform's closed-loop rate), {len(latencies)} requests: "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms = {p99 / platform['p50']:.2f}× the "
          f"unloaded p50 (goal ≤ 3)")
    if busy:
        busy_p99 = percentile(busy["latencies"], 0.99)
        print(f"\nwhile {args.during_launches} workspaces launch together ({busy['launched']} launched during it): closed loop "
              f"{busy['platform']:.0f} r/s against {busy['bare']:.0f} r/s = {busy['platform'] / busy['bare']:.2f}; open loop "
              f"at {rate:.0f} r/s: p99 {busy_p99 * 1000:.1f} ms = {busy_p99 / platform['p50']:.2f}× the unloaded p50")
    counts = query_counts(user, team, profile)
    print(f"\n{'queries per list view':<34}{'5 each':>8}{'50 each':>9}")
    for path, (few, many) in counts.items():
        print(f"{path:<34}{few!s:>8}{many!s:>9}{'' if few == many else '   grows with the rows'}")


if __name__ == "__main__":
    main()

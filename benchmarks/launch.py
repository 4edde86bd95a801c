"""Launch latency: the platform against a bare `jupyter server`, measured in the same run.

    .venv/bin/python benchmarks/launch.py [--rounds 5] [--parallel 20]

Starts the whole platform (`manage.py platform_run`, embedded mode, in a temporary data
directory), then measures from the API call that creates a workspace to the moment its server
answers /api/status through the proxy; and, as the baseline, from spawning a bare
`jupyter server` to its /api/status. Prints medians and the ratio, for one launch at a time
and for N launched together.
"""

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.mounts import remove_tree_and_mounts  # noqa: E402
from tests.ports import free_port_block  # noqa: E402


def wait_ok(url, headers=None, timeout=180, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=5, allow_redirects=False).status_code == 200:
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise TimeoutError(url)


def bare_server(python):
    """A bare `jupyter server` being started (the baselines): (process, its /api/status URL, headers)."""
    port = free_port_block(1)
    token = secrets.token_hex(16)
    proc = subprocess.Popen([python, "-m", "jupyter", "server", f"--port={port}", "--ip=127.0.0.1", "--no-browser",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tempfile.mkdtemp()}",
                             "--allow-root"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}/api/status", {"Authorization": f"token {token}"}


def bare_server_stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def bare_server_start(python):
    started = time.monotonic()
    proc, status_url, headers = bare_server(python)
    try:
        return wait_ok(status_url, headers=headers) - started
    finally:
        bare_server_stop(proc)


class Platform:
    def __init__(self, data_dir):
        self.port = free_port_block(16)  # platform_run uses PORT … PORT+15
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "PLATFORM_"))}
        # single-user isolation: no OS account is created, and both sides run as the same account.
        self.env.update(PLATFORM_DATA_DIR=str(data_dir), PLATFORM_PORT=str(self.port), PLATFORM_ISOLATION="single-user",
                        PLATFORM_ADMIN_PASSWORD="benchmark admin passphrase")
        self.base = f"http://localhost:{self.port}"  # as `make run` prints it; workspaces on <name>.localhost

    def manage(self, *args):
        subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self):
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("ensure_admin")
        self.manage("shell", "-c", (
            "from portal.accounts.models import *; from workspaces.models import Profile; "
            "t, _ = Team.objects.get_or_create(name='Bench', slug='bench'); "
            "Membership.objects.get_or_create(team=t, user=User.objects.get(username='admin'), defaults={'role': 'admin'}); "
            "Profile.objects.get_or_create(name='Bench', defaults={'cpu': 1, 'memory_bytes': 2**30})"))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ok(f"{self.base}/healthz")
        wait_ok(f"{self.base}/hub/api/")
        token = requests.post(f"{self.base}/api/v1/auth/token/", json={"username": "admin", "password": "benchmark admin passphrase"},
                              timeout=10).json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.hub_token = (Path(self.env["PLATFORM_DATA_DIR"]) / "hub" / "api_token").read_text().strip()
        self.wait_for_fork_server()

    def wait_for_fork_server(self, timeout=120):
        """The hub starts its fork server a few seconds after itself and warms it up (spawner/zygote_warmup.py);
        nothing is measured while it does, on either side."""
        from spawner.zygote import call

        zygote_dir = Path(self.env["PLATFORM_DATA_DIR"]) / "hub" / "spawner" / "zygote"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if call(str(next(zygote_dir.glob("zygote-*.sock"))), {"op": "warm-up"})["warm_up"] != "pending":
                    return
            except (StopIteration, OSError, ValueError):
                pass  # not started, or not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError("the hub's fork server did not start")
            time.sleep(0.1)

    def launch(self, name):
        started = time.monotonic()
        response = requests.post(f"{self.base}/api/v1/workspaces/", json={"name": name, "profile": "Bench", "team": "bench"},
                                 headers=self.headers, timeout=30)
        response.raise_for_status()
        workspace = response.json()
        try:
            self.wait_for_hub_ready(f"ws-{workspace['id']}")
            ready = wait_ok(*self.server_status(workspace["id"]), interval=0.02)
        except TimeoutError:
            # What the portal says about it: the reason a person would be shown.
            seen = requests.get(f"{self.base}/api/v1/workspaces/{workspace['id']}/", headers=self.headers, timeout=30).json()
            raise TimeoutError(f"ws-{workspace['id']}: {seen.get('status')} ({seen.get('status_message')})") from None
        return ready - started, workspace["id"]

    def server_status(self, workspace_id):
        """(url, headers) of a workspace's /api/status through the proxy, on the owner's own host
        (admin.localhost: asked for by Host header, since this machine's resolver does not know it)."""
        return (f"http://127.0.0.1:{self.port}/user/admin/ws-{workspace_id}/api/status",
                {"Authorization": f"token {self.hub_token}", "Host": f"admin.localhost:{self.port}"})

    def wait_for_hub_ready(self, server, timeout=180):
        """Follow the hub's progress stream until it says the server is ready (routed by the proxy).

        Polling /user/… through the proxy instead would send every miss to the portal (the proxy's
        default target): hundreds of requests a second with 20 launches, load the baseline never sees.
        """
        url = f"{self.base}/hub/api/users/admin/servers/{server}/progress"
        headers = {"Authorization": f"token {self.hub_token}"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with requests.get(url, headers=headers, stream=True, timeout=(5, timeout)) as response:
                if response.status_code == 200:
                    for line in response.iter_lines(decode_unicode=True):
                        event = json.loads(line[5:]) if line and line.startswith("data:") else {}
                        if event.get("ready"):
                            return
                        if event.get("failed"):
                            raise TimeoutError(server)  # the spawn failed: no use waiting (the caller says why)
            time.sleep(0.05)  # not spawning yet (the portal has not asked the hub), or the stream ended
        raise TimeoutError(server)

    def delete(self, workspace_id):
        requests.delete(f"{self.base}/api/v1/workspaces/{workspace_id}/", headers=self.headers, timeout=30)

    def stop(self, keep_workspaces=False):
        """Stop the platform once every workspace it ran is gone (unless `keep_workspaces`): servers outlive
        the platform (and their homes stay mounted), so a benchmark that leaves one behind would leave it
        running."""
        deadline = time.monotonic() + (0 if keep_workspaces else 180)
        while time.monotonic() < deadline:
            listed = requests.get(f"{self.base}/api/v1/workspaces/", headers=self.headers, timeout=30).json()["results"]
            # Failed ones too: a launch that failed late may still hold its home's mount.
            pending = [workspace for workspace in listed if workspace["status"] not in ("stopped", "deleted")]
            if not pending:
                break
            for workspace in pending:
                self.delete(workspace["id"])
            time.sleep(1)
        if not keep_workspaces:
            time.sleep(3)  # the hub forgets a deleted server a moment after it stopped
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)


def run_parallel(function, count):
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(function, range(count)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the platform's data directory (its logs) and print it")
    args = parser.parse_args()
    python = sys.executable

    data_dir = tempfile.mkdtemp(prefix="dsw-bench-")
    if args.keep:
        print(f"data directory (kept): {data_dir}")
    with contextlib.ExitStack() as cleanup:
        if not args.keep:  # a home a slow-to-go server still holds mounted must not lose the results
            cleanup.callback(remove_tree_and_mounts, data_dir)
        platform = Platform(Path(data_dir))
        platform.start()
        try:
            bare = [bare_server_start(python) for _ in range(args.rounds)]
            single, failures = [], 0
            for index in range(args.rounds):
                seconds, workspace_id = platform.launch(f"single-{index}")
                single.append(seconds)
                platform.delete(workspace_id)
            bare_parallel = run_parallel(lambda _: bare_server_start(python), args.parallel)

            reasons = []

            def launch_one(index):
                try:
                    return platform.launch(f"par-{index}")
                except Exception as exc:  # noqa: BLE001  (counted, reported below)
                    detail = getattr(getattr(exc, "response", None), "text", "")[:300]
                    reasons.append(f"{exc.__class__.__name__}: {exc} {detail}")
                    return None
            results = run_parallel(launch_one, args.parallel)
            failures = sum(result is None for result in results)
            parallel = [seconds for seconds, _ in filter(None, results)]
            for result in filter(None, results):
                platform.delete(result[1])
        finally:
            platform.stop()

    def report(label, ours, baseline):
        ratio = statistics.median(ours) / statistics.median(baseline)
        print(f"{label:<26} platform median {statistics.median(ours):6.2f} s   bare jupyter server {statistics.median(baseline):6.2f} s   ratio {ratio:4.2f}")

    report("single launch", single, bare)
    if parallel:
        report(f"{args.parallel} launches together", parallel, bare_parallel)
    print(f"failures: {failures} of {args.parallel}")
    for reason in reasons:
        print(f"  {reason}")


if __name__ == "__main__":
    main()

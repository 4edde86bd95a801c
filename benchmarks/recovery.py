"""Recovery: how long the platform takes to work again after a fault, next to a cold start measured in
the same run.

    .venv/bin/python benchmarks/recovery.py [--workspaces 10]

Starts the whole platform (`manage.py platform_run`, embedded mode, a temporary data directory) and
measures:
- a cold start: from starting `platform_run` to the portal and the hub answering through the proxy;
- a launch on the healthy platform (API call to the server answering through the proxy);
- for the worker, the hub and the proxy: from `kill -9` of that process to a launch that succeeds;
- a planned restart with N running workspaces: from starting `platform_run` again to all N reachable.
Each figure is printed with its ratio to the cold start.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch import ROOT, Platform, wait_ok  # noqa: E402

MARKERS = {"worker": " worker", "hub": "jupyterhub", "proxy": "spawner.proxy_server"}


def child_pid(platform, name):
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == platform.proc.pid and MARKERS[name] in cmdline:
            return int(proc.name)
    raise LookupError(name)


def start_timed(platform):
    started = time.monotonic()
    platform.proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"], env=platform.env,
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ok(f"{platform.base}/healthz")
    return wait_ok(f"{platform.base}/hub/api/") - started


def reachable_all(platform, workspace_ids):
    for workspace_id in workspace_ids:
        wait_ok(*platform.server_status(workspace_id), interval=0.05)
    return time.monotonic()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=10)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as data_dir:
        platform = Platform(Path(data_dir))
        platform.start()  # migrate, the admin, a team and a size, and a first start (warms the disk cache)
        platform.stop()
        results["cold start"] = start_timed(platform)
        kept = []
        try:
            seconds, workspace_id = platform.launch("healthy")
            results["launch on a healthy platform"] = seconds
            platform.delete(workspace_id)
            for name in ("worker", "hub", "proxy"):
                killed = time.monotonic()
                os.kill(child_pid(platform, name), signal.SIGKILL)
                for attempt in range(100):  # the first launch that succeeds after the kill
                    try:
                        _, workspace_id = platform.launch(f"after-{name}-{attempt}")
                        break
                    except Exception:  # noqa: BLE001  (not back yet: try again)
                        time.sleep(0.2)
                results[f"kill -9 {name} → a launch succeeds"] = time.monotonic() - killed
                platform.delete(workspace_id)
            kept = [platform.launch(f"kept-{index}")[1] for index in range(args.workspaces)]
            platform.stop()
            started = time.monotonic()
            start_timed(platform)
            results[f"restart → {args.workspaces} running workspaces reachable"] = reachable_all(platform, kept) - started
        finally:
            for workspace_id in kept:
                platform.delete(workspace_id)
            time.sleep(5)  # let the reconciler stop them before the platform goes
            platform.stop()
    cold = results["cold start"]
    for label, seconds in results.items():
        print(f"{label:<48} {seconds:7.2f} s   ratio to a cold start {seconds / cold:5.2f}")


if __name__ == "__main__":
    main()

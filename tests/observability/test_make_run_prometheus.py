"""`PLATFORM_PROMETHEUS=1 make run`: Debian's prometheus next to the platform, with the shipped rules, sees one
platform: the counters of gunicorn's workers and Celery's processes merged, and the hub's own series."""

import signal
import subprocess
import sys
import time

import requests

from tests.ports import free_port_block
from tests.test_platform_run import ROOT, _embedded_env, _manage, _wait_for, platform_dir  # noqa: F401  (a fixture)


def _query(base, promql):
    return requests.get(f"{base}/api/v1/query", params={"query": promql}, timeout=10).json()["data"]["result"]


def test_make_run_with_prometheus_scrapes_the_portal_workers_and_hub(platform_dir):  # noqa: F811
    port = free_port_block(16)
    environ = {**_embedded_env(platform_dir), "PLATFORM_PORT": str(port), "PLATFORM_PROMETHEUS": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prometheus = f"http://127.0.0.1:{port + 4}"
    try:
        _wait_for(f"http://localhost:{port}/healthz")
        _wait_for(f"{prometheus}/-/ready", status=200)
        rules = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert {rule["name"] for group in rules for rule in group["rules"]} >= {"DswWorkerDown", "DswHubDown"}
        deadline, found = time.monotonic() + 120, {}
        while time.monotonic() < deadline and len(found) < 4:
            for name, promql in {
                "portal": 'up{job="dsw-portal"} == 1',
                "hub": 'up{job="jupyterhub"} == 1',
                # Run by the Celery worker (a process of its own), served by the portal's gunicorn workers.
                "janitor": 'dsw_celery_tasks_total{task="workspaces.tasks.workspace_reconcile_all_task"}',
                "requests": 'dsw_http_requests_total{view="healthz"}',
            }.items():
                if name not in found and _query(prometheus, promql):
                    found[name] = True
            time.sleep(1)
        assert len(found) == 4, (found, requests.get(f"{prometheus}/api/v1/targets", timeout=10).json())
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert f"{prometheus}/" in output and f"http://localhost:{port}/metrics" in output
    # Prometheus's files, the metric files and the token stay private: the next start's check finds nothing.
    problems = _manage("shell", "-c", "from portal.processes.state import state_dir_prepare, state_dir_problems; "
                       "state_dir_prepare(); print(state_dir_problems())", environ=environ).stdout.strip().splitlines()[-1]
    assert problems == "[]", problems

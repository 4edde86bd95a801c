"""Logging metrics through the platform's /mlflow/ route and permission layer, against the same client talking to
a bare `mlflow server`, in one run.

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/tracking.py [--metrics 1000]

Starts a real SeaweedFS and two MLflow servers as platform_run starts them (tracking/server.py): the platform's
(answers only the portal's secret) and a bare one (MLflow's own app). The platform's is reached as a workspace
reaches it: the proxy (the one public origin) → the portal (gunicorn, as `make run` runs it, on a scratch
PostgreSQL database next to DATABASE_URL's, dropped at the end) → MLflow, with a workspace token of a project
member. The same MlflowClient then logs --metrics metrics one call at a time (each one HTTP request) to a run
of a project experiment on each path, in interleaved blocks of 100; the ratio of the two times is the layer's
cost (goal <= 1.3).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def wait_for(url, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} never answered")


class Logger:
    """MLflow's client, as a workspace uses it, logging to one run of a project experiment on one path."""

    def __init__(self, tracking_uri, token, experiment_name):
        from mlflow import MlflowClient

        self.token = token
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
        self.client = MlflowClient(tracking_uri=tracking_uri)
        experiment = self.client.get_experiment_by_name(experiment_name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(experiment_name)
        self.run_id = self.client.create_run(experiment_id).info.run_id
        self.client.log_metric(self.run_id, "warm-up", 0.0)  # connections and caches
        self.step, self.elapsed = 0, 0.0

    def log(self, count):
        os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        start = time.perf_counter()
        for _ in range(count):
            self.client.log_metric(self.run_id, "loss", 1.0 / (self.step + 1), step=self.step)
            self.step += 1
        self.elapsed += time.perf_counter() - start

    def check(self):
        assert len(self.client.get_metric_history(self.run_id, "loss")) == self.step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", type=int, default=1000)
    args = parser.parse_args()

    from benchmarks.costs import scratch_database
    from tests.buckets.seaweed import start_seaweed, stop_seaweed
    from tests.ports import free_ports
    from tests.tracking.mlflow_server import start_mlflow, stop_mlflow

    store = start_seaweed()
    platform_mlflow = start_mlflow(store=store)
    bare_mlflow = start_mlflow(store=store, app_name=None)
    url, drop = scratch_database(os.environ["DATABASE_URL"])
    public_port, proxy_api_port, portal_port = free_ports(3)
    data_dir = tempfile.mkdtemp(prefix="dsw-bench-")
    os.chmod(data_dir, 0o700)
    os.environ.update(DATABASE_URL=url, PLATFORM_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="portal.settings",
                      PLATFORM_PUBLIC_URL=f"http://localhost:{public_port}", PLATFORM_TRACKING_URL=platform_mlflow.url,
                      PLATFORM_TRACKING_SECRET=platform_mlflow.secret, PLATFORM_S3_ENDPOINT_URL="",
                      DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", MLFLOW_DISABLE_TELEMETRY="true")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    children = []
    try:
        token, experiment = seed()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{portal_port}",
             "--workers", "2", "--threads", "4"], env=env, cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "spawner.proxy_server", "--ip", "127.0.0.1", "--port", str(public_port),
             "--api-ip", "127.0.0.1", "--api-port", str(proxy_api_port), f"--default-target=http://127.0.0.1:{portal_port}",
             "--log-level", "warning"], env={**env, "CONFIGPROXY_AUTH_TOKEN": "bench"}, cwd=ROOT, start_new_session=True))
        wait_for(f"http://localhost:{public_port}/healthz")

        bare = Logger(f"{bare_mlflow.url}/mlflow", "unused", experiment)
        platform = Logger(f"http://localhost:{public_port}/mlflow", token, experiment)
        # Interleaved blocks: the machine is shared, and its load moves during a run.
        for _ in range(args.metrics // 100):
            bare.log(100)
            platform.log(100)
        bare.log(args.metrics % 100)
        platform.log(args.metrics % 100)
        platform.check()
        bare.check()
        bare, platform = bare.elapsed, platform.elapsed
    finally:
        for child in children:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=30)
        drop()
        stop_mlflow(platform_mlflow)
        stop_mlflow(bare_mlflow)
        stop_seaweed(store)

    per_bare, per_platform = bare / args.metrics * 1000, platform / args.metrics * 1000
    print(f"metrics: {args.metrics}, one log_metric call (one HTTP request) each")
    print(f"bare mlflow server: {per_bare:.2f} ms per metric ({bare:.1f} s)")
    print(f"platform (proxy -> portal's permission layer -> MLflow, workspace token): {per_platform:.2f} ms per metric "
          f"({platform:.1f} s)")
    print(f"ratio {per_platform / per_bare:.2f} (goal <= 1.3)")


def seed():
    """A team, a project with a member, and that member's workspace token; (token, experiment name)."""
    from portal.accounts.models import Membership, Team, User
    from projects.models import Project
    from tracking.tokens import tracking_token_for

    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user(username="bench", password=None)
    Membership.objects.create(team=team, user=user)
    project = Project.objects.create(team=team, name="Tracking", slug="tracking")
    return tracking_token_for(user=user, workspace_id=1), str(project)


if __name__ == "__main__":
    main()

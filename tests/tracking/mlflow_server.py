"""A real MLflow tracking server for tests and benchmarks, started the way platform_run starts it
(tracking/server.py): on a free loopback port, its SQLite store in a private temporary folder, artifacts in a
bucket of a real S3 server (SeaweedFS)."""

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests

from tests.ports import free_ports
from tracking.server import mlflow_command, mlflow_environment


@dataclass
class RunningMlflow:
    url: str
    secret: str
    bucket: str
    process: subprocess.Popen
    folder: Path
    log_path: Path


def start_mlflow(*, store, bucket=None, secret=None, app_name="platform", timeout=120):
    """`store`: a tests.buckets.seaweed.RunningStore. `app_name=None`: MLflow's own app, no secret (a bare server)."""
    port = free_ports(1)[0]
    folder = Path(tempfile.mkdtemp(prefix="dsw-mlflow-"))
    bucket = bucket or f"t{secrets.token_hex(4)}-mlflow"
    secret = secret or secrets.token_urlsafe(24)
    boto3.client("s3", endpoint_url=store.endpoint_url, region_name="us-east-1", aws_access_key_id=store.access_key_id,
                 aws_secret_access_key=store.secret).create_bucket(Bucket=bucket)
    command = mlflow_command(port=port, backend_store_uri=f"sqlite:///{folder / 'mlflow.db'}",
                             artifacts_destination=f"s3://{bucket}/", app_name=app_name)
    env = {**os.environ, **mlflow_environment(secret=secret, s3_endpoint_url=store.endpoint_url,
                                              s3_access_key=store.access_key_id, s3_secret_key=store.secret,
                                              s3_region="us-east-1")}
    log_path = folder / "mlflow.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    running = RunningMlflow(f"http://127.0.0.1:{port}", secret, bucket, process, folder, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log_path.read_text()[-3000:]
            stop_mlflow(running)
            raise RuntimeError(f"MLflow exited: {said}")
        try:
            if requests.get(f"{running.url}/mlflow/health", timeout=1).status_code == 200:
                return running
        except requests.RequestException:
            pass
        time.sleep(0.3)
    said = log_path.read_text()[-3000:]
    stop_mlflow(running)
    raise RuntimeError(f"MLflow did not answer in time: {said}")


def stop_mlflow(running):
    """Stop the server and the uvicorn workers it started (its process group)."""
    try:
        os.killpg(running.process.pid, signal.SIGTERM)
        running.process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait()
    shutil.rmtree(running.folder, ignore_errors=True)

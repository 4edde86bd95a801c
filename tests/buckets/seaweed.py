"""A real SeaweedFS (`weed mini`) for tests and benchmarks, started the way platform_run starts it
(buckets/server.py), on free loopback ports, with its data in a private temporary folder."""

import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from buckets.server import weed_command, weed_config_write
from tests.ports import free_port_block


@dataclass
class RunningStore:
    endpoint_url: str
    access_key_id: str
    secret: str
    process: subprocess.Popen
    folder: Path
    log_path: Path


def _ports_free(base):
    import socket

    for port in [base + offset for offset in range(10)]:
        try:
            socket.create_server(("127.0.0.1", port)).close()
        except OSError:
            return False
    return True


def start_seaweed(timeout=60):
    for _ in range(20):
        base = free_port_block(10)
        if _ports_free(base):
            break
    folder = Path(tempfile.mkdtemp(prefix="dsw-s3-"))
    key_id, secret = f"platform-admin-{secrets.token_hex(4)}", secrets.token_urlsafe(30)
    config = weed_config_write(folder / "config.json", access_key_id=key_id, secret=secret)
    log_path = folder / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(weed_command(data_dir=folder / "data", config_path=config, s3_port=base),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{base}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {log_path.read_text()[-2000:]}")
        try:
            # Anonymous requests are refused (403) once the S3 API is up with its identities.
            if requests.get(url, timeout=1).status_code in (200, 403):
                return RunningStore(url, key_id, secret, process, folder, log_path)
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_seaweed(RunningStore(url, key_id, secret, process, folder, log_path))
    raise RuntimeError("SeaweedFS did not answer in time")


def stop_seaweed(store):
    store.process.terminate()
    try:
        store.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        store.process.kill()
        store.process.wait()
    shutil.rmtree(store.folder, ignore_errors=True)

"""A real Prometheus (Debian's package) per test session, on a free port in a temporary folder, scraping
the live portal's /metrics and the session hub's /hub/metrics with the metrics token, with the chart's
rule files loaded: the configuration `PLATFORM_PROMETHEUS=1 make run` uses (observability/prometheus_server.py)."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.ports import free_ports


class RunningPrometheus:
    def __init__(self, url, process, log_path):
        self.url, self.process, self.log_path = url, process, log_path

    def query(self, promql):
        """The instant vector of `promql` as [(labels, value)]."""
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        return [(item["metric"], float(item["value"][1])) for item in answer["data"]["result"]]

    def wait_for(self, promql, what, timeout=60):
        """The first non-empty answer to `promql` (Prometheus scrapes every second here)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"Prometheus never answered {promql!r} ({what}); targets: {self.targets()}")

    def targets(self):
        answer = requests.get(f"{self.url}/api/v1/targets", timeout=10).json()
        return [(t["labels"]["job"], t["health"], t.get("lastError", "")) for t in answer["data"]["activeTargets"]]

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="session")
def prometheus(live_server, hub):
    from observability.prometheus_server import prometheus_command, prometheus_files_write, prometheus_installed

    if not prometheus_installed():
        pytest.fail("Debian's prometheus is not installed: scripts/services.sh start installs it (as root)")
    folder = Path(tempfile.mkdtemp(prefix="dsw-prometheus-"))
    (port,) = free_ports(1)
    config = prometheus_files_write(folder, portal_target=urlsplit(live_server.url).netloc,
                                    hub_target=urlsplit(hub.api_url).netloc, scrape_interval="1s")
    log_path = folder / "prometheus.log"
    process = subprocess.Popen(prometheus_command(config=config, data_dir=folder / "data", listen=f"127.0.0.1:{port}"),
                               stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    running = RunningPrometheus(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Prometheus exited at start:\n{running.log()}")
            try:
                if requests.get(f"{running.url}/-/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus never got ready:\n{running.log()}")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)

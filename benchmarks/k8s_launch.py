"""Kubernetes launch latency: workspaces through the portal against the same number started directly
through JupyterHub + KubeSpawner, on the test control plane, in the same run.

    .venv/bin/python benchmarks/k8s_launch.py [--count 50] [--parallel 10]

Starts the test control plane (etcd, kube-apiserver, kube-scheduler, kwok nodes, the process kubelet
that runs each pod as a local process: tests/kube/), then
  * the platform (`manage.py platform_run`, embedded mode) with PLATFORM_SPAWNER=kubernetes, and
    measures from the API call that creates a workspace to its server answering /api/status
    through the proxy;
  * a bare JupyterHub with plain KubeSpawner (same image, resources, home PVC, pod runner), and
    measures from its REST API call to the server answering the same way.
Prints median and p95 launch time, the hub process's CPU seconds for each batch, and the ratio of
the medians (target ≤ 1.2).
"""

import argparse
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

from benchmarks.launch import free_port_block, wait_ok  # noqa: E402
from tests.kube.cluster import Cluster  # noqa: E402
from tests.kube.kubelet import ProcessKubelet  # noqa: E402

IMAGE = "registry.example.org/dsw-singleuser@sha256:" + "5" * 64
CPU, MEMORY, DISK = 0.1, 256 * 2**20, 2**30


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pid(parent, needle):
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and needle in cmdline:
                return int(entry.name)
    raise RuntimeError(f"no child of {parent} runs {needle}")


class PortalOnKubernetes:
    """The platform as `make run` starts it, with the Kubernetes back end."""

    def __init__(self, data_dir, cluster, namespace):
        self.port = free_port_block(16)  # platform_run uses PORT … PORT+15
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "PLATFORM_"))}
        # Path routing, like the bare hub it is compared with (and like the chart without subdomains).
        self.env.update(PLATFORM_DATA_DIR=str(data_dir), PLATFORM_PORT=str(self.port), PLATFORM_WORKSPACE_SUBDOMAINS="false",
                        PLATFORM_ADMIN_PASSWORD="benchmark admin passphrase", PLATFORM_SPAWNER="kubernetes",
                        KUBECONFIG=str(cluster.kubeconfig), PLATFORM_KUBE_NAMESPACE=namespace, PLATFORM_KUBE_IMAGE=IMAGE)

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
            f"Profile.objects.get_or_create(name='Bench', defaults={{'cpu': {CPU}, 'memory_bytes': {MEMORY}, 'disk_bytes': {DISK}}})"))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ok(f"{self.base}/healthz")
        wait_ok(f"{self.base}/hub/api/")
        self.hub_pid = child_pid(self.proc.pid, "jupyterhub")
        token = requests.post(f"{self.base}/api/v1/auth/token/", timeout=10,
                              json={"username": "admin", "password": "benchmark admin passphrase"}).json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.hub_token = (Path(self.env["PLATFORM_DATA_DIR"]) / "hub" / "api_token").read_text().strip()

    def launch(self, index):
        started = time.monotonic()
        response = requests.post(f"{self.base}/api/v1/workspaces/", json={"name": f"w{index}", "profile": "Bench"},
                                 headers=self.headers, timeout=60)
        response.raise_for_status()
        workspace = response.json()
        ready = wait_ok(f"{self.base}/user/admin/ws-{workspace['id']}/api/status",
                        headers={"Authorization": f"token {self.hub_token}"}, timeout=300)
        return ready - started

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)


BARE_CONFIG = """
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.JupyterHub.db_url = "sqlite:///{data}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{data}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 0
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0
c.JupyterHub.cleanup_servers = False
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.services = [{{"name": "bench", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{"name": "bench", "services": ["bench"],
                             "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
c.KubeSpawner.namespace = "{namespace}"
c.KubeSpawner.image = "{image}"
c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
c.KubeSpawner.cpu_limit = c.KubeSpawner.cpu_guarantee = {cpu}
c.KubeSpawner.mem_limit = c.KubeSpawner.mem_guarantee = {memory}
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = "{disk}"
c.KubeSpawner.pvc_name_template = "home-{{user_server}}"
c.KubeSpawner.volumes = [{{"name": "home", "persistentVolumeClaim": {{"claimName": "{{pvc_name}}"}}}}]
c.KubeSpawner.volume_mounts = [{{"name": "home", "mountPath": "/home/jovyan"}}]
c.KubeSpawner.working_dir = "/home/jovyan"
c.KubeSpawner.start_timeout = 300
"""


class BareHub:
    """JupyterHub + plain KubeSpawner: what the platform adds its portal to."""

    def __init__(self, data_dir, cluster, namespace):
        port = free_port_block(3)
        hub_port, api_port = port + 1, port + 2
        self.token = secrets.token_hex(16)
        config = Path(data_dir) / "jupyterhub_config.py"
        config.write_text(BARE_CONFIG.format(port=port, hub_port=hub_port, api_port=api_port, data=data_dir,
                                             token=self.token, namespace=namespace, image=IMAGE, cpu=CPU,
                                             memory=MEMORY, disk=DISK,
                                             proxy=Path(sys.executable).parent / "configurable-http-proxy"))
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16)}
        self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=data_dir, env=env,
                                     stdout=(Path(data_dir) / "hub.log").open("w"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"token {self.token}"}
        try:
            wait_ok(f"{self.base}/hub/api/", timeout=60)
        except TimeoutError:
            raise RuntimeError((Path(data_dir) / "hub.log").read_text()[-3000:]) from None
        self.hub_pid = self.proc.pid

    def launch(self, index):
        started = time.monotonic()
        api = f"{self.base}/hub/api"
        requests.post(f"{api}/users/u{index}", headers=self.headers, timeout=60)
        response = requests.post(f"{api}/users/u{index}/servers/ws", headers=self.headers, timeout=60, json={})
        if response.status_code not in (201, 202):
            raise RuntimeError(response.text)
        ready = wait_ok(f"{self.base}/user/u{index}/ws/api/status", headers=self.headers, timeout=300)
        return ready - started

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def measure(target, count, parallel):
    before = cpu_seconds(target.hub_pid)
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda i: _safe(target.launch, i), range(count)))
    times = sorted(r for r in results if r is not None)
    return times, cpu_seconds(target.hub_pid) - before, sum(r is None for r in results)


def _safe(function, index):
    try:
        return function(index)
    except Exception as exc:  # noqa: BLE001  (counted and reported)
        print(f"launch {index} failed: {exc}", file=sys.stderr)
        return None


def p95(values):
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        cluster = Cluster(work / "cluster").start()
        kubelet = None
        try:
            for name in ("cpu-0", "cpu-1"):
                cluster.add_node(name, cpu="64", memory="256Gi", pods="250")
            cluster.wait_nodes_ready(["cpu-0", "cpu-1"])
            for namespace in ("bench-portal", "bench-direct"):
                cluster.ensure_namespace(namespace)
            (work / "kubelet").mkdir()
            kubelet = ProcessKubelet(cluster, work / "kubelet", bin_dir=Path(sys.executable).parent).start()
            (work / "platform").mkdir()
            platform = PortalOnKubernetes(work / "platform", cluster, "bench-portal")
            platform.start()
            try:
                ours = measure(platform, args.count, args.parallel)
                print(f"through the portal: {len(ours[0])} launched", file=sys.stderr)
            finally:
                platform.stop()
            (work / "bare").mkdir()
            bare_hub = BareHub(work / "bare", cluster, "bench-direct")
            try:
                bare = measure(bare_hub, args.count, args.parallel)
            finally:
                bare_hub.stop()
        finally:
            if kubelet:
                kubelet.stop()
            cluster.stop()

    for label, (times, cpu, failures) in (("through the portal", ours), ("JupyterHub + KubeSpawner", bare)):
        if times:
            print(f"{label:<26} median {statistics.median(times):6.2f} s   p95 {p95(times):6.2f} s   "
                  f"hub CPU {cpu:6.1f} s   failures {failures} of {args.count}")
        else:
            print(f"{label:<26} every launch failed")
    if ours[0] and bare[0]:
        print(f"ratio of medians (portal / direct): {statistics.median(ours[0]) / statistics.median(bare[0]):.2f}  (target ≤ 1.2)")


if __name__ == "__main__":
    main()

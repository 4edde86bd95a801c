"""A real kubelet + containerd node registered to the test control plane (opt-in: DSW_REAL_NODE=1, as root, with
Debian's containerd, runc and containernetworking-plugins installed and scripts/kube-node.sh's tools built).
Shows what the process kubelet cannot: the image's own contents run, the security context is enforced by runc,
the pod gets a bridge address that EndpointSlices accept, local PersistentVolumes bind and mount (pre-provisioned,
and made on demand by local-path-provisioner), and the API server reaches the kubelet for logs and exec.
tests/kube/realnode/README.md has the details."""

import ipaddress
import json
import time
import urllib.request

import pytest

from tests.kube.realnode.kubectl import exec_in_pod, ready
from tests.kube.realnode.opt_in import MARKS

pytestmark = MARKS


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory):
    import tempfile
    from pathlib import Path

    from tests.kube.realnode.cluster import RealNodeCluster
    from tests.kube.realnode.node import RealNode

    node = RealNode(Path(tempfile.mkdtemp(prefix="rn-", dir="/tmp")))   # short: unix socket paths <= 107 bytes
    cluster = None
    try:
        node.create_network()      # first: the API server listens on the host's end of the node's veth pair
        cluster = RealNodeCluster(tmp_path_factory.mktemp("real-cp"), address=node.host_ip)
        cluster.start()
        node.start(cluster)
        deadline = time.monotonic() + 120
        while not ready(cluster.api("GET", f"/api/v1/nodes/{node.name}", expect=None)):
            assert time.monotonic() < deadline, node.log("kubelet")
            time.sleep(0.2)
        cluster.ensure_namespace("rn")
        node.provision_volumes(cluster, count=2, size="1Gi")
        node.start_local_path_provisioner(cluster)
        yield cluster, node
    finally:
        node.stop()
        if cluster:
            cluster.stop()


def _claim(cluster, name, *, storage_class):
    """A 1 GiB ReadWriteOnce claim in the test namespace."""
    cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                   "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                            "resources": {"requests": {"storage": "1Gi"}}}},
                  path="/api/v1/namespaces/rn/persistentvolumeclaims")


def test_hardened_pod_runs_enforced(real_cluster):
    from tests.kube.realnode.images import BUSYBOX_IMAGE
    from tests.kube.realnode.node import TOLERATION

    cluster, node = real_cluster
    _claim(cluster, "data", storage_class="dsw-local")
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hardened"},
                   "spec": {"selector": {"app": "hardened"}, "ports": [{"port": 80, "targetPort": 8080}]}},
                  path="/api/v1/namespaces/rn/services")
    script = ("id; grep -E 'CapEff|NoNewPrivs|Seccomp:' /proc/self/status; touch /x 2>/dev/null || echo rootfs-readonly;"
              " echo hello > /data/f; exec httpd -f -p 8080 -h /data")
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hardened", "labels": {"app": "hardened"}},
                   "spec": {"automountServiceAccountToken": False, "tolerations": [TOLERATION],
                            "nodeSelector": {"kubernetes.io/hostname": node.name},
                            "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                                "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
                            "containers": [{
                                "name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                                "command": ["/bin/sh", "-c", script], "ports": [{"containerPort": 8080}],
                                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["ALL"]}},
                                "resources": {"limits": {"cpu": "200m", "memory": "64Mi"}}}]}},
                  path="/api/v1/namespaces/rn/pods")
    deadline = time.monotonic() + 120
    while not ready(pod := cluster.api("GET", "/api/v1/namespaces/rn/pods/hardened")):
        assert time.monotonic() < deadline, f"{json.dumps(pod['status'])}\n{node.log('kubelet')}"
        time.sleep(0.2)

    log = cluster.session.get(f"{cluster.url}/api/v1/namespaces/rn/pods/hardened/log", verify=False, timeout=10)
    assert log.status_code == 200, log.text
    assert "uid=1000 gid=1000" in log.text and "rootfs-readonly" in log.text
    assert "CapEff:\t0000000000000000" in log.text and "NoNewPrivs:\t1" in log.text and "Seccomp:\t2" in log.text

    assert exec_in_pod(cluster, "rn", "hardened", ["cat", "/data/f"]) == "hello\n"     # API server -> kubelet -> containerd

    pod_ip = pod["status"]["podIP"]
    assert ipaddress.ip_address(pod_ip) in node.subnet
    assert urllib.request.urlopen(f"http://{pod_ip}:8080/f", timeout=5).read() == b"hello\n"

    container = node.crictl("ps", "-q", "--name", "main").stdout.split()[0]
    spec = json.loads(node.crictl("inspect", container).stdout)["info"]["runtimeSpec"]
    assert spec["process"]["user"]["uid"] == 1000 and spec["root"]["readonly"] is True
    assert not spec["process"].get("capabilities", {}).get("bounding")
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert spec["linux"]["resources"]["memory"]["limit"] == 64 * 1024 * 1024

    deadline = time.monotonic() + 30
    while True:
        slices = cluster.api("GET", "/apis/discovery.k8s.io/v1/namespaces/rn/endpointslices")["items"]
        if any(pod_ip in address for s in slices for e in s.get("endpoints") or [] for address in e["addresses"]):
            break
        assert time.monotonic() < deadline, slices
        time.sleep(0.5)
    assert cluster.api("GET", "/api/v1/namespaces/rn/persistentvolumeclaims/data")["status"]["phase"] == "Bound"


def test_local_path_provisioner_creates_volume(real_cluster):
    from tests.kube.realnode.images import BUSYBOX_IMAGE
    from tests.kube.realnode.node import TOLERATION

    cluster, node = real_cluster
    _claim(cluster, "dynamic", storage_class="local-path")
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
                   "spec": {"automountServiceAccountToken": False, "tolerations": [TOLERATION], "restartPolicy": "Never",
                            "nodeSelector": {"kubernetes.io/hostname": node.name},
                            "securityContext": {"runAsUser": 1000, "runAsNonRoot": True,
                                                "seccompProfile": {"type": "RuntimeDefault"}},
                            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "dynamic"}}],
                            "containers": [{"name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                                            "command": ["/bin/sh", "-c", "echo written > /data/f"],
                                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                            "securityContext": {"allowPrivilegeEscalation": False,
                                                                "capabilities": {"drop": ["ALL"]}}}]}},
                  path="/api/v1/namespaces/rn/pods")
    deadline = time.monotonic() + 120
    while (pod := cluster.api("GET", "/api/v1/namespaces/rn/pods/writer"))["status"].get("phase") != "Succeeded":
        assert time.monotonic() < deadline, f"{json.dumps(pod['status'])}\n{node.log('local-path-provisioner')}"
        time.sleep(0.3)
    claim = cluster.api("GET", "/api/v1/namespaces/rn/persistentvolumeclaims/dynamic")
    volume = cluster.api("GET", f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
    path = (volume["spec"].get("hostPath") or volume["spec"].get("local"))["path"]
    assert path.startswith(str(node.root / "local-path")), path
    assert (node.root / "local-path" / path.rsplit("/", 1)[1] / "f").read_text() == "written\n"

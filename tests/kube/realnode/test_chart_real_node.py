"""The Helm chart on a real node, from the real images: `helm install --wait` brings up portal, worker, beat, hub and
proxy built by docker/build.sh (scripts/kube-images.sh, imported into the node's containerd), on a kubelet with
kube-proxy and CoreDNS (tests/kube/realnode/addons.py) and a private PostgreSQL and Redis the pods reach
(backing.py). A workspace launched through the proxy's public Service (a NodePort) runs from the single-user image;
the runtime shows its user, limits, capabilities and seccomp; its home outlives a stop; the hub spawns with its
ServiceAccount token (no kubeconfig).

Opt-in like test_real_node.py (DSW_REAL_NODE=1, root, containerd) and, because building the images takes minutes
cold, only under `make test-kube` (DSW_KUBE_IMAGES=1), which builds them first (tests/kube/realnode/README.md has
timings).
NetworkPolicies are not enforced here (the CNI bridge plugin enforces none): the tests show which pods they select.
"""

import base64
import json
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.kube.realnode.kubectl import exec_in_pod, ready
from tests.kube.realnode.opt_in import MARKS
from tests.kube.tools import CHART, ROOT, helm, launch_small_workspace

NAMESPACE = "dsw"
ADMIN_PASSWORD = "real-node-Passw0rd"
COMPONENTS = ("portal", "worker", "beat", "hub", "proxy")


def _images():
    """{name: (reference, archive)} from scripts/kube-images.sh --check; None when not built."""
    result = subprocess.run(["bash", str(ROOT / "scripts" / "kube-images.sh"), "--check"], capture_output=True,
                            text=True)
    if result.returncode != 0:
        return None
    return {name: (reference, archive) for name, reference, archive in
            (line.split() for line in result.stdout.splitlines())}


pytestmark = MARKS


@pytest.fixture(scope="module")
def images():
    # Only under `make test-kube` (which builds the images first): `make test` stays the length it was.
    if os.environ.get("DSW_KUBE_IMAGES") != "1":
        pytest.skip("the chart on the real node runs under `make test-kube` (DSW_KUBE_IMAGES=1)")
    found = _images()
    if found is None:
        pytest.fail("scripts/kube-images.sh --check: the chart's images are not built (make test-kube builds them)")
    return found


@pytest.fixture(scope="module")
def platform(tmp_path_factory, images):
    from tests.kube.realnode.addons import start_coredns, start_kube_proxy
    from tests.kube.realnode.backing import Backing
    from tests.kube.realnode.cluster import RealNodeCluster
    from tests.kube.realnode.node import RealNode

    timings = {}
    started = time.monotonic()
    # No taint: the chart's pods carry no toleration for it. Pods resolve Service names through CoreDNS.
    node = RealNode(Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp")), taint=False, cluster_dns=True)
    cluster = backing = None
    try:
        node.create_network()
        backing = Backing(tempfile.mkdtemp(prefix="rb-", dir="/tmp"), node.host_ip).start()
        cluster = RealNodeCluster(tmp_path_factory.mktemp("chart-cp"), address=node.host_ip, controllers=True).start()
        node.start(cluster)
        _wait(lambda: ready(cluster.api("GET", f"/api/v1/nodes/{node.name}", expect=None)), 120,
              lambda: node.log("kubelet"))
        start_kube_proxy(node, cluster)
        start_coredns(node, cluster)
        node.start_local_path_provisioner(cluster)
        timings["cluster_s"] = round(time.monotonic() - started, 1)

        mark = time.monotonic()
        for name, (reference, archive) in images.items():
            repository = reference.rsplit(":", 1)[0]
            result = node.ctr("images", "import", "--base-name", repository, "--digests", archive, check=False)
            assert result.returncode == 0, f"ctr images import {archive}: {result.stderr}"
            assert reference in node.ctr("images", "ls", "-q").stdout.split(), node.ctr("images", "ls", "-q").stdout
        timings["image_import_s"] = round(time.monotonic() - mark, 1)

        cluster.ensure_namespace(NAMESPACE)
        for name, url in (("platform-database", backing.database_url), ("platform-redis", backing.redis_url)):
            cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                           "stringData": {"url": url}}, path=f"/api/v1/namespaces/{NAMESPACE}/secrets")
        node_port = 30000 + secrets.randbelow(2700)   # the node's namespace is ours: any port of the range is free
        public_url = f"http://{node.node_ip}:{node_port}"
        values = {"publicUrl": public_url, "hub.pollInterval": "5", "proxy.service.type": "NodePort",
                  "proxy.service.nodePort": str(node_port),
                  # Two cores: one of each (the chart's requests would otherwise leave no room for a workspace).
                  "portal.replicas": "1", "worker.replicas": "1", "worker.concurrency": "1",
                  "workspaces.storageClass": "local-path", "hub.storage.storageClass": "local-path"}
        for name, (reference, _) in images.items():
            repository, tag = reference.rsplit(":", 1)
            values[f"images.{name}.repository"], values[f"images.{name}.tag"] = repository, tag
            if name != "singleuser":
                values[f"images.{name}.pullPolicy"] = "Never"    # imported, no registry to pull from
        arguments = [part for key, value in values.items() for part in ("--set-string" if key.endswith(".tag") else
                                                                         "--set", f"{key}={value}")]
        mark = time.monotonic()
        result = helm("install", "dsw", str(CHART), "--namespace", NAMESPACE, "--kubeconfig", str(cluster.kubeconfig),
                      *arguments, "--wait", "--timeout", "12m", check=False)
        timings["helm_install_s"] = round(time.monotonic() - mark, 1)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{diagnose(cluster, node)}"
        print(f"real-node chart timings: {timings}")
        yield {"cluster": cluster, "node": node, "backing": backing, "public_url": public_url, "timings": timings}
    finally:
        node.stop()
        if cluster:
            cluster.stop()
        if backing:
            backing.stop()


def _wait(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, message()
        time.sleep(0.5)
    return value


def pods(cluster, selector=None):
    params = {"labelSelector": selector} if selector else {}
    return cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", params=params)["items"]


def diagnose(cluster, node):
    lines = []
    for pod in pods(cluster):
        statuses = [(s["name"], s.get("restartCount"), s.get("state")) for s in pod["status"].get("containerStatuses", [])]
        lines.append(f"{pod['metadata']['name']}: {pod['status'].get('phase')} ready={ready(pod)} {statuses}")
        for status in pod["status"].get("containerStatuses", []):
            log = cluster.session.get(f"{cluster.url}/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}/log",
                                      params={"container": status["name"], "tailLines": "30"}, verify=False, timeout=10)
            lines.append(f"--- {pod['metadata']['name']}/{status['name']}\n{log.text[-2500:]}")
    events = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/events")["items"]
    lines += [f"event {e['involvedObject']['name']}: {e['reason']} {e.get('message', '')[:300]}" for e in events[-25:]]
    lines.append(f"--- kubelet\n{node.log('kubelet')[-3000:]}")
    return "\n".join(lines)


def runtime_spec(node, pod):
    """The OCI spec containerd gave runc for the pod's first container (what the kernel enforces)."""
    container = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    return json.loads(node.crictl("inspect", container).stdout)["info"]["runtimeSpec"]


def test_every_component_runs_from_its_image_on_the_node(platform, images):
    cluster, node = platform["cluster"], platform["node"]
    running = {}
    for pod in pods(cluster):
        if ready(pod) and (pod["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "ReplicaSet":
            running[pod["metadata"]["labels"]["app.kubernetes.io/component"]] = pod
    assert set(COMPONENTS) <= set(running), sorted(running)
    for component, pod in running.items():
        assert pod["spec"]["nodeName"] == node.name
        image = images["hub" if component in ("hub", "proxy") else "portal"][0]
        assert pod["status"]["containerStatuses"][0]["image"] == image, pod["status"]["containerStatuses"][0]
        spec = runtime_spec(node, pod)
        # The chart's pod and container security contexts, as runc applies them.
        assert spec["process"]["user"]["uid"] == 10001 and spec["root"]["readonly"] is True, component
        assert not spec["process"].get("capabilities", {}).get("bounding"), component
        assert spec["process"]["noNewPrivileges"] is True
        assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO", component
    portal_limits = runtime_spec(node, running["portal"])["linux"]["resources"]
    assert portal_limits["memory"]["limit"] == 1024 ** 3          # portal.resources.limits.memory: 1Gi
    assert portal_limits["cpu"]["quota"] == portal_limits["cpu"]["period"]   # limits.cpu: "1"


def test_the_hub_talks_to_the_api_server_with_its_service_account_token(platform):
    """In-cluster config: the `kubernetes` Service (kube-proxy), its name (CoreDNS), the root CA ConfigMap the
    controller-manager publishes and the token the kubelet projects; no KUBECONFIG in the hub's environment."""
    cluster = platform["cluster"]
    hub = pods(cluster, "app.kubernetes.io/component=hub")[0]
    assert "KUBECONFIG" not in {e["name"] for e in hub["spec"]["containers"][0].get("env", [])}
    script = (
        "import json, os, ssl, urllib.request\n"
        "d = '/var/run/secrets/kubernetes.io/serviceaccount/'\n"
        "assert 'KUBECONFIG' not in os.environ\n"
        "token = open(d + 'token').read()\n"
        "context = ssl.create_default_context(cafile=d + 'ca.crt')\n"
        "request = urllib.request.Request('https://kubernetes.default.svc/api/v1/namespaces/' + open(d + 'namespace')"
        ".read() + '/pods', headers={'Authorization': 'Bearer ' + token})\n"
        "print(json.dumps([p['metadata']['name'] for p in json.load(urllib.request.urlopen(request, context=context))"
        "['items']]))\n")
    out = exec_in_pod(cluster, NAMESPACE, hub["metadata"]["name"], ["python", "-c", script])
    assert hub["metadata"]["name"] in json.loads(out.strip().splitlines()[-1]), out


def test_a_workspace_launches_through_the_public_service(platform, images):
    cluster, node, public_url = platform["cluster"], platform["node"], platform["public_url"]
    portal = pods(cluster, "app.kubernetes.io/component=portal")[0]["metadata"]["name"]
    exec_in_pod(cluster, NAMESPACE, portal, ["env", f"PLATFORM_ADMIN_PASSWORD={ADMIN_PASSWORD}", "python", "manage.py",
                                             "ensure_admin"])
    # The image's static files, served by the portal's uid from the read-only root.
    static = requests.get(f"{public_url}/static/admin/css/base.css", timeout=60)
    assert static.status_code == 200 and "body" in static.text, static.status_code
    # The portal, through the proxy's NodePort (kube-proxy).
    api, workspace_url = launch_small_workspace(public_url, password=ADMIN_PASSWORD, team_slug="node",
                                                workspace_name="on-node")

    def status(wanted):
        def check():
            workspace = api.get(workspace_url, timeout=60).json()
            assert workspace["status"] != "failed", f"{workspace}\n{diagnose(cluster, node)}"
            return workspace if workspace["status"] == wanted else None
        return check

    mark = time.monotonic()
    workspace = _wait(status("running"), 420, lambda: f"{api.get(workspace_url, timeout=60).json()}\n"
                                                       f"{diagnose(cluster, node)}")
    platform["timings"]["workspace_start_s"] = round(time.monotonic() - mark, 1)
    selector = f"dsw/workspace={workspace['id']}"
    [pod] = pods(cluster, selector)
    assert pod["spec"]["nodeName"] == node.name
    assert pod["status"]["containerStatuses"][0]["image"] == images["singleuser"][0]
    spec = runtime_spec(node, pod)
    assert spec["process"]["user"]["uid"] == 1000 and spec["process"]["user"]["gid"] == 100
    assert spec["root"]["readonly"] is True                       # the image's files: only home and /tmp are writable
    assert {m["destination"] for m in spec["mounts"]} >= {"/home/jovyan", "/tmp"}
    assert not spec["process"].get("capabilities", {}).get("bounding")
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert spec["linux"]["resources"]["memory"]["limit"] == 512 * 1024 ** 2                  # the profile's memory
    assert spec["linux"]["resources"]["cpu"]["quota"] * 2 == spec["linux"]["resources"]["cpu"]["period"]   # 0.5 CPU

    # The proxy routes the workspace's path to the pod; the server answers the hub's token. Write into the home.
    hub_token = base64.b64decode(cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/dsw-secrets")["data"]
                                 ["hub-api-token"]).decode()
    contents = f"{public_url}/user/admin/ws-{workspace['id']}/api/contents/kept.txt"
    headers = {"Authorization": f"token {hub_token}"}
    put = requests.put(contents, json={"type": "file", "format": "text", "content": "survives"}, headers=headers,
                       timeout=60)
    assert put.status_code in (200, 201), put.text[:500]

    # The workspace NetworkPolicy selects this pod (the bridge CNI does not enforce it: shown, not proven).
    policy = cluster.api("GET", f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies/dsw-workspaces")
    labels = pod["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items()), (policy, labels)

    assert api.post(f"{workspace_url}stop/", timeout=60).status_code == 202
    _wait(status("stopped"), 180, lambda: api.get(workspace_url, timeout=60).json())
    _wait(lambda: not pods(cluster, selector), 120, lambda: pods(cluster, selector))
    claims = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims",
                         params={"labelSelector": selector})["items"]
    assert len(claims) == 1 and claims[0]["status"]["phase"] == "Bound"

    assert api.post(f"{workspace_url}start/", timeout=60).status_code == 202
    _wait(status("running"), 420, lambda: f"{api.get(workspace_url, timeout=60).json()}\n{diagnose(cluster, node)}")
    again = requests.get(contents, headers=headers, timeout=60)
    assert again.status_code == 200 and again.json()["content"] == "survives", again.text[:500]
    print(f"real-node chart timings: {platform['timings']}")

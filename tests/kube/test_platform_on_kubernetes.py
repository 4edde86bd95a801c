"""`helm install` brings up a working platform: on a control plane with kube-controller-manager (real Deployment,
ReplicaSet and Job controllers), the chart's Deployments become pods that the process kubelet runs from the
rendered commands, environment and Secrets; they find each other through the chart's Services. A script then signs
in through the proxy's public Service, sets up a team and a profile, and launches a workspace: the in-cluster
worker asks the in-cluster hub, whose spawner (with the hub ServiceAccount's own token) creates the pod, and the
proxy routes to the running server.
"""

import base64
import os
import sys
from pathlib import Path

import pytest
import requests

from tests.kube.cluster import Cluster
from tests.kube.kubelet import ProcessKubelet
from tests.kube.test_helm_install import database_url  # noqa: F401  (a fresh database for the release)
from tests.kube.test_workspaces_on_kubernetes import wait_until
from tests.kube.tools import CHART, helm, launch_small_workspace

NAMESPACE = "dsw"
ADMIN_PASSWORD = "k8s-admin-Passw0rd"
COMPONENTS = ("portal", "worker", "beat", "hub", "proxy")

pytestmark = [
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the process kubelet gives each pod its own /etc/hosts in a mount "
                                                 "namespace, which needs root"),
]


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("platform-cluster"), controllers=True)
    kubelet = None
    try:
        cluster.start()
        cluster.add_node("node-0", cpu="16", memory="64Gi")
        cluster.wait_nodes_ready(["node-0"])
        kubelet = ProcessKubelet(cluster, tmp_path_factory.mktemp("platform-kubelet"),
                                 bin_dir=Path(sys.executable).parent, with_controller_manager=True).start()
        yield cluster, kubelet
    finally:
        if kubelet:
            kubelet.stop()
        cluster.stop()


@pytest.fixture(scope="module")
def release(control_plane, database_url):  # noqa: F811
    cluster, kubelet = control_plane
    cluster.ensure_namespace(NAMESPACE)
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15"  # a database no test worker's Celery uses
    for name, url in (("platform-database", database_url), ("platform-redis", redis_url)):
        cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"url": url}},
                      path=f"/api/v1/namespaces/{NAMESPACE}/secrets")
    public_url = f"http://{kubelet.services.address_for(NAMESPACE, 'dsw-proxy-public')}"
    result = helm("install", "dsw", str(CHART), "--namespace", NAMESPACE, "--kubeconfig", str(cluster.kubeconfig),
                  "--set", f"publicUrl={public_url}", "--set", "hub.pollInterval=5",
                  "--wait", "--timeout", "6m", check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{diagnose(cluster, kubelet)}"
    return public_url


def diagnose(cluster, kubelet):
    pods = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
    lines = [f"kubelet errors: {kubelet.errors[-5:]}"]
    for pod in pods:
        ready = [c["status"] for c in pod["status"].get("conditions", []) if c["type"] == "Ready"]
        lines.append(f"{pod['metadata']['name']}: {pod['status'].get('phase')} ready={ready}")
    for log in sorted(kubelet.workdir.glob("pod-*.log")):
        lines.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
    lines.append(f"--- kube-controller-manager\n{cluster.log('kube-controller-manager')[-1500:]}")
    return "\n".join(lines)


def first_admin(cluster, kubelet):
    """What docs/operations/kubernetes.md has an operator do: `kubectl exec deploy/dsw-portal -- python manage.py
    ensure_admin`, with PLATFORM_ADMIN_PASSWORD set for the command."""
    pods = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods",
                       params={"labelSelector": "app.kubernetes.io/component=portal"})["items"]
    result = kubelet.exec(NAMESPACE, pods[0]["metadata"]["name"],
                          ["env", f"PLATFORM_ADMIN_PASSWORD={ADMIN_PASSWORD}", "python", "manage.py", "ensure_admin"])
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_component_runs_from_its_deployment(control_plane, release):
    cluster, kubelet = control_plane
    pods = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
    running = {}
    for pod in pods:
        owner = (pod["metadata"].get("ownerReferences") or [{}])[0]
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if owner.get("kind") == "ReplicaSet" and ready:
            running[pod["metadata"]["labels"]["app.kubernetes.io/component"]] = pod
    assert set(COMPONENTS) <= set(running), sorted(running)
    # The kubelet's loop syncs Services before it probes pods: a pod that just turned ready (the portal's /readyz
    # waits for the hub) is an endpoint one round later.
    wanted = {"dsw-portal", "dsw-hub", "dsw-proxy-public", "dsw-proxy-api"}
    wait_until(lambda: wanted <= {name for (namespace, name, _), members in kubelet.services.endpoints().items() if members},
               timeout=30, message=lambda: f"endpoints of {wanted}: {kubelet.services.endpoints()}")


def test_a_script_launches_a_workspace_through_the_installed_platform(control_plane, release):
    cluster, kubelet = control_plane
    first_admin(cluster, kubelet)
    # The portal, reached through the proxy's public Service.
    api, workspace_url = launch_small_workspace(release, password=ADMIN_PASSWORD, team_slug="cluster",
                                                workspace_name="on-k8s", timeout=30)

    def running():
        workspace = api.get(workspace_url, timeout=30).json()
        assert workspace["status"] != "failed", workspace
        return workspace if workspace["status"] == "running" else None

    workspace = wait_until(running, 240, lambda: f"{api.get(workspace_url, timeout=30).json()}\n"
                                                 f"{diagnose(cluster, kubelet)}")
    pods = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods",
                       params={"labelSelector": f"dsw/workspace={workspace['id']}"})["items"]
    assert len(pods) == 1 and pods[0]["metadata"]["labels"]["dsw/team"] == "cluster"
    assert pods[0]["metadata"]["labels"]["app.kubernetes.io/instance"] == "dsw"  # what the NetworkPolicies select

    # The proxy routes the workspace's path to the pod; the server answers the hub's own token.
    secrets = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/dsw-secrets")["data"]
    hub_token = base64.b64decode(secrets["hub-api-token"]).decode()
    contents = requests.get(f"{release}/user/admin/ws-{workspace['id']}/api/contents/",
                            headers={"Authorization": f"token {hub_token}"}, timeout=30)
    assert contents.status_code == 200, contents.text[:500]
    assert contents.json()["type"] == "directory"

    stopped = api.post(f"{workspace_url}stop/", timeout=30)
    assert stopped.status_code == 202, stopped.text
    wait_until(lambda: api.get(workspace_url, timeout=30).json()["status"] == "stopped", 120,
               lambda: api.get(workspace_url, timeout=30).json())
    claims = cluster.api("GET", f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims",
                         params={"labelSelector": f"dsw/workspace={workspace['id']}"})["items"]
    assert len(claims) == 1  # the home outlives the stop

"""Workspaces launched through the portal, the hub and PortalKubeSpawner into the real test API server:
pods scheduled by the real scheduler, run by the process kubelet, reached by the hub through the proxy."""

import time

import pytest
import requests

from tests.conftest import api_as
from tests.kube.conftest import GPU_NODES, SINGLEUSER_IMAGE, WORKSPACES_NAMESPACE, hub_account_kubeconfig
from tests.workspaces.test_hub_lifecycle import server_status, wait_for_status
from workspaces.models import Profile

# The test API server's certificate is self-signed (loopback only).
pytestmark = [pytest.mark.hub, pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]


@pytest.fixture
def small(db):
    return Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)


@pytest.fixture
def gpu_profile(db):
    return Profile.objects.create(name="GPU h100", cpu="2", memory_bytes=2 * 2**30, gpus=1, gpu_type="h100",
                                  disk_bytes=5 * 2**30)


@pytest.fixture
def huge_gpu_profile(db):
    return Profile.objects.create(name="GPU h100 x3", cpu="2", memory_bytes=2 * 2**30, gpus=3, gpu_type="h100")


def pod_of(cluster, owner, workspace_id):
    pods = cluster.api("GET", f"/api/v1/namespaces/{WORKSPACES_NAMESPACE}/pods",
                       params={"labelSelector": f"dsw/workspace={workspace_id}"})["items"]
    assert len(pods) <= 1
    return pods[0] if pods else None


def claims_of(cluster, workspace_id):
    return cluster.api("GET", f"/api/v1/namespaces/{WORKSPACES_NAMESPACE}/persistentvolumeclaims",
                       params={"labelSelector": f"dsw/workspace={workspace_id}"})["items"]


def wait_until(condition, timeout=60, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {message() if callable(message) else message}")


def contents(hub, settings, workspace, path, *, body=None):
    url = f"{hub.public_url}/user/{workspace['owner']}/ws-{workspace['id']}/api/contents/{path}"
    headers = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
    if body is None:
        return requests.get(url, headers=headers, timeout=10)
    return requests.put(url, json={"type": "file", "format": "text", "content": body}, headers=headers, timeout=10)


def test_a_workspace_is_a_pod_with_its_profile_labels_and_a_home_that_survives_a_stop(
        kube_hub, cluster, celery_worker, alice, team, small, settings):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "kube", "profile": "Small"}, format="json").json()["id"]
    running, seen = wait_for_status(client, workspace_id, "running")
    assert server_status(kube_hub, settings, running).status_code == 200  # the hub and proxy really reach the pod

    pod = pod_of(cluster, "alice", workspace_id)
    labels = pod["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("dsw/")} == {
        "dsw/workspace": str(workspace_id), "dsw/owner": "alice", "dsw/team": team.slug, "dsw/profile": "Small"}
    assert pod["spec"]["nodeName"] not in GPU_NODES  # no GPU asked: the tainted GPU pool is not for it
    container = pod["spec"]["containers"][0]
    assert container["image"] == SINGLEUSER_IMAGE
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": str(512 * 2**20)},
                                      "limits": {"cpu": "500m", "memory": str(512 * 2**20)}}
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["spec"]["imagePullSecrets"] == [{"name": "platform-registry"}]

    # The chart's workspace NetworkPolicy (applied by the fixture) selects this pod.
    policy = cluster.api("GET", f"/apis/networking.k8s.io/v1/namespaces/{WORKSPACES_NAMESPACE}/networkpolicies/dsw-workspaces")
    selector = ",".join(f"{k}={v}" for k, v in policy["spec"]["podSelector"]["matchLabels"].items())
    selected = cluster.api("GET", f"/api/v1/namespaces/{WORKSPACES_NAMESPACE}/pods", params={"labelSelector": selector})
    assert pod["metadata"]["name"] in [p["metadata"]["name"] for p in selected["items"]]

    [claim] = claims_of(cluster, workspace_id)
    assert claim["spec"]["resources"]["requests"]["storage"] == str(2**30)
    assert contents(kube_hub, settings, running, "notes.txt", body="kept across stops").status_code in (200, 201)

    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")
    wait_until(lambda: pod_of(cluster, "alice", workspace_id) is None, message="the pod to be deleted")
    assert [c["metadata"]["uid"] for c in claims_of(cluster, workspace_id)] == [claim["metadata"]["uid"]]

    client.post(f"/api/v1/workspaces/{workspace_id}/start/")
    running, _ = wait_for_status(client, workspace_id, "running")
    assert contents(kube_hub, settings, running, "notes.txt").json()["content"] == "kept across stops"

    client.delete(f"/api/v1/workspaces/{workspace_id}/")
    wait_until(lambda: pod_of(cluster, "alice", workspace_id) is None, message="the pod to be deleted")
    # Deleting a workspace keeps its home unless it was deleted with it (?delete_home=true).
    assert [c["metadata"]["uid"] for c in claims_of(cluster, workspace_id)] == [claim["metadata"]["uid"]]


def test_a_gpu_workspace_lands_on_the_gpu_pool(kube_hub, cluster, celery_worker, alice, team, gpu_profile):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "gpu", "profile": "GPU h100"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    pod = pod_of(cluster, "alice", workspace_id)
    assert pod["spec"]["nodeName"] in GPU_NODES
    assert pod["spec"]["nodeSelector"] == {"dsw/gpu-type": "h100"}
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")


def test_a_workspace_the_cluster_cannot_place_says_why_instead_of_spinning(
        kube_hub, cluster, celery_worker, alice, team, huge_gpu_profile):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "big", "profile": "GPU h100 x3"}, format="json").json()["id"]

    seen = []

    def events():
        items = cluster.api("GET", f"/api/v1/namespaces/{WORKSPACES_NAMESPACE}/events")["items"]
        return [(e["involvedObject"]["name"], e["reason"], e["message"][:80], e.get("eventTime"), e.get("count"), e.get("series")) for e in items]

    def pending_message():
        body = client.get(f"/api/v1/workspaces/{workspace_id}/").json()
        assert body["status"] in ("starting", "pending"), body
        seen.append(body["status_message"])
        return body["status_message"] if "Waiting for 3 × h100 GPUs" in body["status_message"] else None

    message = wait_until(pending_message, timeout=90, message=lambda: f"the scheduler's reason to reach the portal (saw {seen[-3:]}; events: {events()})")
    assert "every GPU node that fits is in use" in message and "Insufficient nvidia.com/gpu" in message
    assert pod_of(cluster, "alice", workspace_id)["status"]["phase"] == "Pending"
    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")
    wait_until(lambda: pod_of(cluster, "alice", workspace_id) is None, message="the pending pod to be deleted")


def test_delete_forever_removes_the_home_only_when_asked(cluster, kubelet, tmp_path, monkeypatch):
    """The mechanism the portal will switch on: with _should_delete_storage() true, deleting the named server
    removes its home PVC, acting as the chart's hub ServiceAccount (its Role allows exactly that)."""
    import asyncio
    from types import SimpleNamespace

    from spawner.kube import PortalKubeSpawner

    from kubespawner import clients

    kubeconfig = hub_account_kubeconfig(cluster, tmp_path / "kubeconfig")
    monkeypatch.setattr("kubernetes_asyncio.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    # KubeSpawner loads its configuration once per process: forget whatever another test of this
    # worker loaded (the offline spawner tests point at a cluster that does not exist).
    clients.load_config.cache_clear()
    monkeypatch.setattr(clients, "_client_cache", {})

    class Deleting(PortalKubeSpawner):
        async def _should_delete_storage(self):
            return True

    async def delete(spawner_class, server):
        spawner = spawner_class(user=SimpleNamespace(name="carol", id=3, url="/user/carol/"),
                                orm_spawner=SimpleNamespace(name=server, server=None),
                                hub=SimpleNamespace(public_host="", url="http://hub/hub/", api_url="http://hub/hub/api",
                                                    base_url="/hub/"),
                                namespace=WORKSPACES_NAMESPACE, pvc_name_template="home-{user_server}")
        await spawner.delete_forever()
        return spawner.pvc_name

    claims = f"/api/v1/namespaces/{WORKSPACES_NAMESPACE}/persistentvolumeclaims"
    for server in ("ws-901", "ws-902"):
        cluster.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": f"home-carol--{server}"},
                       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}, path=claims)
    kept = asyncio.run(delete(PortalKubeSpawner, "ws-901"))
    removed = asyncio.run(delete(Deleting, "ws-902"))
    names = {c["metadata"]["name"] for c in cluster.api("GET", claims)["items"] if not c["metadata"].get("deletionTimestamp")}
    assert kept in names
    assert removed not in names

    clients.load_config.cache_clear()  # nor leave this cluster's configuration to the next test

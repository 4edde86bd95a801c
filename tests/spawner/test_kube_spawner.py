"""PortalKubeSpawner offline: the portal's spec becomes KubeSpawner's pod and PVC (rendered by
KubeSpawner itself, no cluster). tests/kube runs it against a real API server."""

import asyncio
import json
from types import SimpleNamespace

import pytest

from spawner import kube_objects
from spawner.kube import PortalKubeSpawner
from spawner.portal import LaunchError
from tests.stub_portal import Portal

DIGEST = "b" * 64
H100_POOL = {"nodeSelector": {"dsw/gpu-type": "h100"},
             "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}


@pytest.fixture
def portal():
    running = Portal()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def kubeconfig(tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "t", "user": {"token": "x"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}]}))
    # kubernetes_asyncio reads $KUBECONFIG once, at import.
    monkeypatch.setattr("kubernetes_asyncio.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(path))


def launch_spec(**changes):
    return {"workspace_id": 12, "generation": 1, "owner": "alice", "team": "data-science", "profile": "GPU large", "server_name": "ws-12",
            "cpu": 2.0, "memory_bytes": 8 * 2**30, "gpus": 1, "gpu_type": "h100", "disk_bytes": 20 * 2**30,
            "environment": {"kind": "image", "reference": f"registry.example.org/lab@sha256:{DIGEST}"},
            "env": {"PLATFORM_WORKSPACE_ID": "12"}, "idle_timeout_seconds": 0, **changes}


async def rendered(portal, **config):
    spawner = PortalKubeSpawner(
        _mock=True, user=SimpleNamespace(name="alice", id=1, url="/user/alice/"),
        orm_spawner=SimpleNamespace(name="ws-12", server=None),
        hub=SimpleNamespace(public_host="", url="http://hub:8081/hub/", api_url="http://hub:8081/hub/api",
                            base_url="/hub/"),
        portal_url=portal.url, portal_token="t0ken", namespace="workspaces",
        image="registry.example.org/base@sha256:" + "c" * 64, image_pull_secrets=["registry-pull"],
        gpu_types={"h100": H100_POOL}, storage_class="fast", **config)
    await spawner.load_user_options()
    return spawner, await spawner.get_pod_manifest(), spawner.get_pvc_manifest()


def test_the_spec_becomes_the_pod(portal):
    portal.serve(launch_spec())
    spawner, pod, pvc = asyncio.run(rendered(portal))
    container = pod.spec.containers[0]
    assert container.image == f"registry.example.org/lab@sha256:{DIGEST}"
    assert [s.name for s in pod.spec.image_pull_secrets] == ["registry-pull"]
    assert container.resources.requests == {"cpu": 2.0, "memory": 8 * 2**30, "nvidia.com/gpu": "1"}
    assert container.resources.limits == {"cpu": 2.0, "memory": 8 * 2**30, "nvidia.com/gpu": "1"}
    assert pod.spec.node_selector == {"dsw/gpu-type": "h100"}
    assert [{k: v for k, v in t.to_dict().items() if v is not None} for t in pod.spec.tolerations] == H100_POOL["tolerations"]
    assert container.security_context == {
        "runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "allowPrivilegeEscalation": False,
        "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        "readOnlyRootFilesystem": True}
    assert pod.spec.security_context == {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100,
                                         "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod.spec.automount_service_account_token is False
    labels = pod.metadata.labels
    assert {k: labels[k] for k in labels if k.startswith("dsw/")} == {
        "dsw/workspace": "12", "dsw/owner": "alice", "dsw/team": "data-science",
        "dsw/profile": kube_objects.label_value("GPU large")}
    assert pod.metadata.annotations["dsw/profile"] == "GPU large"
    assert container.args[0] == "jupyterhub-singleuser"  # the image's entrypoint (tini) runs it
    env = {e.name: e.value for e in container.env}
    assert env["PLATFORM_WORKSPACE_ID"] == "12" and env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    assert [m.mount_path for m in container.volume_mounts] == ["/home/jovyan", "/tmp"]
    assert pod.spec.volumes[0].persistent_volume_claim == {"claimName": spawner.pvc_name}
    assert pod.spec.volumes[1].empty_dir == {}
    assert pvc.metadata.name == spawner.pvc_name
    assert pvc.spec.storage_class_name == "fast"
    assert pvc.spec.resources.requests == {"storage": str(20 * 2**30)}
    assert pvc.metadata.labels["dsw/team"] == "data-science"


def test_s3_keys_come_from_the_persons_secret_never_the_pod_spec(portal):
    portal.serve(launch_spec(env={"PLATFORM_WORKSPACE_ID": "12", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
                                  "AWS_SECRET_ACCESS_KEY": "s3cr3t-value", "AWS_ENDPOINT_URL": "http://s3:8333"}))
    spawner, pod, _ = asyncio.run(rendered(portal))
    container = pod.spec.containers[0]
    by_name = {e.name: e for e in container.env}
    assert by_name["AWS_ENDPOINT_URL"].value == "http://s3:8333"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert by_name[name].value is None
        assert by_name[name].value_from == {"secretKeyRef": {"name": "dsw-env-alice", "key": name}}
    assert "s3cr3t-value" not in json.dumps(pod.to_dict(), default=str)
    _, data = kube_objects.split_secret_env(spawner._spec.env, "dsw-env-alice")
    secret = kube_objects.env_secret("dsw-env-alice", "workspaces", data, {"dsw/owner": "alice"})
    assert secret["stringData"] == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}


def test_the_default_environment_runs_the_configured_image_without_gpus(portal):
    portal.serve(launch_spec(gpus=0, gpu_type="", disk_bytes=0, environment={"kind": "local", "python": "/usr/bin/python3"}))
    spawner, pod, pvc = asyncio.run(rendered(portal, default_storage_capacity="5Gi"))
    container = pod.spec.containers[0]
    assert container.image == "registry.example.org/base@sha256:" + "c" * 64
    assert container.resources.limits == {"cpu": 2.0, "memory": 8 * 2**30}
    assert not pod.spec.node_selector and not pod.spec.tolerations
    assert pvc.spec.resources.requests == {"storage": "5Gi"}


def test_a_gpu_type_without_a_pool_is_refused_before_anything_is_created(portal):
    portal.serve(launch_spec(gpu_type="b200"))
    with pytest.raises(LaunchError, match=r"needs 1 × b200 GPU, and this cluster has no b200 node pool \(configured GPU types: h100\)"):
        asyncio.run(rendered(portal))


def test_the_spec_must_be_for_this_server(portal):
    portal.serve(launch_spec(server_name="ws-13"))
    with pytest.raises(LaunchError, match="is for server 'ws-13', not 'ws-12'"):
        asyncio.run(rendered(portal))


def test_storage_is_kept_unless_the_hook_says_otherwise(portal):
    portal.serve(launch_spec())
    spawner, _, _ = asyncio.run(rendered(portal))
    assert asyncio.run(spawner._should_delete_storage()) is False  # the portal did not say {"delete_home": true}
    asyncio.run(spawner.delete_forever())  # no API call: the mock client would fail if one were made


def test_progress_and_the_pending_reason_come_from_the_pods_events(portal):
    portal.serve(launch_spec(gpus=2))
    scheduler = ("0/3 nodes are available: 1 Insufficient nvidia.com/gpu, "
                 "2 node(s) didn't match Pod's node affinity/selector.")

    async def run():
        spawner, _, _ = await rendered(portal)
        loaded = asyncio.get_running_loop().create_future()
        loaded.set_result(None)
        events = [{"metadata": {"uid": str(n)}, "involvedObject": {"name": spawner.pod_name}, "reason": reason,
                   "message": message, "type": "Normal", "lastTimestamp": f"2026-01-01T00:00:0{n}Z", "eventTime": None}
                  for n, (reason, message) in enumerate([("FailedScheduling", scheduler)])]
        key = spawner._get_reflector_key("events")
        PortalKubeSpawner.reflectors[key] = SimpleNamespace(events=events, first_load_future=loaded)
        try:
            spawner._start_future = loaded  # a finished spawn: progress() reports what there is, then ends
            messages = [event["message"] async for event in spawner.progress()]
            return messages, spawner.pending_message()
        finally:
            del PortalKubeSpawner.reflectors[key]

    messages, pending = asyncio.run(run())
    assert messages == [f"{pending} ({scheduler})"]
    assert pending == ("Waiting for 2 × h100 GPUs: every GPU node that fits is in use. The workspace starts as soon "
                       "as one is free, or stop it and try a smaller profile")

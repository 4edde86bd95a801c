"""The Kubernetes builders: a launch spec in, fields and objects out (dict equality, no cluster)."""

import pytest

from spawner import kube_objects as objects
from spawner.spec import LaunchSpec

H100_POOL = {"resource": "nvidia.com/gpu", "nodeSelector": {"dsw/gpu-type": "h100"},
             "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
MIG_POOL = {"resource": "nvidia.com/mig-1g.10gb", "nodeSelector": {"dsw/gpu-type": "a100-mig"},
            "tolerations": [{"key": "dsw/mig", "operator": "Exists", "effect": "NoSchedule"},
                            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}


def spec(**changes):
    data = {"workspace_id": 12, "generation": 1, "owner": "alice", "team": "data-science", "profile": "Small", "server_name": "ws-12",
            "cpu": 1.5, "memory_bytes": 4 * 2**30, "gpus": 0, "gpu_type": "", "disk_bytes": 20 * 2**30,
            "environment": {"kind": "local", "python": "/usr/bin/python3"}, "env": {}, "idle_timeout_seconds": 0}
    data.update(changes)
    return LaunchSpec.from_dict(data)


def test_requests_equal_limits():
    assert objects.resource_settings(spec()) == {
        "cpu_guarantee": 1.5, "cpu_limit": 1.5, "mem_guarantee": 4 * 2**30, "mem_limit": 4 * 2**30}


def test_cost_labels_and_annotations():
    assert objects.cost_labels(spec()) == {
        "dsw/workspace": "12", "dsw/owner": "alice", "dsw/team": "data-science", "dsw/profile": "Small"}
    assert objects.cost_annotations(spec()) == {
        "dsw/owner": "alice", "dsw/team": "data-science", "dsw/profile": "Small",
        "dsw/resources": f"1.5 CPU, {4 * 2**30} bytes memory, {20 * 2**30} bytes disk"}


def test_names_that_are_not_label_values_are_slugged_and_kept_exactly_in_annotations():
    s = spec(owner="al ice@example.org", profile="GPU (large)", team="x" * 70)
    labels = objects.cost_labels(s)
    for value in labels.values():
        assert len(value) <= 63 and value.replace("-", "").replace(".", "").replace("_", "").isalnum()
    assert labels["dsw/owner"] != objects.cost_labels(spec(owner="al ice@example.org2"))["dsw/owner"]
    assert objects.cost_annotations(s)["dsw/owner"] == "al ice@example.org"


def test_no_gpu_asks_for_nothing():
    assert objects.gpu_placement(spec(), {"h100": H100_POOL}) == {"resources": {}, "node_selector": {}, "tolerations": []}


def test_a_gpu_type_lands_on_its_pool():
    assert objects.gpu_placement(spec(gpus=2, gpu_type="h100"), {"h100": H100_POOL, "a100-mig": MIG_POOL}) == {
        "resources": {"nvidia.com/gpu": "2"},
        "node_selector": {"dsw/gpu-type": "h100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    assert objects.gpu_placement(spec(gpus=1, gpu_type="a100-mig"), {"a100-mig": MIG_POOL})["resources"] == {
        "nvidia.com/mig-1g.10gb": "1"}


def test_any_gpu_type_tolerates_every_pool_and_selects_none():
    assert objects.gpu_placement(spec(gpus=1), {"h100": H100_POOL, "a100-mig": MIG_POOL}) == {
        "resources": {"nvidia.com/gpu": "1"},
        "node_selector": {},
        "tolerations": [{"key": "dsw/mig", "operator": "Exists", "effect": "NoSchedule"},
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }


def test_an_unknown_gpu_type_is_refused_naming_the_configured_ones():
    with pytest.raises(objects.GpuTypeUnknown, match=r"needs 1 × b200 GPU, and this cluster has no b200 node pool "
                                                     r"\(configured GPU types: a100-mig, h100\)"):
        objects.gpu_placement(spec(gpus=1, gpu_type="b200"), {"h100": H100_POOL, "a100-mig": MIG_POOL})


def test_hardened_security_contexts():
    assert objects.security_contexts(uid=1000, gid=100) == {
        "pod": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100,
                "seccompProfile": {"type": "RuntimeDefault"}},
        "container": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "allowPrivilegeEscalation": False,
                      "privileged": False, "capabilities": {"drop": ["ALL"]},
                      "seccompProfile": {"type": "RuntimeDefault"}, "readOnlyRootFilesystem": True},
    }


def test_home_volume_and_storage_capacity():
    assert objects.home_volume("claim-alice--ws-12") == (
        {"name": "home", "persistentVolumeClaim": {"claimName": "claim-alice--ws-12"}},
        {"name": "home", "mountPath": "/home/jovyan"})
    assert objects.scratch_volume() == ({"name": "tmp", "emptyDir": {}}, {"name": "tmp", "mountPath": "/tmp"})
    assert objects.storage_capacity(spec(), "10Gi") == str(20 * 2**30)
    assert objects.storage_capacity(spec(disk_bytes=0), "10Gi") == "10Gi"


def test_team_namespace_and_quota():
    assert objects.team_namespace("dsw-team-research", "research") == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "dsw-team-research",
                     "labels": {"dsw/team": "research", "pod-security.kubernetes.io/enforce": "restricted"},
                     "annotations": {"dsw/team": "research"}}}
    assert objects.team_resource_quota("dsw-team-research", {"requests.cpu": 32, "requests.nvidia.com/gpu": "4"}) == {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "workspaces", "namespace": "dsw-team-research"},
        "spec": {"hard": {"requests.cpu": "32", "requests.nvidia.com/gpu": "4"}}}


GPU_SHORT = "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't match Pod's node affinity/selector."


@pytest.mark.parametrize("event, s, message", [
    ({"reason": "FailedScheduling", "message": GPU_SHORT}, spec(gpus=1, gpu_type="h100"),
     "Waiting for 1 × h100 GPU: every GPU node that fits is in use. The workspace starts as soon as one is free, "
     f"or stop it and try a smaller profile ({GPU_SHORT})"),
    ({"reason": "FailedScheduling", "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."},
     spec(gpus=2, gpu_type="h100"),
     "No node offers 2 × h100 GPUs right now (the GPU pool may be scaled to zero) "
     "(0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.)"),
    ({"reason": "FailedScheduling", "message": "0/2 nodes are available: 2 Insufficient memory."}, spec(),
     "Waiting for a node with 1.5 CPU and 4.0 GiB memory free: the cluster is full right now "
     "(0/2 nodes are available: 2 Insufficient memory.)"),
    ({"reason": "Scheduled", "message": "Successfully assigned ns/jupyter-alice--ws-12 to gpu-node-0"}, spec(),
     "Placed on node gpu-node-0"),
    ({"reason": "Pulling", "message": "Pulling image \"r/lab@sha256:…\""}, spec(),
     "Pulling the workspace image (the first start on a node can take a few minutes)"),
    ({"reason": "Failed", "message": "Failed to pull image \"r/lab@sha256:…\": not found"}, spec(),
     "The workspace image cannot be pulled: Failed to pull image \"r/lab@sha256:…\": not found"),
    ({"reason": "Started", "message": "Started container notebook"}, spec(), "Started container notebook"),
])
def test_pod_events_become_messages_people_understand(event, s, message):
    assert objects.describe_pod_event(event, s) == message


def test_a_pool_with_its_own_resource_counts_as_a_gpu_shortage():
    text = "0/1 nodes are available: 1 Insufficient nvidia.com/mig-1g.10gb."
    assert objects.pending_reason(text, spec(gpus=1, gpu_type="a100-mig"),
                                  gpu_resources={"nvidia.com/gpu", "nvidia.com/mig-1g.10gb"}).startswith(
        "Waiting for 1 × a100-mig GPU: every GPU node that fits is in use")

"""A real control plane for the test session (one per test worker): etcd, kube-apiserver, kube-scheduler,
kwok nodes (two CPU nodes and an H100 pool of one node with two GPUs), and the process kubelet."""

import sys
from pathlib import Path

import pytest

from tests.kube.cluster import Cluster
from tests.kube.kubelet import ProcessKubelet

CPU_NODES = ["cpu-0", "cpu-1"]
GPU_NODES = ["gpu-h100-0"]
GPUS_PER_NODE = 2


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.start()
        for name in CPU_NODES:
            running.add_node(name, cpu="8", memory="32Gi")
        for name in GPU_NODES:
            running.add_node(name, cpu="16", memory="64Gi", gpus=GPUS_PER_NODE, gpu_type="h100")
        running.wait_nodes_ready(CPU_NODES + GPU_NODES)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def kubelet(cluster, tmp_path_factory):
    running = ProcessKubelet(cluster, tmp_path_factory.mktemp("kubelet"), bin_dir=Path(sys.executable).parent).start()
    yield running
    running.stop()


WORKSPACES_NAMESPACE = "workspaces"
SINGLEUSER_IMAGE = "registry.example.org/dsw-singleuser@sha256:" + "5" * 64


def apply_rendered(cluster, docs, namespace):
    paths = {"ServiceAccount": f"/api/v1/namespaces/{namespace}/serviceaccounts",
             "Role": f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
             "RoleBinding": f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
             "NetworkPolicy": f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"}
    for doc in docs:
        cluster.apply(doc, path=paths[doc["kind"]])


def hub_account_kubeconfig(cluster, path):
    """The chart's hub ServiceAccount, Role and workspace NetworkPolicy (rendered by helm) applied to the workspaces
    namespace; returns a kubeconfig that acts as that ServiceAccount. Idempotent."""
    import yaml

    from tests.kube.tools import CHART, KUBE_VERSION, helm

    cluster.ensure_namespace(WORKSPACES_NAMESPACE)
    rendered = helm("template", "dsw", str(CHART), "--namespace", WORKSPACES_NAMESPACE, "--kube-version", KUBE_VERSION,
                    "--show-only", "templates/hub/serviceaccount.yaml", "--show-only", "templates/hub/rbac.yaml",
                    "--show-only", "templates/workspaces/networkpolicy.yaml").stdout
    apply_rendered(cluster, [d for d in yaml.safe_load_all(rendered) if d], WORKSPACES_NAMESPACE)
    return cluster.kubeconfig_for(path, cluster.token_for(WORKSPACES_NAMESPACE, "dsw-hub"), WORKSPACES_NAMESPACE)


@pytest.fixture(scope="module")
def kube_hub(cluster, kubelet, live_server, tmp_path_factory):
    """A real JupyterHub + proxy whose PortalKubeSpawner launches workspaces into the test cluster, acting as the
    chart's hub ServiceAccount with the chart's own Role (rendered by helm), in front of the live portal."""
    import json

    from django.conf import settings

    from tests.conftest import free_ports
    from tests.hub import start_hub, stop_hub
    from tests.kube.cluster import GPU_POOL

    data_dir = tmp_path_factory.mktemp("kube-hub")
    kubeconfig = hub_account_kubeconfig(cluster, data_dir / "hub.kubeconfig")
    public_port, hub_port, proxy_api_port = free_ports(3)
    saved = settings.PLATFORM_PUBLIC_URL, settings.PLATFORM_HUB_API_URL, settings.PLATFORM_WORKSPACE_SUBDOMAINS
    settings.PLATFORM_PUBLIC_URL = f"http://127.0.0.1:{public_port}"
    settings.PLATFORM_HUB_API_URL = f"http://127.0.0.1:{hub_port}/hub/api"
    settings.PLATFORM_WORKSPACE_SUBDOMAINS = False  # as the chart runs it (docs/operations/kubernetes.md)
    extra_env = {"PLATFORM_SPAWNER": "kubernetes", "KUBECONFIG": str(kubeconfig),
                 "PLATFORM_KUBE_NAMESPACE": WORKSPACES_NAMESPACE, "PLATFORM_KUBE_IMAGE": SINGLEUSER_IMAGE,
                 "PLATFORM_KUBE_IMAGE_PULL_SECRETS": "platform-registry",
                 "PLATFORM_KUBE_GPU_TYPES": json.dumps(GPU_POOL), "PLATFORM_KUBE_STORAGE_CLASS": "",
                 "PLATFORM_KUBE_POD_LABELS": json.dumps({"app.kubernetes.io/instance": "dsw"})}
    running = start_hub(data_dir=data_dir, portal_url=live_server.url, public_port=public_port, hub_port=hub_port,
                        proxy_api_port=proxy_api_port, extra_env=extra_env)
    try:
        yield running
    finally:
        stop_hub(running)
        settings.PLATFORM_PUBLIC_URL, settings.PLATFORM_HUB_API_URL, settings.PLATFORM_WORKSPACE_SUBDOMAINS = saved

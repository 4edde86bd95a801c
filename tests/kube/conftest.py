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

"""tests/kube/cluster.py's control plane with what a real node (tests/kube/realnode/node.py) needs on top, without
changing the shared fixture: the API server reaches kubelets by InternalIP (node names do not resolve on the
test machines, so `pods/log` and `exec` would fail with "lookup <node>: no such host"), and the controllers the
process kubelet does without: the PV binder (local PersistentVolumes) and the EndpointSlice controller (real pod
IPs, unlike the process kubelet's loopback ones, are accepted in EndpointSlices).

The API server listens on `address`, the host's end of the node's veth pair (RealNode.host_ip): the node's
processes live in their own network namespace and reach the host only there, and so do pods, through the
`kubernetes` Service whose endpoint the API server now keeps itself (the lease reconciler: its own address)."""

from tests.kube.cluster import Cluster, free_port
from tests.kube.tools import tool

NODE_CONTROLLERS = ["persistentvolume-binder-controller", "endpointslice-controller"]


class RealNodeCluster(Cluster):
    def __init__(self, root, *, address, controllers=False):
        super().__init__(root, controllers=controllers)
        self.address = address
        self.url = f"https://{address}:{self.port}"

    def _spawn(self, name, argv):
        if name == "kube-apiserver":
            replaced = {"--bind-address=127.0.0.1": f"--bind-address={self.address}",
                        "--advertise-address=127.0.0.1": f"--advertise-address={self.address}",
                        "--endpoint-reconciler-type=none": "--endpoint-reconciler-type=lease"}
            argv = [replaced.get(arg, arg) for arg in argv] + ["--kubelet-preferred-address-types=InternalIP,Hostname"]
        super()._spawn(name, argv)

    def start(self):
        super().start()
        self._spawn("kube-controller-manager-node", [
            tool("kube-controller-manager"), f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}", f"--controllers={','.join(NODE_CONTROLLERS)}",
            "-v=1"])
        return self

"""tests/kube/cluster.py's control plane with what a real node (tests/kube/realnode/node.py) needs on top, without
changing the shared fixture: the API server reaches kubelets by InternalIP (node names do not resolve on the
test machines, so `pods/log` and `exec` would fail with "lookup <node>: no such host"), and the controllers the
process kubelet does without: the PV binder (local PersistentVolumes) and the EndpointSlice controller (real pod
IPs, unlike the process kubelet's loopback ones, are accepted in EndpointSlices)."""

from tests.kube.cluster import Cluster, free_port
from tests.kube.tools import tool

NODE_CONTROLLERS = ["persistentvolume-binder-controller", "endpointslice-controller"]


class RealNodeCluster(Cluster):
    def _spawn(self, name, argv):
        if name == "kube-apiserver":
            argv = [*argv, "--kubelet-preferred-address-types=InternalIP,Hostname"]
        super()._spawn(name, argv)

    def start(self):
        super().start()
        self._spawn("kube-controller-manager-node", [
            tool("kube-controller-manager"), f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}", f"--controllers={','.join(NODE_CONTROLLERS)}",
            "-v=1"])
        return self

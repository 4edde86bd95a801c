"""What a chart needs from a cluster beyond a kubelet: Services (kube-proxy) and names (CoreDNS), both as processes
of a RealNode inside its network namespace (scripts/kube-node.sh builds them).

kube-proxy runs in iptables mode: its chains are written into the node's own namespace, so the host's tables are
never touched and two nodes never share a chain; they go when the namespace is deleted (RealNode.stop). It
masquerades all Service traffic: a pod reaching a Service whose endpoint is on the same bridge would otherwise get
the reply straight from the endpoint's address (the bridge does not pass frames through iptables unless the
host-wide br_netfilter module says so).

CoreDNS answers cluster.local on the node IP, port 53 of the namespace (the host's port 53 stays free); the kubelet
points pods there (RealNode(cluster_dns=True) sets clusterDNS). Other names are not forwarded: nothing in the
tests needs the internet."""

import json
import time

import requests

from tests.kube.cluster import free_port


def start_kube_proxy(node, cluster):
    healthz = free_port()
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(cluster.kubeconfig)},
        "hostnameOverride": node.name, "bindAddress": node.node_ip,
        # The namespace's own loopback: unreachable from the host, so any port is free there.
        "healthzBindAddress": f"{node.node_ip}:{healthz}", "metricsBindAddress": "127.0.0.1:10249",
        "mode": "iptables", "clusterCIDR": str(node.pod_subnet), "detectLocalMode": "ClusterCIDR",
        "iptables": {"masqueradeAll": True, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        "nodePortAddresses": [f"{node.node_ip}/32"],
        # 0: leave the kernel's conntrack table size and timeouts as they are (they are host-wide).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    path = node.root / "kube-proxy.json"
    path.write_text(json.dumps(config, indent=1))
    node._spawn("kube-proxy", [node.tool("kube-proxy"), f"--config={path}", "-v=1"], netns=True)
    _wait_http(node, "kube-proxy", f"http://{node.node_ip}:{healthz}/healthz")


def start_coredns(node, cluster):
    ready = free_port()
    (node.root / "Corefile").write_text(f"""\
.:53 {{
    bind {node.node_ip}
    errors
    ready {node.node_ip}:{ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {cluster.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 5
}}
""")
    node._spawn("coredns", [node.tool("coredns"), "-conf", str(node.root / "Corefile")], netns=True)
    _wait_http(node, "coredns", f"http://{node.node_ip}:{ready}/ready")


def _wait_http(node, name, url, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        node._check_alive(name)
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} never became ready:\n{node.log(name)}")
        time.sleep(0.3)

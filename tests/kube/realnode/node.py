"""A real test node: Debian's containerd 1.6 + runc + CNI plugins, and a kubelet built by scripts/kube-node.sh,
started hermetically so that several can run on one machine beside a `make run` (needs root).
tests/kube/realnode/README.md has the versions, the machine-specific fixes and timings.

Per instance, all under `root` (keep it short: unix socket paths are limited to 107 bytes):
  network     its own network namespace (dsw<id>) joined to the host by a veth pair (host side dsw<id>h, the
              address `host_ip`, where the node reaches the API server and other host services): containerd,
              kubelet, kube-proxy and CoreDNS run inside it, so kube-proxy's iptables chains, the pods' bridge,
              forwarding and port 53 are this node's alone and vanish with the namespace; the host only gains a
              route to the node's /24 over the veth
  CNI         a bridge (dsw<id>, inside the namespace), a free /24 and host-local IPAM data dir; the bridge's
              gateway address is the node IP (the kubelet refuses a loopback one)
  kubelet     own root dir, cert dir, pod log dir, static pod dir, cgroup root (/dsw-node-<id> in every
              v1 hierarchy), random ports on the node IP; registers with a NoSchedule taint so that only
              pods that tolerate it land here
  volumes     pre-provisioned `local` PersistentVolumes (provision_volumes) and rancher's
              local-path-provisioner as a host process (start_local_path_provisioner)

Outside `root`, not configurable in containerd 1.6: shim sockets under /run/containerd/s/ (named by a
hash of this instance's socket address, so instances do not collide) and pod network namespaces
/run/netns/cni-<uuid>. The kubelet sets vm.overcommit_memory=1, kernel.panic=10 and
kernel.panic_on_oops=1 (protectKernelDefaults=false); stop() puts back the values it found.

    python -m tests.kube.realnode.node up /tmp/rn      # standalone: containerd + kubelet with a static pod dir
    python -m tests.kube.realnode.node down /tmp/rn
"""

import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.kube.realnode.images import BUSYBOX_IMAGE, PAUSE_IMAGE, busybox_archive, pause_archive

REPO = Path(__file__).resolve().parents[3]
TAINT = {"key": "dsw/real-node", "value": "true", "effect": "NoSchedule"}
TOLERATION = {"key": "dsw/real-node", "operator": "Exists", "effect": "NoSchedule"}
CGROUP_V1 = Path("/sys/fs/cgroup")
# What the kubelet sets on the host when protectKernelDefaults is false (it cannot be told not to).
KUBELET_SYSCTLS = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"]


def node_bin_dir():
    result = subprocess.run(["bash", str(REPO / "scripts" / "kube-node.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/kube-node.sh failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_subnet():
    """A 10.<a>.<b>.0/24 no route on this machine overlaps (the bridge and pods get addresses in it)."""
    routes = subprocess.run(["ip", "-j", "route"], capture_output=True, text=True, check=True).stdout
    taken = [ipaddress.ip_network(r["dst"]) for r in json.loads(routes) if r.get("dst") not in (None, "default")]
    for _ in range(200):
        candidate = ipaddress.ip_network(f"10.{secrets.randbelow(56) + 200}.{secrets.randbelow(256)}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError("no free 10.x/24 subnet")


class RealNode:
    def __init__(self, root, *, bin_dir=None, name=None, taint=True, cluster_dns=False):
        self.root = Path(root).resolve()
        state_file = self.root / "node.json"
        if state_file.exists():  # re-attach (for `down`)
            saved = json.loads(state_file.read_text())
            self.id, self.subnet = saved["id"], ipaddress.ip_network(saved["subnet"])
        else:
            self.id, self.subnet = secrets.token_hex(3), free_subnet()
        self.bin_dir = Path(bin_dir) if bin_dir else None
        self.name = name or f"real-node-{self.id}"
        self.taint = taint              # False: any pod may land here (e.g. a chart that knows no toleration)
        self.cluster_dns = cluster_dns  # True: pods resolve through CoreDNS on the node IP (addons.start_coredns)
        self.bridge = f"dsw{self.id}"            # <= 15 characters; inside the namespace
        self.netns = f"dsw{self.id}"
        self.host_link = f"dsw{self.id}h"        # the host's end of the veth pair
        self.cgroup_root = f"/dsw-node-{self.id}"
        self.containerd_dir = self.root / "ctd"
        self.socket = self.containerd_dir / "containerd.sock"
        self.cni_conf_dir = self.root / "cni" / "net.d"
        self.kubelet_dir = self.root / "kubelet"
        self.manifests = self.root / "manifests"
        self.volumes = self.root / "volumes"
        self.gateway = str(next(self.subnet.hosts()))
        self.node_ip = self.gateway     # the kubelet refuses a loopback node IP; the bridge's address is ours alone
        # The bridge and pods get the lower half of the /24; the veth pair's two ends take the top, outside the
        # pods' on-link range (else a pod would look for the host's address on the bridge): the host's end is where
        # pods and the node's processes reach the host (API server, databases); the namespace's end is the host's
        # next hop to the node.
        self.pod_subnet = next(self.subnet.subnets(prefixlen_diff=1))
        self.host_ip, self.netns_ip = str(self.subnet[254]), str(self.subnet[253])
        self.processes = {}
        self.timings = {}

    # --- tools ----------------------------------------------------------------------------------

    def tool(self, name):
        if self.bin_dir is None:
            self.bin_dir = node_bin_dir()
        return str(self.bin_dir / name)

    def ctr(self, *args, check=True):
        return subprocess.run(["ctr", "--address", str(self.socket), "-n", "k8s.io", *args],
                              capture_output=True, text=True, check=check)

    def crictl(self, *args, check=True):
        result = subprocess.run([self.tool("crictl"), "--runtime-endpoint", f"unix://{self.socket}",
                                 "--image-endpoint", f"unix://{self.socket}", "--timeout", "30s", *args],
                                capture_output=True, text=True, env={**os.environ, "CRI_CONFIG_FILE": "/dev/null"})
        if check and result.returncode != 0:
            raise AssertionError(f"crictl {' '.join(args)}: {result.stdout}\n{result.stderr}")
        return result

    # --- containerd -----------------------------------------------------------------------------

    def containerd_config(self):
        d = self.containerd_dir
        return f"""\
version = 2
root = "{d}/root"
state = "{d}/state"
plugin_dir = ""
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[debug]
  address = "{d}/debug.sock"
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine lacks CAP_SYS_RESOURCE: negative oom_score_adj (the sandbox gets -998) is refused
  # ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied"). Clamp to containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "{d}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{self.cni_conf_dir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"""

    def cni_config(self):
        hosts = list(self.subnet.hosts())
        return {
            "cniVersion": "0.4.0", "name": f"dsw-{self.id}",
            "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False,
                 "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": str(self.root / "cni" / "ipam"),
                          "ranges": [[{"subnet": str(self.pod_subnet), "gateway": str(hosts[0])}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}}]}

    def create_network(self):
        """The node's network namespace, its bridge and the veth pair to the host, up front (before the API
        server starts: it listens on `host_ip`). The CNI bridge plugin adopts the bridge; its gateway address is
        the node IP the kubelet registers and listens on, reachable from the host (a route over the veth) and
        from pods. Idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "node.json").write_text(json.dumps({"id": self.id, "subnet": str(self.subnet)}))
        if Path(f"/run/netns/{self.netns}").exists():
            return
        inside = ["ip", "-n", self.netns]
        steps = [
            ["ip", "netns", "add", self.netns],
            [*inside, "link", "set", "lo", "up"],
            [*inside, "link", "add", self.bridge, "type", "bridge"],
            [*inside, "addr", "add", f"{self.gateway}/{self.pod_subnet.prefixlen}", "dev", self.bridge],
            [*inside, "link", "set", self.bridge, "up"],
            ["ip", "link", "add", self.host_link, "type", "veth", "peer", "name", "uplink", "netns", self.netns],
            ["ip", "addr", "add", f"{self.host_ip}/32", "dev", self.host_link],
            ["ip", "link", "set", self.host_link, "up"],
            ["ip", "route", "add", f"{self.netns_ip}/32", "dev", self.host_link],
            ["ip", "route", "add", str(self.subnet), "via", self.netns_ip, "dev", self.host_link],
            [*inside, "addr", "add", f"{self.netns_ip}/32", "dev", "uplink"],
            [*inside, "link", "set", "uplink", "up"],
            [*inside, "route", "add", f"{self.host_ip}/32", "dev", "uplink"],
            # Forwarding between the bridge and the uplink (pods -> host services, host -> pods) inside the
            # namespace only: the host's own sysctl is not touched.
            ["ip", "netns", "exec", self.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(step)}: {result.stderr}")

    def start_containerd(self):
        started = time.monotonic()
        for path in (self.containerd_dir, self.cni_conf_dir, self.manifests, self.volumes):
            path.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)   # tempfile.mkdtemp makes it 0700; the kubelet's pod directories live below
        self.create_network()
        (self.containerd_dir / "config.toml").write_text(self.containerd_config())
        (self.cni_conf_dir / "10-dsw.conflist").write_text(json.dumps(self.cni_config(), indent=1))
        self._spawn("containerd", ["containerd", "--config", str(self.containerd_dir / "config.toml")], netns=True)
        deadline = time.monotonic() + 60
        while self.ctr("version", check=False).returncode != 0:
            self._check_alive("containerd")
            if time.monotonic() > deadline:
                raise RuntimeError(f"containerd never answered:\n{self.log('containerd')}")
            time.sleep(0.2)
        self.timings["containerd_start_s"] = round(time.monotonic() - started, 2)

    def import_images(self):
        started = time.monotonic()
        images = self.root / "images"
        images.mkdir(exist_ok=True)
        pause_archive(images / "pause.tar", self.tool("dsw-pause"))
        busybox_archive(images / "busybox.tar")
        for archive in ("pause.tar", "busybox.tar"):
            result = self.ctr("images", "import", "--no-unpack", str(images / archive), check=False)
            if result.returncode != 0:
                raise RuntimeError(f"ctr images import {archive}: {result.stderr}")
        # The CRI plugin unpacks for its snapshotter on first use; label the sandbox image pinned so
        # neither the kubelet's image GC nor `crictl rmi --prune` removes it.
        self.ctr("images", "label", PAUSE_IMAGE, "io.cri-containerd.pinned=pinned", check=False)
        self.timings["image_import_s"] = round(time.monotonic() - started, 2)

    # --- kubelet --------------------------------------------------------------------------------

    def prepare_cgroups(self):
        """The kubelet's cgroupRoot must exist in every v1 hierarchy; cpuset needs cpus/mems set."""
        for hierarchy in sorted(CGROUP_V1.iterdir()):
            if hierarchy.name == "unified" or not (hierarchy / "cgroup.procs").exists():
                continue
            path = hierarchy / self.cgroup_root.lstrip("/")
            path.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    (path / knob).write_text((hierarchy / knob).read_text())

    def kubelet_config(self, *, registered):
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False,                   # this machine has v1 hierarchies (kubelet >= 1.35 refuses them)
            "cgroupDriver": "cgroupfs",              # containerd 1.6 cannot tell (no RuntimeConfig RPC)
            "cgroupRoot": self.cgroup_root, "cgroupsPerQOS": True,
            "containerRuntimeEndpoint": f"unix://{self.socket}", "imageServiceEndpoint": f"unix://{self.socket}",
            "staticPodPath": str(self.manifests), "fileCheckFrequency": "2s",
            "podLogsDir": str(self.root / "pod-logs"),
            "volumePluginDir": str(self.root / "volume-plugins"),
            "address": self.node_ip, "port": self.kubelet_port, "readOnlyPort": 0,
            "healthzBindAddress": self.node_ip, "healthzPort": self.healthz_port,   # the namespace's loopback is its own
            # On the node's own bridge address only; the API server reaches it for logs/exec without a client certificate.
            "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "failSwapOn": False,
            # true would make the kubelet refuse to start unless the host already has vm.overcommit_memory=1,
            # kernel.panic=10, kernel.panic_on_oops=1; false makes it set them (stop() restores the old values).
            "protectKernelDefaults": False,
            # Else it adds KUBE-FIREWALL (dropping non-loopback-sourced packets to 127/8) to INPUT and OUTPUT and
            # canary chains to the host's iptables, and re-adds them every minute: not ours to change on a shared host.
            "makeIPTablesUtilChains": False,
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,   # keep imported images
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "registerNode": registered, "registerWithTaints": [TAINT] if registered and self.taint else [],
            "nodeStatusUpdateFrequency": "5s", "syncFrequency": "10s",
            "serializeImagePulls": False, "resolvConf": "/etc/resolv.conf",
            "clusterDomain": "cluster.local", "clusterDNS": [self.node_ip] if self.cluster_dns else [],
            "rotateCertificates": False, "serverTLSBootstrap": False, "enableDebuggingHandlers": True,
        }

    def start_kubelet(self, cluster=None):
        """Standalone (static pods from root/manifests) without `cluster`; else registered to its API server."""
        started = time.monotonic()
        self.prepare_cgroups()
        saved = json.loads((self.root / "node.json").read_text())
        saved["sysctls"] = {name: _sysctl(name) for name in KUBELET_SYSCTLS}
        (self.root / "node.json").write_text(json.dumps(saved))
        self.kubelet_port, self.healthz_port = free_port(), free_port()
        self.kubelet_dir.mkdir(parents=True, exist_ok=True)
        config = self.root / "kubelet.json"
        config.write_text(json.dumps(self.kubelet_config(registered=cluster is not None), indent=1))
        argv = [self.tool("kubelet"), f"--config={config}", f"--root-dir={self.kubelet_dir}",
                f"--cert-dir={self.root / 'kubelet-pki'}", f"--hostname-override={self.name}",
                f"--node-ip={self.node_ip}", "-v=1"]
        if cluster is not None:
            argv.append(f"--kubeconfig={cluster.kubeconfig}")
        self._spawn("kubelet", argv, netns=True)
        deadline = time.monotonic() + 120
        while True:
            self._check_alive("kubelet")
            try:
                with socket.create_connection((self.node_ip, self.healthz_port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b"200 OK" in s.recv(200):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"kubelet never became healthy:\n{self.log('kubelet')}")
            time.sleep(0.3)
        self.timings["kubelet_start_s"] = round(time.monotonic() - started, 2)

    # --- local volumes ("local-path provisioner") ----------------------------------------------

    def provision_volumes(self, cluster, count=4, size="10Gi", storage_class="dsw-local"):
        """A StorageClass with WaitForFirstConsumer and `count` local PersistentVolumes on this node, each a
        directory under root/volumes (what rancher's local-path-provisioner would create on demand; a
        pre-provisioned pool needs no controller). Binding needs kube-controller-manager's PV binder
        (persistentvolume-binder-controller): tests/kube/cluster.py leaves it out, RealNodeCluster runs it."""
        cluster.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                       "metadata": {"name": storage_class}, "provisioner": "kubernetes.io/no-provisioner",
                       "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Retain"},
                      path="/apis/storage.k8s.io/v1/storageclasses")
        for index in range(count):
            directory = self.volumes / f"pv-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o777)
            cluster.apply({"apiVersion": "v1", "kind": "PersistentVolume",
                           "metadata": {"name": f"{self.name}-pv-{index}"},
                           "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                                    "persistentVolumeReclaimPolicy": "Retain", "storageClassName": storage_class,
                                    "local": {"path": str(directory)},
                                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                        {"key": "kubernetes.io/hostname", "operator": "In",
                                         "values": [self.name]}]}]}}}},
                          path="/api/v1/persistentvolumes")

    def start_local_path_provisioner(self, cluster, storage_class="local-path", namespace="local-path-storage"):
        """Dynamic provisioning: rancher's local-path-provisioner (scripts/kube-node.sh builds it) as a host process.
        A claim of `storage_class` gets a hostPath PersistentVolume in a new directory under root/local-path, made
        by a helper pod (the local busybox image) that the provisioner runs on this node."""
        provisioner = f"dsw.local/path-{self.id}"
        base = self.root / "local-path"
        base.mkdir(exist_ok=True)
        cluster.ensure_namespace(namespace)
        cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "local-path-provisioner"}},
                      path=f"/api/v1/namespaces/{namespace}/serviceaccounts")
        helper_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "helper-pod"},
                      "spec": {"automountServiceAccountToken": False,
                               "containers": [{"name": "helper-pod", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never"}]}}
        config = {"nodePathMap": [{"node": self.name, "paths": [str(base)]}]}
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"local-path-config-{self.id}"},
                       "data": {"config.json": json.dumps(config), "helperPod.yaml": json.dumps(helper_pod),
                                "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
                                "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n'}},
                      path=f"/api/v1/namespaces/{namespace}/configmaps")
        cluster.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": storage_class},
                       "provisioner": provisioner, "volumeBindingMode": "WaitForFirstConsumer",
                       "reclaimPolicy": "Delete"}, path="/apis/storage.k8s.io/v1/storageclasses")
        (self.root / "local-path.json").write_text(json.dumps(config))
        (self.root / "helper-pod.json").write_text(json.dumps(helper_pod))
        self._spawn("local-path-provisioner", [
            self.tool("local-path-provisioner"), "start", f"--kubeconfig={cluster.kubeconfig}",
            f"--config={self.root / 'local-path.json'}", f"--helper-pod-file={self.root / 'helper-pod.json'}",
            f"--provisioner-name={provisioner}", f"--namespace={namespace}", f"--helper-image={BUSYBOX_IMAGE}",
            f"--configmap-name=local-path-config-{self.id}", "--service-account-name=local-path-provisioner"])

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, cluster=None):
        self.start_containerd()
        self.import_images()
        self.start_kubelet(cluster)
        return self

    def stop(self):
        """Everything this instance started or created, in reverse: kubelet, pods (through CRI so that CNI
        tears their networks down), containerd, its shims, mounts, the bridge, cgroups, the directory."""
        for name in ("local-path-provisioner", "coredns", "kube-proxy", "kubelet"):
            self._kill(name)
        if self.socket.exists() and self.ctr("version", check=False).returncode == 0 and self._has_crictl():
            pods = self._pod_ids()
            if pods:
                self.crictl("stopp", *pods, check=False)
                self.crictl("rmp", "-af", check=False)
        self._kill("containerd")
        for pid in self._shim_pids():
            _signal(pid, signal.SIGKILL)
        time.sleep(0.5)
        for pid in self._pids_in_cgroup():      # containers left behind by a killed shim
            _signal(pid, signal.SIGKILL)
        self._unmount_all()
        # The namespace takes the bridge, its end of the veth pair (and so the host's end and route) and every
        # iptables chain kube-proxy wrote with it.
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
        subprocess.run(["ip", "link", "delete", self.host_link], capture_output=True)
        self._remove_cgroups()
        state_file = self.root / "node.json"
        if state_file.exists():
            for name, value in json.loads(state_file.read_text()).get("sysctls", {}).items():
                _sysctl(name, value)
        shutil.rmtree(self.root, ignore_errors=True)

    def _has_crictl(self):
        try:
            self.tool("crictl")
            return True
        except RuntimeError:
            return False

    def _pod_ids(self):
        return self.crictl("pods", "-q", check=False).stdout.split()

    def _shim_pids(self):
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(self.socket).encode() in argv:
                pids.append(int(entry.name))
        return pids

    def _pids_in_cgroup(self):
        pids = set()
        base = CGROUP_V1 / "pids" / self.cgroup_root.lstrip("/")
        if base.exists():
            for procs in base.rglob("cgroup.procs"):
                pids.update(int(p) for p in procs.read_text().split())
        return pids

    def _unmount_all(self):
        prefixes = (str(self.root) + "/",)
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for mount in reversed(mounts):
            if mount.startswith(prefixes):
                subprocess.run(["umount", "-l", mount], capture_output=True)

    def _remove_cgroups(self):
        for hierarchy in CGROUP_V1.iterdir():
            path = hierarchy / self.cgroup_root.lstrip("/")
            if path.is_dir():
                for directory in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                    _rmdir(directory)
                _rmdir(path)

    def _spawn(self, name, argv, *, netns=False):
        """A process of this node; `netns`: inside the node's network namespace (nsenter switches only the network
        namespace: mounts the kubelet and containerd make stay visible on the host)."""
        if netns:
            argv = ["nsenter", f"--net=/run/netns/{self.netns}", "--", *argv]
        log = (self.root / f"{name}.log").open("w")
        # umask 022: the portal's settings set 077 for the test process, and containerd would then unpack image
        # layers into 0700 directories that a non-root container cannot traverse ("stat /bin/sh: permission denied").
        self.processes[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                                start_new_session=True, umask=0o022)
        (self.root / f"{name}.pid").write_text(str(self.processes[name].pid))

    def _kill(self, name, grace=15):
        process = self.processes.get(name)
        pid = process.pid if process else None
        pid_file = self.root / f"{name}.pid"
        if pid is None and pid_file.exists():
            pid = int(pid_file.read_text())
        if pid is None:
            return
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid, process):
            time.sleep(0.1)
        if _alive(pid, process):
            _signal(pid, signal.SIGKILL)
        if process:
            process.wait(5)

    def _check_alive(self, name):
        if self.processes[name].poll() is not None:
            raise RuntimeError(f"{name} exited:\n{self.log(name)}")

    def log(self, name):
        return (self.root / f"{name}.log").read_text(errors="replace")[-6000:]


def _alive(pid, process):
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except (ProcessLookupError, FileNotFoundError):
        return False


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _sysctl(name, value=None):
    path = Path("/proc/sys") / name
    if value is None:
        return path.read_text().strip()
    try:
        path.write_text(value)
    except OSError:
        pass


def _rmdir(path):
    try:
        path.rmdir()
    except OSError:
        pass


def main():
    command, root = sys.argv[1], sys.argv[2]
    node = RealNode(root)
    if command == "up":
        node.start()
        print(json.dumps({"root": str(node.root), "socket": str(node.socket), "name": node.name,
                          "subnet": str(node.subnet), "bridge": node.bridge, "timings": node.timings}))
    elif command == "down":
        node.stop()


if __name__ == "__main__":
    main()

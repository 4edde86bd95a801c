#!/usr/bin/env bash
# Build the tools for a REAL test node once and cache them next to scripts/kube-tools.sh's:
#   kubelet   built from the Kubernetes Go modules through a wrapper module (same technique and
#             version as kube-apiserver in kube-tools.sh; k8s.io/kubernetes cannot be `go install`ed)
#   crictl    `go install sigs.k8s.io/cri-tools/cmd/crictl` at a pinned tag (Debian 12 has no cri-tools)
#   local-path-provisioner  rancher's dynamic hostPath/local PV provisioner, `go install`ed at a pinned tag and
#             run as a host process (tests/kube/realnode/node.py: its helper pods use the local busybox image)
#   kube-proxy  Services on the node (iptables mode, run inside the node's own network namespace so its
#             chains never touch the host's tables), built in the kubelet's wrapper module
#   coredns   cluster DNS, `go install`ed at a pinned tag, run as a process on the node's bridge address
#   dsw-pause a tiny static sandbox ("pause") process; tests/kube/realnode/images.py wraps it and
#             busybox-static into OCI archives for `ctr images import` (no registry is reachable)
# The container runtime itself comes from Debian, not from here:
#   apt-get install -y containerd runc containernetworking-plugins busybox-static
# (containerd 1.6.20, runc 1.1.5, CNI plugins 1.1.1 in /usr/lib/cni on Debian 12).
#
# Version pair: kubelet v1.37.2 = the test apiserver's version (no skew). containerd 1.6 has no
# RuntimeConfig CRI RPC, so the kubelet falls back to its own cgroupDriver setting; Kubernetes 1.37
# still has that fallback (KEP-4033 moved its removal to 1.38), so a kubelet >= 1.38 will NOT start
# against Debian 12's containerd. The machine's cgroups are v1, so the kubelet config needs
# failCgroupV1: false (kubelet >= 1.35 refuses cgroup v1 otherwise). See tests/kube/realnode/README.md.
#
# Everything lands in $DSW_KUBE_TOOLS (default ~/.cache/dsw-kube-tools). Prints the bin directory.
#   scripts/kube-node.sh          build what is missing
#   scripts/kube-node.sh --check  exit 1 if a tool or a Debian package is missing (builds nothing)
set -euo pipefail

KUBELET_VERSION=v1.37.2        # keep equal to KUBE_VERSION in scripts/kube-tools.sh (or at most 3 minors older)
CRICTL_VERSION=v1.37.0
LOCAL_PATH_VERSION=v0.0.30
COREDNS_VERSION=v1.14.7        # v1.15 declares go 1.26.0; keep to what the machines' Go builds
PAUSE_VERSION=1                # bump when PAUSE_SOURCE changes

# shellcheck source=scripts/kube-wrapper.sh
source "$(dirname "$0")/kube-wrapper.sh"  # ROOT, BIN and the Go build environment
log() { echo "kube-node: $*" >&2; }

want=(kubelet-$KUBELET_VERSION kube-proxy-$KUBELET_VERSION coredns-$COREDNS_VERSION crictl-$CRICTL_VERSION local-path-provisioner-$LOCAL_PATH_VERSION dsw-pause-$PAUSE_VERSION)
missing=()
for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
host_missing=()
for f in /usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc \
         /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /bin/busybox; do
  [ -x "$f" ] || host_missing+=("$f")
done
if [ ${#host_missing[@]} -gt 0 ]; then
  log "missing ${host_missing[*]}: apt-get install -y containerd runc containernetworking-plugins busybox-static"
fi
if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && [ ${#host_missing[@]} -eq 0 ] && echo "$BIN" && exit 0
  [ ${#missing[@]} -eq 0 ] || log "missing: ${missing[*]}"
  exit 1
fi
link_all() {  # unversioned names for the pinned builds
  ln -sf "kubelet-$KUBELET_VERSION" "$BIN/kubelet"; ln -sf "crictl-$CRICTL_VERSION" "$BIN/crictl"
  ln -sf "dsw-pause-$PAUSE_VERSION" "$BIN/dsw-pause"; ln -sf "kube-proxy-$KUBELET_VERSION" "$BIN/kube-proxy"
  ln -sf "coredns-$COREDNS_VERSION" "$BIN/coredns"
  ln -sf "local-path-provisioner-$LOCAL_PATH_VERSION" "$BIN/local-path-provisioner"
}
if [ ${#missing[@]} -eq 0 ]; then link_all; echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "Go is needed to build ${missing[*]}"; exit 1; }
mkdir -p "$BIN"
# One build at a time (its own lock: kube-tools.sh's builds may run alongside; the Go caches are shared
# and safe for concurrent use).
exec 9>"$ROOT/.node-lock"; flock 9

[ -x "$BIN/crictl-$CRICTL_VERSION" ] || {
  tmp="$(mktemp -d)"; log "go install crictl $CRICTL_VERSION"
  GOBIN="$tmp" nice -n 10 go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  mv "$tmp/crictl" "$BIN/crictl-$CRICTL_VERSION"; rm -rf "$tmp"
}

[ -x "$BIN/local-path-provisioner-$LOCAL_PATH_VERSION" ] || {
  tmp="$(mktemp -d)"; log "go install local-path-provisioner $LOCAL_PATH_VERSION"
  GOBIN="$tmp" nice -n 10 go install -ldflags "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
  mv "$tmp/local-path-provisioner" "$BIN/local-path-provisioner-$LOCAL_PATH_VERSION"; rm -rf "$tmp"
}

[ -x "$BIN/coredns-$COREDNS_VERSION" ] || {
  tmp="$(mktemp -d)"; log "go install coredns $COREDNS_VERSION"
  GOBIN="$tmp" nice -n 10 go install -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  mv "$tmp/coredns" "$BIN/coredns-$COREDNS_VERSION"; rm -rf "$tmp"
}

# The sandbox process: PID 1 of every pod's namespaces. Exits on SIGINT/SIGTERM, reaps orphans.
PAUSE_SOURCE='package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			if pid, _ := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
}
'
[ -x "$BIN/dsw-pause-$PAUSE_VERSION" ] || {
  tmp="$(mktemp -d)"; log "building dsw-pause"
  printf 'module dsw/pause\n\ngo 1.21\n' > "$tmp/go.mod"; printf '%s' "$PAUSE_SOURCE" > "$tmp/main.go"
  (cd "$tmp" && go build -ldflags "-s -w" -o "$BIN/dsw-pause-$PAUSE_VERSION" .)
  rm -rf "$tmp"
}

# kubelet and kube-proxy: k8s.io/kubernetes commands, built in their own wrapper module (kube-tools.sh's wrapper
# stays exactly as that script wrote it).
for command in kubelet kube-proxy; do
  [ -x "$BIN/$command-$KUBELET_VERSION" ] && continue
  wrap="$ROOT/node-wrapper-$KUBELET_VERSION"
  mkdir -p "$wrap"
  if [ ! -f "$wrap/go.mod" ]; then
    log "resolving k8s.io/kubernetes $KUBELET_VERSION through a wrapper module"
    kube_wrapper_gomod "$wrap" "$KUBELET_VERSION" dsw/kube-node
  fi
  # A cache from before kube-proxy lacks its modules: `go get` is a no-op when they are there.
  (cd "$wrap" && go get "k8s.io/kubernetes/cmd/$command@$KUBELET_VERSION" >&2)
  ld="$(kube_version_ldflags "$KUBELET_VERSION")"
  log "building $command $KUBELET_VERSION (CGO_ENABLED=0; minutes on 2 cores)"
  start=$SECONDS
  (cd "$wrap" && nice -n 10 go build -ldflags "$ld" -o "$BIN/$command-$KUBELET_VERSION.tmp" "k8s.io/kubernetes/cmd/$command" >&2)
  mv "$BIN/$command-$KUBELET_VERSION.tmp" "$BIN/$command-$KUBELET_VERSION"
  log "$command built in $((SECONDS - start)) s"
done
link_all
log "node tools ready in $BIN"
echo "$BIN"

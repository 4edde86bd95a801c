#!/usr/bin/env bash
# Build the three images without a Docker daemon: buildah with the vfs driver and chroot isolation
# (works unprivileged-in-a-container, slowly). Where Docker Hub is unreachable, a Debian bookworm base is
# made first with debootstrap from the Debian mirror and used as BASE.
#   docker/build.sh [TAG [IMAGE…]]   → localhost/dsw-{portal,hub,singleuser}:TAG (IMAGE: only those of the three)
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-dev}"
[ $# -gt 1 ] && IMAGES=("${@:2}") || IMAGES=(portal hub singleuser)
# STORAGE_DRIVER=overlay where the store is root's own (scripts/kube-images.sh): vfs copies the whole root
# filesystem for every layer (a portal build there takes ~30 GB of disk).
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION=chroot
command -v buildah >/dev/null || { echo "needs buildah (apt-get install buildah)" >&2; exit 1; }
BASE="$(bash docker/debian-base.sh)"
# Behind a TLS-inspecting proxy the host trusts an extra CA (PIP_CERT / SSL_CERT_FILE): lend the host's bundle
# to the build steps (a mount, not part of the image).
trust=()
bundle="${PIP_CERT:-${SSL_CERT_FILE:-}}"
[ -n "$bundle" ] && [ -f "$bundle" ] && trust=(--volume "$bundle:/etc/ssl/host-ca.crt:ro" --build-arg PIP_CERT=/etc/ssl/host-ca.crt)
for image in "${IMAGES[@]}"; do
  buildah bud --layers "${trust[@]}" --build-arg "BASE=$BASE" -f "docker/$image.Dockerfile" -t "localhost/dsw-$image:$TAG" .
done

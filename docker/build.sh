#!/usr/bin/env bash
# Build the three images without a Docker daemon: buildah with the vfs driver and chroot isolation
# (works unprivileged-in-a-container, slowly). Where Docker Hub is unreachable, a Debian bookworm base is
# made first with debootstrap from the Debian mirror and used as BASE.
#   docker/build.sh [TAG]        → localhost/dsw-{portal,hub,singleuser}:TAG
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-dev}"
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
command -v buildah >/dev/null || { echo "needs buildah (apt-get install buildah)" >&2; exit 1; }
BASE=docker.io/library/debian:bookworm-slim
if ! buildah pull -q "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "Docker Hub unreachable and no debootstrap to make a base" >&2; exit 1; }
  BASE=localhost/dsw-debian:bookworm
  if ! buildah inspect "$BASE" >/dev/null 2>&1; then
    root="$(mktemp -d)"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >&2
    container=$(buildah from scratch)
    buildah copy "$container" "$root" / >/dev/null
    buildah commit -q "$container" "$BASE" >/dev/null
    buildah rm "$container" >/dev/null
    rm -rf "$root"
  fi
fi
# Behind a TLS-inspecting proxy the host trusts an extra CA (PIP_CERT / SSL_CERT_FILE): lend the host's bundle
# to the build steps (a mount, not part of the image).
trust=()
bundle="${PIP_CERT:-${SSL_CERT_FILE:-}}"
[ -n "$bundle" ] && [ -f "$bundle" ] && trust=(--volume "$bundle:/etc/ssl/host-ca.crt:ro" --build-arg PIP_CERT=/etc/ssl/host-ca.crt)
for image in portal hub singleuser; do
  buildah bud --layers "${trust[@]}" --build-arg "BASE=$BASE" -f "docker/$image.Dockerfile" -t "localhost/dsw-$image:$TAG" .
done

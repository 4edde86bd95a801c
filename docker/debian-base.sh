#!/usr/bin/env bash
# Print the name of a Debian bookworm base image in buildah's store, making it if needed: Docker Hub's
# debian:bookworm-slim where it is reachable, else one made with debootstrap from the Debian mirror (what these
# machines reach). Arguments are buildah's global options (e.g. --root/--runroot of the platform's build store).
#   docker/debian-base.sh [buildah options…]   → prints e.g. localhost/dsw-debian:bookworm
set -euo pipefail
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
command -v buildah >/dev/null || { echo "needs buildah (apt-get install buildah)" >&2; exit 1; }
BASE=docker.io/library/debian:bookworm-slim
if buildah "$@" inspect "$BASE" >/dev/null 2>&1 || buildah "$@" pull -q "$BASE" >/dev/null 2>&1; then
  echo "$BASE"; exit 0
fi
BASE=localhost/dsw-debian:bookworm
if ! buildah "$@" inspect "$BASE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "Docker Hub unreachable and no debootstrap to make a base (apt-get install debootstrap)" >&2; exit 1; }
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >&2
  container=$(buildah "$@" from scratch)
  buildah "$@" copy "$container" "$root" / >/dev/null
  buildah "$@" config --created-by "debootstrap --variant=minbase bookworm" "$container"
  buildah "$@" commit -q "$container" "$BASE" >/dev/null
  buildah "$@" rm "$container" >/dev/null
fi
echo "$BASE"

#!/usr/bin/env bash
# What `make run` needs from the system besides Python: Debian's docker-registry (the image
# registry), skopeo (copies images), and podman with runc (runs catalog images as workspaces; see
# spawner/containers.py). As root, apt-get installs what is missing; otherwise one line says which
# command would, and what works without them. Never fails `make run`: the platform runs without them.
set -uo pipefail

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
# Image builds (`make images`, custom images from a workspace): buildah, daemonless.
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)  # `make images` makes its Debian base with it when Docker Hub is out of reach
# PLATFORM_PROMETHEUS=1 make run: Debian's prometheus next to the platform (docs/operations/metrics.md).
case "${PLATFORM_PROMETHEUS:-}" in 1|true|yes|on) command -v prometheus >/dev/null || missing+=(prometheus) ;; esac
[ ${#missing[@]} -eq 0 ] && exit 0

without="without them the image catalog offers local environments only (workspaces run as local processes)"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "runtime-deps: missing ${missing[*]}: 'sudo apt-get install ${missing[*]}' adds the image registry and container workspaces; $without."
  exit 0
fi
echo "runtime-deps: installing ${missing[*]} with apt-get (once)…"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "runtime-deps: installed ${missing[*]}."
else
  echo "runtime-deps: apt-get could not install ${missing[*]} (offline?); $without."
fi
exit 0

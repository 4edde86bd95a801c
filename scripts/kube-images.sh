#!/usr/bin/env bash
# The chart's three images (docker/build.sh: portal, hub, singleuser) as OCI archives for a real test node
# (tests/kube/realnode: `ctr -n k8s.io images import`; no registry is reachable from the test machines).
#
# Cached by content: each image's tag is a hash of its Dockerfile, docker/build.sh, docker/debian-base.sh and the
# files its COPY lines name, so a rerun with unchanged inputs only checks that the archives exist (seconds), and a
# change rebuilds only the image it touches. Builds go into a private buildah store under the cache, never the
# machine's default store (other builds on a shared machine use that one); buildah's --layers cache in that store
# keeps the apt/pip layers of an image whose COPY inputs did not change. The store uses the overlay driver (this
# script runs as root, no user namespace): with vfs every layer is a full copy of the root filesystem, and the
# portal's ~20 layers filled 30 GB and the disk.
#
# Everything lands in $DSW_KUBE_TOOLS/images (default ~/.cache/dsw-kube-tools/images). Prints one line per image:
#   <name> <image reference> <archive path>
#   scripts/kube-images.sh            build what is missing (cold: see tests/kube/realnode/README.md)
#   scripts/kube-images.sh --check    exit 1 if an archive is missing (builds nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT="${DSW_KUBE_TOOLS:-$HOME/.cache/dsw-kube-tools}"
OUT="$ROOT/images"
STORE="$ROOT/buildah"
IMAGES=(portal hub singleuser)
log() { echo "kube-images: $*" >&2; }

# The build context paths an image's Dockerfile copies (COPY <src…> <dest>; no --from stages here).
copy_inputs() {
  sed -n 's/^COPY \(.*\) [^ ]*$/\1/p' "docker/$1.Dockerfile" | tr ' ' '\n' | grep -v '^--'
}

# sha256 of everything that decides an image's contents (file names and contents; bytecode caches left out).
input_hash() {
  local image="$1"
  {
    echo "docker/$image.Dockerfile"; echo docker/build.sh; echo docker/debian-base.sh
    # shellcheck disable=SC2046
    find $(copy_inputs "$image") -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path '*/node_modules/*'
  } | LC_ALL=C sort -u | while read -r f; do printf '%s  %s\n' "$(sha256sum < "$f" | cut -c1-64)" "$f"; done \
    | sha256sum | cut -c1-16
}

declare -A tag
missing=()
for image in "${IMAGES[@]}"; do
  tag[$image]="$(input_hash "$image")"
  [ -s "$OUT/dsw-$image-${tag[$image]}.tar" ] || missing+=("$image")
done
report() {
  for image in "${IMAGES[@]}"; do
    echo "$image localhost/dsw-$image:${tag[$image]} $OUT/dsw-$image-${tag[$image]}.tar"
  done
}
if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && report && exit 0
  log "missing: ${missing[*]}"; exit 1
fi
if [ ${#missing[@]} -eq 0 ]; then report; exit 0; fi

command -v buildah >/dev/null || { log "needs buildah (apt-get install buildah debootstrap)"; exit 1; }
mkdir -p "$OUT" "$STORE"
exec 9>"$ROOT/.images-lock"; flock 9   # two suites on a fresh machine must not build twice at once

# A private store: containers/storage reads CONTAINERS_STORAGE_CONF (docker/build.sh and debian-base.sh obey it).
cat > "$STORE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$STORE/storage"
runroot = "$STORE/run"
EOF
export CONTAINERS_STORAGE_CONF="$STORE/storage.conf" STORAGE_DRIVER=overlay

for image in "${missing[@]}"; do
  t="${tag[$image]}"
  start=$SECONDS
  log "building dsw-$image:$t (minutes cold)"
  nice -n 10 bash docker/build.sh "$t" "$image" >&2
  # oci-archive: what `ctr images import` reads; the name inside is the image reference.
  buildah push -q "localhost/dsw-$image:$t" "oci-archive:$OUT/dsw-$image-$t.tar.tmp:localhost/dsw-$image:$t" >&2
  mv "$OUT/dsw-$image-$t.tar.tmp" "$OUT/dsw-$image-$t.tar"
  # Older archives and tags of this image are stale (the new one's cached layers stay for --layers reuse). An
  # archive made in the last hour may be another checkout's, imported by a test running now: kept until later.
  find "$OUT" -name "dsw-$image-*.tar" ! -name "dsw-$image-$t.tar" -mmin +60 -delete
  buildah images --format '{{.Name}}:{{.Tag}}' "localhost/dsw-$image" 2>/dev/null | grep -vx "localhost/dsw-$image:$t" \
    | xargs -r buildah rmi >/dev/null 2>&1 || true
  log "dsw-$image:$t built in $((SECONDS - start)) s"
done
report

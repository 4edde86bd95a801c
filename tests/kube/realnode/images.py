"""OCI image archives made locally (no registry is reachable from the test machines), for
`ctr -n k8s.io images import`: the sandbox ("pause") image from scripts/kube-node.sh's dsw-pause, and a
busybox image from Debian's busybox-static. One uncompressed layer each; content-addressed, so making
the same image twice gives the same digest."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

PAUSE_IMAGE = "localhost/dsw-pause:1"
BUSYBOX_IMAGE = "localhost/dsw-busybox:1"
BUSYBOX_APPLETS = ["sh", "sleep", "id", "cat", "ls", "echo", "touch", "grep", "ps", "mount", "hostname",
                   "wget", "nc", "ip", "ifconfig", "httpd", "true", "false", "env", "mkdir", "rm", "df"]


def _tar(entries):
    """entries: (path, kind, payload, mode) with kind "dir", "file" (payload bytes) or "link" (payload target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, payload, mode in entries:
            info = tarfile.TarInfo(path)
            info.mode, info.mtime, info.uid, info.gid = mode, 0, 0, 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def write_oci_archive(path, name, layer_entries, config):
    """An OCI image layout tarball holding one image called `name` (what `ctr images import` names it)."""
    layer = _tar(layer_entries)
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    image_config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "tests/kube/realnode/images.py"}]}, sort_keys=True).encode()
    config_digest = "sha256:" + hashlib.sha256(image_config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(image_config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": len(layer)}]}, sort_keys=True).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": name,
                                       "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}}]}).encode()
    blobs = {layer_digest: layer, config_digest: image_config, manifest_digest: manifest}
    entries = [("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}', 0o644), ("index.json", "file", index, 0o644),
               ("blobs", "dir", None, 0o755), ("blobs/sha256", "dir", None, 0o755)]
    entries += [(f"blobs/sha256/{digest[7:]}", "file", blob, 0o644) for digest, blob in blobs.items()]
    Path(path).write_bytes(_tar(entries))
    return manifest_digest


def pause_archive(path, pause_binary):
    """The sandbox image: /pause as PID 1, user 65535 like upstream's registry.k8s.io/pause."""
    return write_oci_archive(path, PAUSE_IMAGE, [("pause", "file", Path(pause_binary).read_bytes(), 0o755)],
                             {"Entrypoint": ["/pause"], "User": "65535:65535"})


def busybox_archive(path, busybox_binary="/bin/busybox"):
    """A small image to run test pods from: Debian's static busybox and a few applet links."""
    entries = [("bin", "dir", None, 0o755), ("bin/busybox", "file", Path(busybox_binary).read_bytes(), 0o755),
               ("tmp", "dir", None, 0o1777), ("etc", "dir", None, 0o755),
               ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n", 0o644),
               ("etc/group", "file", b"root:x:0:\nnogroup:x:65534:\n", 0o644)]
    entries += [(f"bin/{applet}", "link", "busybox", 0o777) for applet in BUSYBOX_APPLETS]
    return write_oci_archive(path, BUSYBOX_IMAGE, entries,
                             {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"})

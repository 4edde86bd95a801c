"""Build small OCI image layouts with the standard library, and push them with skopeo."""

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path


def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def build_layout(layout, *, tag="latest", labels=None, files=None):
    """An OCI layout at `layout` holding one linux/amd64 image tagged `tag`; returns the manifest digest."""
    layout = Path(layout)
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in (files or {"etc/motd": b"hello\n"}).items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer_digest, layer_size = _blob(layout, gzip.compress(raw.getvalue(), mtime=0))
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": labels or {}},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}]}
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": manifest["mediaType"], "digest": manifest_digest, "size": manifest_size,
                                                "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))
    return manifest_digest


def push(layout, tag, destination, *, username, password):
    """skopeo copy oci:LAYOUT:TAG docker://DESTINATION; returns the CompletedProcess (check .returncode)."""
    return subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
         "--dest-creds", f"{username}:{password}", f"oci:{layout}:{tag}", f"docker://{destination}"],
        capture_output=True, text=True, timeout=120)

"""The one adapter to the daemonless image tools: buildah builds, skopeo pushes, syft lists what is inside.
No Django here: the build service hands it paths, names and credentials, and reads back lines of log.

Untrusted steps (a person's requirements and postBuild) run in a real container (``--isolation oci``, runc) inside
a user namespace: root in the build is an unprivileged uid range on the host (``PLATFORM_BUILD_UID_BASE``), its
mounts see the image's files only and it holds no capability on the host. Builds of the curated definitions run
the same way.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


class StepFailed(Exception):
    """A tool exited non-zero, ran past its time or was cancelled; ``reason`` is what a person reads."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Cancelled(StepFailed):
    pass


def storage_driver_for(storage_root, buildah="buildah"):
    """overlay where this machine mounts it (copy-on-write: a build copies nothing), else vfs (works anywhere, copies
    every file). A store keeps the driver it was made with."""
    root = Path(storage_root) / "root"
    for driver in ("overlay", "vfs"):
        if (root / driver).is_dir():
            return driver
    probe = subprocess.run([buildah, "--storage-driver", "overlay", "--root", str(root), "--runroot",
                            str(Path(storage_root) / "run"), "images", "--quiet"], capture_output=True, text=True)
    if probe.returncode == 0:
        return "overlay"
    shutil.rmtree(root, ignore_errors=True)  # a half-made overlay store
    return "vfs"


@dataclass
class Builder:
    storage_root: Path  # buildah's image store: base images stay in it between builds
    uid_base: int = 1_000_000  # root in a build is this uid on the host; 65536 uids from here are the build's
    driver: str = "vfs"  # storage_driver_for() picks overlay where it works
    buildah: str = "buildah"
    skopeo: str = "skopeo"
    syft: str = "syft"
    insecure_hosts: tuple = ()  # registries reached over plain http (loopback ones always are)
    ca_bundle: str = ""  # lent to RUN steps read-only (a TLS-inspecting proxy's CA), never part of the image
    extra_env: dict = field(default_factory=dict)

    def _storage(self):
        return ["--storage-driver", self.driver, "--root", str(self.storage_root / "root"),
                "--runroot", str(self.storage_root / "run")]

    def _tls(self, reference, flag):
        host = reference.split("/", 1)[0]
        loopback = host.startswith(("127.0.0.1", "localhost", "[::1]"))
        return [f"{flag}=false"] if loopback or host in self.insecure_hosts else []

    def build_command(self, *, context, containerfile, local_name, build_args=None, base="", creds=""):
        """``buildah bud`` of ``containerfile`` in ``context``, tagged ``local_name`` in the builder's store. One
        working container for all steps (no ``--layers``): the user namespace's id shift is made once, and a rebuild
        reuses the base image already in the store."""
        mapping = f"0:{self.uid_base}:65536"
        command = [self.buildah, *self._storage(), "bud", "--isolation", "oci", "--userns-uid-map", mapping,
                   "--userns-gid-map", mapping, "--network", "host", "--format", "oci", "-f", str(containerfile), "-t", local_name]
        if base:
            command += self._tls(base, "--tls-verify")
        if creds:
            command += ["--creds", creds]
        if self.ca_bundle and Path(self.ca_bundle).is_file():
            command += ["--volume", f"{self.ca_bundle}:/etc/ssl/build-ca.crt:ro",
                        "--build-arg", "PIP_CERT=/etc/ssl/build-ca.crt"]
        for key, value in sorted((build_args or {}).items()):
            command += ["--build-arg", f"{key}={value}"]
        return [*command, str(context)]

    def run(self, command, *, log, timeout, should_cancel=lambda: False, tail=40):
        """Run ``command``, handing each output line to ``log``; the last ``tail`` lines come back. Raises
        StepFailed on a non-zero exit or after ``timeout`` seconds, Cancelled when ``should_cancel()`` says so
        (checked every second); either way the whole process group is killed."""
        environment = {**os.environ, "BUILDAH_ISOLATION": "oci", **self.extra_env}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   errors="replace", start_new_session=True, env=environment, bufsize=1)
        lines = []

        def read():
            for line in process.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                del lines[:-tail]
                log(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline, outcome = time.monotonic() + timeout, None
        while process.poll() is None:
            if time.monotonic() > deadline:
                outcome = StepFailed(f"it ran past its time limit ({timeout} s)")
            elif should_cancel():
                outcome = Cancelled("cancelled")
            if outcome is not None:
                _kill_group(process)
                break
            try:
                process.wait(1)
            except subprocess.TimeoutExpired:
                pass
        reader.join(10)
        if outcome is not None:
            raise outcome
        if process.returncode != 0:
            raise StepFailed(f"exit status {process.returncode}")
        return lines

    def export_command(self, local_name, layout):
        """The built image as an OCI layout (what syft reads and skopeo pushes: the same bytes, the same digest)."""
        return [self.buildah, *self._storage(), "push", "--quiet", "--format", "oci", local_name, f"oci:{layout}:image"]

    def sbom_command(self, layout, output):
        return [self.syft, "scan", f"oci-dir:{layout}", "-o", f"spdx-json={output}", "-q"]

    def push_command(self, layout, destination, creds):
        return [self.skopeo, "--insecure-policy", "copy", "--quiet", "--preserve-digests",
                *self._tls(destination, "--dest-tls-verify"), "--dest-creds", creds,
                f"oci:{layout}:image", f"docker://{destination}"]

    def copy_command(self, source, destination, creds):
        """Registry to registry, digests kept (a proposal copies a person's image into a team's namespace)."""
        return [self.skopeo, "--insecure-policy", "copy", "--quiet", "--preserve-digests",
                *self._tls(source, "--src-tls-verify"), *self._tls(destination, "--dest-tls-verify"),
                "--src-creds", creds, "--dest-creds", creds, f"docker://{source}", f"docker://{destination}"]

    def remove_command(self, local_name):
        return [self.buildah, *self._storage(), "rmi", "--force", local_name]


def layout_manifest(layout):
    """(manifest digest, total bytes of config and layers) of the single image in an OCI layout."""
    layout = Path(layout)
    index = json.loads((layout / "index.json").read_text())
    descriptor = index["manifests"][0]
    digest = descriptor["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_text())
    size = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return digest, size


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(30)

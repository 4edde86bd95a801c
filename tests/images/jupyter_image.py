"""A real Jupyter image built from this host's files, without the network: the system Python (binary,
stdlib, the shared libraries it and its extensions load) and, from the test venv, only the distributions
jupyterhub and jupyter_server need. One uncompressed layer in an OCI layout, pushed with skopeo."""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.images.oci import _blob

SITE = "usr/local/lib/python3.{minor}/dist-packages"  # Debian's python looks here
STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data"}
ROOTS = ("jupyterhub", "jupyter_server")
ENTRY = "#!/usr/bin/python3\nimport sys\nfrom jupyterhub.singleuser import main\nsys.exit(main())\n"


def _closure(roots):
    """The installed distributions `roots` need, transitively (markers evaluated without extras)."""
    seen, todo = {}, list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency this venv does not have
        seen[name] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def _shared_libraries(paths):
    """Every shared library (resolved) that the given ELF files load, by ldd."""
    libraries = set()
    for chunk in range(0, len(paths), 200):
        output = subprocess.run(["ldd", *paths[chunk:chunk + 200]], capture_output=True, text=True).stdout
        for match in re.finditer(r"(?:=> )?(/\S+) \(0x", output):
            libraries.add(match.group(1))
    return libraries


def _files(roots=ROOTS):
    """{path inside the image: host path} for the whole image."""
    minor = sys.version_info.minor
    site, files = SITE.format(minor=minor), {}
    python = os.path.realpath(sys._base_executable)  # the venv's python is a link to the system one
    files[f"usr/bin/python3.{minor}"] = python
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": sys.base_prefix, "base": sys.base_prefix})["stdlib"])
    for path in stdlib.rglob("*"):
        relative = path.relative_to(stdlib)
        if relative.parts[0] in STDLIB_SKIP or relative.parts[0].startswith("config-") or relative.parts[0] == "site-packages":
            continue
        if path.is_file():
            files[f"usr/lib/python3.{minor}/{relative}"] = str(path)
    if "pip" in roots:  # an image to build on: pip may install into it (a venv-less image, as many are)
        files.pop(f"usr/lib/python3.{minor}/EXTERNALLY-MANAGED", None)
    for dist in _closure(roots).values():
        base = Path(dist.locate_file(""))
        for entry in dist.files or ():
            host = Path(dist.locate_file(entry))
            if ".." in entry.parts or not host.is_file():
                continue  # scripts in the venv's bin/: the image gets its own entry point
            files[f"{site}/{host.relative_to(base)}"] = str(host)
    elves = [host for host in files.values() if host.endswith(".so") or ".so." in host or host == python]
    for library in _shared_libraries(elves):
        real = os.path.realpath(library)
        if real.startswith(os.path.realpath(sys.prefix) + "/"):
            continue  # a wheel's own bundled library (pyzmq.libs/…), already in by the distribution's files
        files[real.lstrip("/")] = real
        files.setdefault(os.path.normpath(library).lstrip("/"), real)  # the name binaries ask for, e.g. /lib64/ld-linux…
    return files


def _add(tar, name, *, data=None, host=None, mode=0o644, kind=tarfile.REGTYPE, target=""):
    info = tarfile.TarInfo(name)
    info.mtime, info.type, info.linkname = 0, kind, target
    info.mode = mode
    if host is not None:
        stat = os.stat(host)
        info.size, info.mode = stat.st_size, stat.st_mode & 0o755 | 0o444
        with open(host, "rb") as handle:
            tar.addfile(info, handle)
        return
    info.size = len(data or b"")
    tar.addfile(info, io.BytesIO(data or b"") if data is not None else None)


def build_jupyter_layout(layout, *, tag="latest", with_pip=False):
    """Write the OCI layout; returns (manifest digest, layer size in bytes). Same host files, same digest. ``with_pip``:
    pip and ipykernel are in it too (a base for image builds, whose result runs a cell)."""
    layout = Path(layout)
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    minor = sys.version_info.minor
    files = _files(ROOTS + ("pip", "ipykernel") if with_pip else ROOTS)
    # Merged /usr, as on the host: /lib64/ld-linux-x86-64.so.2 is the interpreter every binary names.
    links = {name: os.readlink(f"/{name}") for name in ("bin", "lib", "lib64", "sbin") if os.path.islink(f"/{name}")}
    for name, host in list(files.items()):
        for link, target in links.items():
            if name.startswith(f"{link}/"):  # reached through the link: store it where the link points
                files.setdefault(os.path.normpath(f"{target.lstrip('/')}/{name[len(link) + 1:]}"), files.pop(name))
    inside = [name for name in files if not any(name.startswith(f"{link}/") for link in links)]
    dirs = sorted({str(parent) for name in [*inside, "tmp/x", "etc/x", "usr/local/bin/x"]
                   for parent in Path(name).parents if str(parent) != "."})
    layer_path = layout / "layer.tar"
    with tarfile.open(layer_path, "w", format=tarfile.PAX_FORMAT) as tar:
        # The root itself: without an entry, containers-storage may make it 0500 (seen with overlay), and an
        # unprivileged user could not reach /usr/bin.
        _add(tar, "./", kind=tarfile.DIRTYPE, mode=0o755)
        for name in dirs:
            _add(tar, name, kind=tarfile.DIRTYPE, mode=0o1777 if name == "tmp" else 0o755)
        for name, target in sorted(links.items()):
            _add(tar, name, kind=tarfile.SYMTYPE, target=target, mode=0o777)
        for name, host in sorted(files.items()):
            _add(tar, name, host=host)
        _add(tar, "usr/bin/python3", kind=tarfile.SYMTYPE, target=f"python3.{minor}", mode=0o777)
        if with_pip and os.path.exists("/usr/bin/dash"):  # a shell for build steps (postBuild); libc is in already
            _add(tar, "usr/bin/dash", host="/usr/bin/dash")
            _add(tar, "usr/bin/sh", kind=tarfile.SYMTYPE, target="dash", mode=0o777)
        _add(tar, "usr/local/bin/jupyterhub-singleuser", data=ENTRY.encode(), mode=0o755)
        _add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n")
        _add(tar, "etc/group", data=b"root:x:0:\n")
    data = layer_path.read_bytes()
    layer_path.unlink()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    layer_digest, layer_size = _blob(layout, data)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"], "WorkingDir": "/tmp"},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]},
              # One entry per layer, as every builder writes: buildah builds on an image only when they agree.
              "history": [{"created_by": "tests/images/jupyter_image.py"}]}
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]}
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": manifest["mediaType"], "digest": manifest_digest, "size": manifest_size,
                                                "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))
    return manifest_digest, layer_size

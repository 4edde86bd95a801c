"""JupyterLab's own static files at one address for every local workspace, so a browser loads them once.

A workspace's server serves JupyterLab's bundle (17 MB, about 300 content-hashed files, cached "immutable")
under its own base URL, /user/<name>/ws-<id>/static/lab/: every new workspace is a new address, and the
browser fetched the whole bundle again at each launch, where a bare `jupyter lab` on a fixed port is served
from the cache. Servers that run from this machine's Python use the very files the portal has: the launch
spec gives them this address (`PLATFORM_LAB_STATIC_URL`), their lab configuration points JupyterLab's
`override_static_url` at it when their own build is the one named (workspaces/lab/config), and the portal
serves the files there, immutable, on any host (the workspace's own origin included: the proxy sends what no
server claims to the portal). Image workspaces run their image's JupyterLab and keep their own.

The address names the build (the hash in `main.<hash>.js`), so a changed JupyterLab is a new address.

The lab's extensions (nbdime's, Pygments', the platform's own) are loaded before JupyterLab starts, from
/user/<name>/ws-<id>/lab/extensions/ too: new at every launch, fetched again, on the way to the launcher. The
portal serves the ones this Python and the platform provide at `/dsw-lab-static/ext-<hash of their files>/`;
the launch spec names them with their folders (`PLATFORM_LAB_EXTENSIONS`), and a server whose lab finds exactly
those (no extension of the person's own in their home, none shadowed) takes them from there.
"""

import hashlib
import json
import sys
from functools import cache
from pathlib import Path

from whitenoise.base import WhiteNoise
from whitenoise.middleware import WhiteNoiseMiddleware

from workspaces.lab import LABEXTENSIONS_DIR

URL_PREFIX = "/dsw-lab-static/"


@cache
def lab_static_dir():
    """This Python's JupyterLab build (its application directory's static/), or None without JupyterLab."""
    folder = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    return folder if folder.is_dir() else None


@cache
def lab_static_url():
    """`/dsw-lab-static/<build>/`, or "" when this Python has no JupyterLab build to share."""
    folder = lab_static_dir()
    mains = sorted(folder.glob("main.*.js")) if folder else []
    return f"{URL_PREFIX}{mains[0].name.split('.')[1]}/" if mains else ""


@cache
def lab_extensions():
    """{name: folder} of the federated extensions a local server's lab loads from the platform: its own
    (workspaces/lab/labextensions, first, as the lab configuration puts it) and this Python's. Found as
    jupyterlab_server's get_federated_extensions finds them (a package.json one level down, or two under an
    @scope; the first folder naming one wins), without importing it: that takes jupyter_server with it, 0.7 s
    and memory in every portal worker."""
    found = {}
    for folder in (LABEXTENSIONS_DIR, Path(sys.prefix) / "share" / "jupyter" / "labextensions"):
        for package in [*folder.glob("[!@]*/package.json"), *folder.glob("@*/*/package.json")]:
            try:
                name = json.loads(package.read_text(encoding="utf-8"))["name"]
            except (OSError, ValueError, KeyError):
                continue
            found.setdefault(name, str(package.parent))
    return dict(sorted(found.items()))


@cache
def lab_extensions_url():
    """`/dsw-lab-static/ext-<hash>/`: the hash covers every file of every extension (the platform's own
    remoteEntry.js has no content hash in its name), or "" when there are none."""
    digest = hashlib.sha256()
    for name, folder in lab_extensions().items():
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            digest.update(f"{name}/{path.relative_to(folder)}\0".encode())
            digest.update(path.read_bytes())
    return f"{URL_PREFIX}ext-{digest.hexdigest()[:16]}/" if lab_extensions() else ""


def lab_static_env():
    """The launch spec's variables for a server run from this Python (workspaces/lab/config reads them)."""
    env = {}
    if lab_static_url():
        env["PLATFORM_LAB_STATIC_URL"] = lab_static_url()
    if lab_extensions_url():
        env["PLATFORM_LAB_EXTENSIONS"] = json.dumps({"url": lab_extensions_url(), "extensions": lab_extensions()})
    return env


def _nosniff(headers, path, url):
    headers["X-Content-Type-Options"] = "nosniff"


class LabStaticMiddleware(WhiteNoiseMiddleware):
    """Serves only JupyterLab's build and the platform's lab extensions, before the portal's host rules (a
    workspace's origin asks for them)."""

    def __init__(self, get_response=None):
        self.get_response = get_response
        WhiteNoise.__init__(self, None, max_age=WhiteNoise.FOREVER, immutable_file_test=lambda path, url: True,
                            add_headers_function=_nosniff)
        if lab_static_url():
            self.add_files(str(lab_static_dir()), prefix=lab_static_url())
        for name, folder in lab_extensions().items():
            self.add_files(folder, prefix=f"{lab_extensions_url()}{name}/")

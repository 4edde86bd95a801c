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
"""

import sys
from functools import cache
from pathlib import Path

from whitenoise.base import WhiteNoise
from whitenoise.middleware import WhiteNoiseMiddleware

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


def _nosniff(headers, path, url):
    headers["X-Content-Type-Options"] = "nosniff"


class LabStaticMiddleware(WhiteNoiseMiddleware):
    """Serves only JupyterLab's build, before the portal's host rules (a workspace's origin asks for it)."""

    def __init__(self, get_response=None):
        self.get_response = get_response
        WhiteNoise.__init__(self, None, max_age=WhiteNoise.FOREVER, immutable_file_test=lambda path, url: True,
                            add_headers_function=_nosniff)
        if lab_static_url():
            self.add_files(str(lab_static_dir()), prefix=lab_static_url())

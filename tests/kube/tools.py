"""The Kubernetes test tools (helm, kwok, kube-apiserver, kube-scheduler, kube-controller-manager), built once by
scripts/kube-tools.sh and cached outside the repository."""

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "datascience-workspaces"
KUBE_VERSION = "1.37.0"  # what helm renders for and kubernetes-validate checks against


@cache
def _bin_dir():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "kube-tools.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr[-3000:]
    return Path(result.stdout.strip()), ""


def tool(name):
    """Path of a built tool; builds missing ones (minutes, once; `make test` builds them first). PLATFORM_SKIP_KUBE=1
    skips instead of failing where Go is not available."""
    cached = Path(os.environ.get("DSW_KUBE_TOOLS", Path.home() / ".cache" / "dsw-kube-tools")) / "bin" / name
    if cached.exists():
        return str(cached)
    directory, error = _bin_dir()
    if directory is None:
        if os.environ.get("PLATFORM_SKIP_KUBE") == "1":
            pytest.skip(f"Kubernetes tools unavailable (PLATFORM_SKIP_KUBE=1): {error.strip()[-300:]}")
        pytest.fail(f"scripts/kube-tools.sh could not build the Kubernetes tools:\n{error}")
    return str(directory / name)


def helm(*args, check=True, **kwargs):
    result = subprocess.run([tool("helm"), *args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result

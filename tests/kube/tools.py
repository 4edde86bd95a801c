"""The Kubernetes test tools (helm, kwok, kube-apiserver, kube-scheduler, kube-controller-manager), built once by
scripts/kube-tools.sh and cached outside the repository."""

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest
import requests

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


def launch_small_workspace(base_url, *, password, team_slug, workspace_name, timeout=60):
    """As an admin would over the REST API of a release (reached through the proxy's public Service): a token, a team
    with the admin in it, a "Small" size (0.5 CPU, 512 MiB, 1 GiB home) and a workspace of it. Returns the
    authenticated session and the workspace's API URL."""
    api = requests.Session()
    answer = api.post(f"{base_url}/api/v1/auth/token/", json={"username": "admin", "password": password,
                                                               "name": f"{team_slug} test"}, timeout=timeout)
    assert answer.status_code == 201, answer.text
    api.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    team = api.post(f"{base_url}/api/v1/teams/", json={"name": f"Team {team_slug}", "slug": team_slug}, timeout=timeout)
    assert team.status_code == 201, team.text
    member = api.post(f"{base_url}/api/v1/teams/{team.json()['id']}/members/", json={"username": "admin", "role": "admin"},
                      timeout=timeout)
    assert member.status_code in (200, 201), member.text
    profile = api.post(f"{base_url}/api/v1/profiles/", json={"name": "Small", "cpu": "0.5", "memory": "512Mi",
                                                             "disk": "1Gi", "all_teams": True}, timeout=timeout)
    assert profile.status_code == 201, profile.text
    created = api.post(f"{base_url}/api/v1/workspaces/", json={"name": workspace_name, "profile": "Small",
                                                               "team": team_slug}, timeout=timeout)
    assert created.status_code == 202, created.text
    return api, f"{base_url}/api/v1/workspaces/{created.json()['id']}/"

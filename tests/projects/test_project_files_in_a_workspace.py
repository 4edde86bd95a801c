"""The project template written into a real workspace: through the hub, the proxy and the single-user
server's contents API, by a real Celery worker. The tree, the issue templates and the git commit are
checked on disk, in the workspace's home."""

import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import api_as
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.models import WorkspaceEvent

pytestmark = pytest.mark.hub

PROJECT_FILE_EVENTS = ("project_files", "project_files_failed")


def wait_for_files_event(workspace_id, seen=0, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = list(WorkspaceEvent.objects.filter(workspace_id=workspace_id, kind__in=PROJECT_FILE_EVENTS).order_by("id"))
        if len(events) > seen:
            return events[seen]
        time.sleep(0.3)
    raise AssertionError("no project-files event came")


def git(folder, *args):
    # The home belongs to the workspace's own account; the test reads it as root.
    result = subprocess.run(["git", "-c", f"safe.directory={folder}", "-C", str(folder), *args],
                            capture_output=True, text=True, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_workspace_launched_in_a_project_gets_the_template_committed_in_git(hub, celery_worker, alice, team, small, settings):
    client = api_as(alice)
    project = client.post("/api/v1/projects/", {"team": team.slug, "name": "Churn model",
                                                "repository_url": "https://git.example.org/ds/churn.git"}, format="json").json()
    created = client.post("/api/v1/workspaces/", {"name": "churn", "profile": "Small", "project": project["slug"],
                                                  "project_files": True}, format="json")
    assert created.status_code == 202, created.json()
    workspace_id = created.json()["id"]
    wait_for_status(client, workspace_id, "running")
    event = wait_for_files_event(workspace_id)
    assert event.kind == "project_files", event.message

    folder = Path(hub.log_path).parent / "workspaces" / f"ws-{workspace_id}" / "churn-model"
    templates = sorted(path.name for path in (folder / ".github" / "ISSUE_TEMPLATE").iterdir())
    assert templates == ["ask.md", "data-acquisition.md", "data-creation.md", "experiment.md", "explore.md", "model.md"]
    for path in [".github/labels.yaml", ".github/workflows/ci.yaml", "docs/solution_architecture.md", "pipelines/dvc.yaml",
                 "code/datasets", "code/features", "code/models", "code/deployment", "data/raw", "data/interim",
                 "data/processed", "environments", "notebooks", "tests/unit", "tests/data_validation", ".gitattributes"]:
        assert (folder / path).exists(), path
    assert "# Churn model" in (folder / "README.md").read_text() and "- [ ] " in (folder / "README.md").read_text()
    stages = (folder / "pipelines" / "dvc.yaml").read_text()
    assert all(f"  {stage}:" in stages for stage in ("extract", "prepare", "train", "evaluate"))

    # One commit with every file in it, nothing left over, the remote set, data ignored, nbstripout the notebooks' filter.
    assert git(folder, "rev-parse", "HEAD") == event.data["commit"]
    assert git(folder, "log", "--format=%an %s") == "alice Project files from the dslp template"
    assert git(folder, "status", "--porcelain") == ""
    assert ".github/ISSUE_TEMPLATE/ask.md" in git(folder, "ls-files").splitlines()
    assert git(folder, "remote", "get-url", "origin") == "https://git.example.org/ds/churn.git"
    assert git(folder, "check-ignore", "data/raw/customers.csv") == "data/raw/customers.csv"
    assert git(folder, "config", "filter.nbstripout.clean") == "nbstripout"
    if os.geteuid() == 0:  # written by the server, as the workspace's own account
        assert (folder / "README.md").stat().st_uid == pwd.getpwnam(hub.account("alice")).pw_uid

    # What went into the workspace was a token for that server alone, and it is revoked once the files are written.
    tokens = requests.get(f"{hub.api_url}/users/alice/tokens", timeout=10,
                          headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}).json()
    assert not [token for token in tokens["api_tokens"] if token["note"] == "project files"], tokens

    # Asked again: the folder is there, and it is left alone.
    again = client.post(f"/api/v1/workspaces/{workspace_id}/project-files/", {}, format="json")
    assert again.status_code == 202
    second = wait_for_files_event(workspace_id, seen=1)
    assert second.kind == "project_files_failed" and "exists already" in second.message
    assert git(folder, "rev-parse", "HEAD") == event.data["commit"]

    client.delete(f"/api/v1/workspaces/{workspace_id}/")

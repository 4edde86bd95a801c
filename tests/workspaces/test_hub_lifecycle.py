"""Workspaces through a real JupyterHub, proxy and single-user servers: launch, stop, start, restart, delete."""

import os
import time

import pytest
import requests

from tests.conftest import api_as
from workspaces.models import Workspace

pytestmark = pytest.mark.hub


def wait_for_status(client, workspace_id, wanted, timeout=120):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/workspaces/{workspace_id}/").json()
        if not seen or seen[-1] != (body["status"], body["progress"], body["status_message"]):
            seen.append((body["status"], body["progress"], body["status_message"]))
        if body["status"] == wanted:
            return body, seen
        if body["status"] == "failed" and wanted != "failed":
            raise AssertionError(f"workspace failed: {body['status_message']} (seen: {seen})")
        time.sleep(0.3)
    raise AssertionError(f"never reached {wanted}; seen {seen}")


def server_status(hub, settings, workspace):
    """GET /api/status on the single-user server, through the public proxy, with the portal's hub token."""
    url = hub.server_url(workspace["owner"], f"ws-{workspace['id']}", "api/status")
    return requests.get(url, headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=10, allow_redirects=False)


def test_launch_stop_start_restart_delete(hub, celery_worker, alice, team, small, settings):
    client = api_as(alice)
    created = client.post("/api/v1/workspaces/", {"name": "lifecycle", "profile": "Small"}, format="json")
    assert created.status_code == 202
    workspace_id = created.json()["id"]

    running, seen = wait_for_status(client, workspace_id, "running")
    assert running["progress"] == 100 and running["url"].endswith(f"/user/alice/ws-{workspace_id}/lab")
    assert any(status == "starting" for status, _, _ in seen)
    assert server_status(hub, settings, running).status_code == 200

    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    stopped, _ = wait_for_status(client, workspace_id, "stopped")
    assert stopped["stopped"] is not None
    assert server_status(hub, settings, running).status_code != 200

    client.post(f"/api/v1/workspaces/{workspace_id}/start/")
    wait_for_status(client, workspace_id, "running")

    client.post(f"/api/v1/workspaces/{workspace_id}/restart/")
    wait_for_status(client, workspace_id, "running")
    assert Workspace.objects.get(pk=workspace_id).served_generation == Workspace.objects.get(pk=workspace_id).generation

    client.delete(f"/api/v1/workspaces/{workspace_id}/")
    deadline = time.monotonic() + 60
    while Workspace.objects.get(pk=workspace_id).observed_state != "stopped" and time.monotonic() < deadline:
        time.sleep(0.3)
    hub_user = requests.get(f"{hub.api_url}/users/alice", headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=10).json()
    assert f"ws-{workspace_id}" not in hub_user["servers"]

    assert client.get(f"/api/v1/workspaces/{workspace_id}/").status_code == 404  # deleted: gone from the API
    kinds = list(Workspace.objects.get(pk=workspace_id).events.values_list("kind", flat=True))
    for kind in ["created", "spawn_requested", "running", "stop_requested", "stopped", "start_requested", "restart_requested", "delete_requested"]:
        assert kind in kinds, kinds


def test_two_workspaces_at_once(hub, celery_worker, alice, team, small):
    client = api_as(alice)
    ids = [client.post("/api/v1/workspaces/", {"name": name, "profile": "Small"}, format="json").json()["id"] for name in ("one", "two")]
    for workspace_id in ids:
        wait_for_status(client, workspace_id, "running")
    for workspace_id in ids:
        client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    for workspace_id in ids:
        wait_for_status(client, workspace_id, "stopped")


def test_hub_down_is_explained_and_recovers(hub, celery_worker, alice, team, small, settings):
    real_api = settings.PLATFORM_HUB_API_URL
    settings.PLATFORM_HUB_API_URL = "http://127.0.0.1:9/hub/api"  # nothing listens there
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "patient", "profile": "Small"}, format="json").json()["id"]
    deadline = time.monotonic() + 30
    while "unreachable" not in client.get(f"/api/v1/workspaces/{workspace_id}/").json()["status_message"]:
        assert time.monotonic() < deadline, "no message about the unreachable hub"
        time.sleep(0.3)
    settings.PLATFORM_HUB_API_URL = real_api
    wait_for_status(client, workspace_id, "running")
    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")


def test_a_server_that_dies_is_noticed_by_the_janitor(hub, celery_worker, alice, team, small, settings):
    from workspaces.reconciler import workspace_reconcile_all

    settings.PLATFORM_EXIT_REPORT_WAIT_SECONDS = 2  # the hub was told to stop it, so no word will come
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "fragile", "profile": "Small"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    # Stopped behind the portal's back, as if the process died or the hub lost it.
    requests.delete(f"{hub.api_url}/users/alice/servers/ws-{workspace_id}",
                    headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workspace_reconcile_all()
        body = client.get(f"/api/v1/workspaces/{workspace_id}/").json()
        if body["status"] == "failed":
            break
        time.sleep(1)
    assert body["status"] == "failed" and body["failure_reason"] == "server_died"
    assert body["status_message"] == "The server stopped unexpectedly, and the hub did not say why."


def test_accounts_of_an_earlier_make_run_with_the_same_names_are_left_alone(hub, celery_worker, alice, team, small):
    """OS accounts are machine-wide and remember their home. A `make run` on this machine (the old naming
    `dsw-alice`, or today's `dsw<hash of ./var>-alice`) must not stop the suite's alice, nor be touched."""
    import pwd
    import subprocess

    from django.conf import settings as django_settings

    from spawner.accounts import account_name, instance_prefix

    if os.geteuid() != 0:
        pytest.skip("OS accounts per person need root")
    earlier = ["dsw-alice", account_name("alice", instance_prefix((django_settings.BASE_DIR / "var").resolve()))]
    made = []
    for name in earlier:
        try:
            pwd.getpwnam(name)
        except KeyError:  # this machine has no such account: make one, with its home somewhere else
            subprocess.run(["useradd", "--comment", "portal user alice", "--home-dir", f"/nonexistent/{name}",
                            "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name], check=True)
            made.append(name)
    try:
        client = api_as(alice)
        workspace_id = client.post("/api/v1/workspaces/", {"name": "same-name", "profile": "Small"}, format="json").json()["id"]
        wait_for_status(client, workspace_id, "running")
        assert hub.account("alice") not in earlier and pwd.getpwnam(hub.account("alice"))
        client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
        wait_for_status(client, workspace_id, "stopped")
        for name in earlier:
            assert pwd.getpwnam(name).pw_dir != pwd.getpwnam(hub.account("alice")).pw_dir
    finally:
        for name in made:
            subprocess.run(["userdel", name], capture_output=True)


def test_a_profile_the_host_cannot_satisfy_fails_with_the_reason(hub, celery_worker, alice, team):
    from workspaces.models import Profile

    Profile.objects.create(name="GPU", cpu="1", memory_bytes=2 * 2**30, gpus=1, gpu_type="h100")
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "needs-gpu", "profile": "GPU"}, format="json").json()["id"]
    failed, _ = wait_for_status(client, workspace_id, "failed", timeout=60)
    assert failed["failure_reason"] == "spawn_error"
    assert "h100" in failed["status_message"] and "GPU" in failed["status_message"], failed["status_message"]
    kinds = [event["kind"] for event in client.get(f"/api/v1/workspaces/{workspace_id}/events/").json()["results"]]
    assert "spawn_refused" in kinds and kinds[-1] == "failed"


def test_the_home_survives_stop_and_start_and_goes_only_when_deleted_with_it(hub, celery_worker, alice, team, small, settings):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "thesis", "profile": "Small"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    contents = hub.server_url("alice", f"ws-{workspace_id}", "api/contents/notes.txt")
    token = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
    saved = requests.put(contents, json={"type": "file", "format": "text", "content": "keep me"}, headers=token, timeout=10)
    assert saved.status_code in (200, 201), saved.text

    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")
    client.post(f"/api/v1/workspaces/{workspace_id}/start/")
    wait_for_status(client, workspace_id, "running")
    assert requests.get(contents, headers=token, timeout=10).json()["content"] == "keep me"

    home = hub.log_path.parent / "workspaces" / f"ws-{workspace_id}"
    assert home.is_dir()
    assert client.delete(f"/api/v1/workspaces/{workspace_id}/?delete_home=true").status_code == 202
    deadline = time.monotonic() + 60
    while home.exists() or not Workspace.objects.get(pk=workspace_id).events.filter(kind="home_deleted").exists():
        assert time.monotonic() < deadline, f"the home was not deleted:\n{hub.log()}"
        time.sleep(0.3)


def test_jupyterlab_keeps_settings_and_layouts_in_the_workspace_home(hub, celery_worker, alice, team, small, settings):
    """The fork server imports JupyterLab before it forks (with the hub's HOME); each server must still keep the
    person's lab settings and saved layouts in its own home, and a new workspace must not reopen another's tabs."""
    client = api_as(alice)
    first, second = (client.post("/api/v1/workspaces/", {"name": name, "profile": "Small"}, format="json").json()["id"]
                     for name in ("layout-a", "layout-b"))
    for workspace_id in (first, second):
        wait_for_status(client, workspace_id, "running")
    token = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
    layout = hub.server_url("alice", f"ws-{first}", "lab/api/workspaces/default")
    saved = requests.put(layout, json={"data": {"layout-restorer:data": {"main": {"current": "notebook:mine.ipynb"}}},
                                       "metadata": {"id": "default"}}, headers=token, timeout=10)
    assert saved.status_code == 204, saved.text
    theme = hub.server_url("alice", f"ws-{first}", "lab/api/settings/@jupyterlab/apputils-extension:themes")
    saved = requests.put(theme, json={"raw": '{"theme": "JupyterLab Dark"}'}, headers=token, timeout=10)
    assert saved.status_code == 204, saved.text

    home = hub.log_path.parent / "workspaces" / f"ws-{first}"
    assert "mine.ipynb" in "".join(path.read_text() for path in (home / ".jupyter/lab/workspaces").iterdir())
    assert "JupyterLab Dark" in (home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/themes.jupyterlab-settings").read_text()
    other = requests.get(hub.server_url("alice", f"ws-{second}", "lab/api/workspaces/default"), headers=token, timeout=10)
    assert "mine.ipynb" not in other.text

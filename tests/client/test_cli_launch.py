"""From a password to a running workspace with `dsw`, through the real hub and proxy (the public origin)."""

import json
import stat

import pytest
import requests

from tests.client.conftest import Dsw
from tests.conftest import PASSWORD, api_as, token_for
from workspaces.models import Profile, Workspace

pytestmark = pytest.mark.hub


@pytest.fixture
def dsw_hub(hub, tmp_path):
    """`dsw` talking to the platform's public origin (the proxy), as people do."""
    return Dsw(tmp_path, hub.public_url)


def server_answers(hub, settings, workspace_url):
    """The workspace's server answers /api/status at the URL dsw printed (with the portal's hub token)."""
    status_url = workspace_url.removesuffix("/lab") + "/api/status"
    return requests.get(status_url, headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=10,
                        allow_redirects=False).status_code == 200


def test_two_commands_from_a_password_to_a_running_workspace_then_ls_open_stop_start_rm(
        dsw_hub, hub, celery_worker, alice, team, small, settings, tmp_path):
    dsw = dsw_hub
    dsw.login("alice", PASSWORD)
    launched = dsw.ok("launch", "analysis", "--size", "small", "--wait", "--timeout", "120")
    url = launched.stdout.strip()
    workspace = requests.get(f"{hub.public_url}/api/v1/workspaces/", headers={"Authorization": f"Bearer {token_for(alice)}"},
                             timeout=10).json()["results"][0]
    assert workspace["status"] == "running" and url == workspace["url"]  # printed as the API gives it
    assert server_answers(hub, settings, url)
    # Standard error is no terminal here: a line per change, ending with the server up.
    assert "analysis: running 100%" in launched.stderr.splitlines()[-1], launched.stderr

    listed = json.loads(dsw.ok("ls", "--json").stdout)
    assert [(w["name"], w["status"], w["url"]) for w in listed] == [("analysis", "running", url)]
    assert dsw.ok("open", "analysis", "--print").stdout == f"{url}\n"
    # `open` hands the URL to the browser ($BROWSER, as webbrowser reads it): here a script that writes it down.
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    dsw.ok("open", "analysis", env={"BROWSER": str(browser), "DISPLAY": ""})
    assert opened.read_text().strip() == url

    assert dsw.ok("stop", "analysis", "--wait").stdout.startswith("analysis: stopped")
    assert Workspace.objects.get(pk=workspace["id"]).status == "stopped"
    assert not server_answers(hub, settings, url)

    restarted = dsw.ok("start", "analysis", "--wait", "--timeout", "120").stdout.strip()
    assert restarted == url and server_answers(hub, settings, url)
    kinds = [event["kind"] for event in json.loads(dsw.ok("events", "analysis", "--json").stdout)]
    assert kinds[0] == "created" and kinds.count("running") == 2 and "stop_requested" in kinds

    assert dsw.ok("rm", "analysis").stdout.startswith("analysis: deleted")
    assert json.loads(dsw.ok("ls", "--json").stdout) == []
    assert api_as(alice).get(f"/api/v1/workspaces/{workspace['id']}/").status_code == 404


def test_a_launch_that_fails_exits_1_with_the_reason(dsw_hub, hub, celery_worker, alice, team):
    Profile.objects.create(name="GPU", cpu="1", memory_bytes=2 * 2**30, gpus=1, gpu_type="h100")
    dsw_hub.login("alice", PASSWORD)
    result = dsw_hub("launch", "needs-gpu", "--size", "gpu", "--wait", "--timeout", "60")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("dsw: Workspace 'needs-gpu' is failed (spawn_error): ") and "h100" in error
    assert result.stdout == ""


def test_the_library_follows_a_launch_and_its_events(connect, hub, celery_worker, alice, team, small):
    client = connect(hub.public_url, token_for(alice))
    seen = []
    workspace = client.workspaces.create("followed", size="Small")
    running = client.workspaces.wait_until_running(workspace, timeout=120,
                                                   on_progress=lambda current, events: seen.append((current, events)))
    assert running.status == "running" and running.url and running.progress == 100
    statuses = [current.status for current, _ in seen]
    assert statuses[-1] == "running" and set(statuses) <= {"pending", "starting", "running"}
    # Each event is handed over once, in order, and they are the workspace's history since the wait began.
    followed = [event for _, events in seen for event in events]
    assert followed[-1].kind == "running" and "spawn_requested" in [event.kind for event in followed]
    assert [event.id for event in client.workspaces.events(workspace)][-len(followed):] == [event.id for event in followed]

    client.workspaces.stop(running)
    stopped = client.workspaces.wait_until_stopped(running, timeout=60)
    assert stopped.status == "stopped" and stopped.url is None and stopped.stopped is not None

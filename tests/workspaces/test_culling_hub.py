"""Idle culling against a real JupyterHub, proxy, single-user servers and kernels, with a real Celery
worker and SMTP sink. The sweep runs with a clock moved forward (``now=``) instead of waiting:
activity, kernels and deadlines are real, only the sweep's idea of "now" is later."""

import json
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import websocket
from django.utils import timezone

from tests.conftest import api_as
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.culling_services import workspace_cull_sweep, workspace_cull_warning_mail
from workspaces.models import Profile, Workspace

pytestmark = pytest.mark.hub


@pytest.fixture
def culling_settings(settings):
    settings.PLATFORM_CULL_WARNING_MINUTES = 10
    settings.PLATFORM_CULL_EXTENSION_MINUTES = 60
    settings.PLATFORM_CULL_CONNECTED_IS_ACTIVE = True
    settings.PLATFORM_CULL_SERVER_TIMEOUT = 5
    return settings


@pytest.fixture
def idle_30(db, culling_settings):
    return Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30,
                                  idle_timeout_minutes=30, max_age_hours=0)


def launch(client, name, profile="Small"):
    response = client.post("/api/v1/workspaces/", {"name": name, "profile": profile}, format="json")
    assert response.status_code == 202, response.content
    body, _ = wait_for_status(client, response.json()["id"], "running")
    return body


def later(minutes):
    return timezone.now() + timedelta(minutes=minutes)


def kinds(workspace_id):
    return list(Workspace.objects.get(pk=workspace_id).events.values_list("kind", flat=True))


class Kernel:
    """A kernel of a workspace's server, driven through the proxy with the portal's hub token."""

    def __init__(self, hub, settings, workspace):
        self.base = hub.server_url(workspace["owner"], f"ws-{workspace['id']}").rstrip("/")
        self.headers = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
        answer = requests.post(f"{self.base}/api/kernels", json={"name": "python3"}, headers=self.headers, timeout=30)
        assert answer.status_code == 201, answer.text
        self.id = answer.json()["id"]
        self.socket = None

    def state(self):
        kernels = requests.get(f"{self.base}/api/kernels", params={"no_track_activity": "1"}, headers=self.headers, timeout=10).json()
        return next(kernel for kernel in kernels if kernel["id"] == self.id)

    def wait(self, condition, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if condition(state):
                return state
            time.sleep(0.2)
        raise AssertionError(f"kernel never got there: {state}")

    def connect(self):
        url = f"{self.base.replace('http://', 'ws://')}/api/kernels/{self.id}/channels?session_id={uuid.uuid4().hex}"
        self.socket = websocket.create_connection(url, header=[f"{key}: {value}" for key, value in self.headers.items()], timeout=30)

    def execute(self, code):
        """Send an execute request over the kernel's websocket (Jupyter messaging protocol 5.3)."""
        self.socket.send(json.dumps({
            "header": {"msg_id": uuid.uuid4().hex, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))

    def close(self):
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def interrupt(self):
        requests.post(f"{self.base}/api/kernels/{self.id}/interrupt", headers=self.headers, timeout=10)


def test_an_idle_server_is_warned_then_culled(hub, celery_worker, smtp_sink, alice, team, idle_30, client, settings):
    api = api_as(alice)
    workspace = launch(api, "sleepy")
    workspace_id = workspace["id"]

    quiet = workspace_cull_sweep(now=later(5))
    assert (quiet.matched, quiet.warned, quiet.culled, quiet.kernel_checks) == (1, 0, 0, 0)

    warned = workspace_cull_sweep(now=later(21))
    assert (warned.warned, warned.culled, warned.kernel_checks) == (1, 0, 1)
    # The kernel check went in with a token of alice's that the hub made for this one server, not the
    # portal's (which her code could have read from the request): it opens her workspace, nothing else.
    portal = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
    tokens = requests.get(f"{hub.api_url}/users/alice/tokens", headers=portal, timeout=10).json()["api_tokens"]
    # (the session's hub keeps the alice of earlier tests, and her tokens for their servers)
    checks = [token for token in tokens if token["note"] == "idle check"
              and f"access:servers!server=alice/ws-{workspace_id}" in token["scopes"]]
    assert checks and all(check["expires_at"] for check in checks)
    for check in checks:
        # (the hub lists the implied read scopes of alice's own name and groups too; nothing of anyone else's)
        assert all(scope.endswith(("!user=alice", f"!server=alice/ws-{workspace_id}")) for scope in check["scopes"])
        assert not any(scope.startswith(("admin", "access:servers!user")) for scope in check["scopes"])
    body = api.get(f"/api/v1/workspaces/{workspace_id}/").json()
    assert body["cull_warning"]["reason"] == "idle for 30 min" and body["cull_warning"]["can_keep_running"] is True

    # The e-mail, once: a repeated sweep adds no warning, a repeated mail task sends nothing.
    mail = smtp_sink.wait(1)[0]
    assert mail["To"] == "alice@example.org" and "sleepy" in mail["Subject"]
    text = mail.get_payload()
    assert "idle for 30 min" in text and f"/workspaces/{workspace_id}/" in text and "Keep running" in text
    assert workspace_cull_sweep(now=later(22)).warned == 0
    current = Workspace.objects.get(pk=workspace_id)
    assert current.cull_mailed_at is not None
    assert workspace_cull_warning_mail(workspace_id=workspace_id, warned_at=current.cull_warned_at) is False
    assert kinds(workspace_id).count("cull_warning") == 1

    # The banner on the owner's workspace pages.
    client.force_login(alice)
    for page in (f"/workspaces/{workspace_id}/", "/workspaces/"):
        html = client.get(page).content.decode()
        assert "data-cull-warning" in html and "idle for 30 min" in html and "Keep running" in html

    culled = workspace_cull_sweep(now=later(32))
    assert culled.culled == 1, culled
    stopped, _ = wait_for_status(api, workspace_id, "stopped")
    assert stopped["status_message"] == "Stopped: idle for 30 min."
    assert stopped["cull_warning"] is None
    event = Workspace.objects.get(pk=workspace_id).events.get(kind="culled")
    assert event.message == "idle for 30 min" and event.actor_username == ""
    hub_user = requests.get(f"{hub.api_url}/users/alice", headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=10).json()
    assert f"ws-{workspace_id}" not in hub_user["servers"]
    assert len(smtp_sink.messages) == 1
    # Nothing is culled twice: the stopped workspace is no longer a candidate.
    assert workspace_cull_sweep(now=later(60)).culled == 0

    # The history on its page says why it stopped.
    html = client.get(f"/workspaces/{workspace_id}/").content.decode()
    assert "culled" in html and "idle for 30 min" in html and "data-cull-warning" not in html


def test_a_busy_kernel_or_an_open_connection_keeps_it_alive(hub, celery_worker, alice, team, idle_30, settings):
    api = api_as(alice)
    workspace = launch(api, "busy")
    kernel = Kernel(hub, settings, workspace)
    try:
        kernel.connect()
        kernel.execute("import time; time.sleep(600)")
        kernel.wait(lambda state: state["execution_state"] == "busy")
        kernel.close()
        kernel.wait(lambda state: state["connections"] == 0)

        busy = workspace_cull_sweep(now=later(45))
        assert (busy.kernel_checks, busy.warned, busy.culled, busy.errors) == (1, 0, 0, 0), busy

        # The same server with its kernel idle again is warned: it was the busy kernel that counted.
        kernel.interrupt()
        kernel.wait(lambda state: state["execution_state"] == "idle")
        assert workspace_cull_sweep(now=later(45)).warned == 1

        # A notebook open in a browser (a connection to the kernel) is activity, unless configured otherwise.
        kernel.connect()
        kernel.wait(lambda state: state["connections"] >= 1)
        assert workspace_cull_sweep(now=later(50)).cleared == 1
        assert api.get(f"/api/v1/workspaces/{workspace['id']}/").json()["cull_warning"] is None
        settings.PLATFORM_CULL_CONNECTED_IS_ACTIVE = False
        assert workspace_cull_sweep(now=later(50)).warned == 1
    finally:
        kernel.close()
    assert "culled" not in kinds(workspace["id"])
    api.post(f"/api/v1/workspaces/{workspace['id']}/stop/")
    wait_for_status(api, workspace["id"], "stopped")


def test_keep_running_extends_once_and_only_once(hub, celery_worker, smtp_sink, alice, team, idle_30, client):
    api = api_as(alice)
    workspace_id = launch(api, "keeper")["id"]
    keep = f"/api/v1/workspaces/{workspace_id}/keep-running/"

    refused = api.post(keep)  # nothing to postpone yet
    assert refused.status_code == 409 and "not idle" in refused.json()["detail"]

    assert workspace_cull_sweep(now=later(25)).warned == 1
    assert len(smtp_sink.wait(1)) == 1  # (a warning taken back before its mail went out sends none)
    kept = api.post(keep)
    assert kept.status_code == 200 and kept.json()["cull_warning"] is None
    again = api.post(keep)
    assert again.status_code == 409 and "already kept running once" in again.json()["detail"]
    assert kinds(workspace_id).count("kept_running") == 1

    # Without the extension it would be stopped now; with it, it is not even warned.
    past_timeout = workspace_cull_sweep(now=later(40))
    assert (past_timeout.warned, past_timeout.culled) == (0, 0)

    # Near the end of the extension: warned again, this time without a way to extend.
    assert workspace_cull_sweep(now=later(55)).warned == 1
    warning = api.get(f"/api/v1/workspaces/{workspace_id}/").json()["cull_warning"]
    assert warning["can_keep_running"] is False
    client.force_login(alice)
    html = client.get(f"/workspaces/{workspace_id}/").content.decode()
    assert "already kept running once" in html and "keep-running" not in html
    response = client.post(f"/workspaces/{workspace_id}/keep-running/", follow=True)
    assert "already kept running once" in response.content.decode()
    assert api.post(keep).status_code == 409
    assert len(smtp_sink.wait(2)) == 2  # one mail per warning

    assert workspace_cull_sweep(now=later(71)).culled == 1
    stopped, _ = wait_for_status(api, workspace_id, "stopped")
    assert stopped["status_message"] == "Stopped: idle for 30 min."

    # A new run starts with its own "keep running".
    api.post(f"/api/v1/workspaces/{workspace_id}/start/")
    wait_for_status(api, workspace_id, "running")
    assert workspace_cull_sweep(now=later(25)).warned == 1
    assert api.post(keep).status_code == 200
    api.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(api, workspace_id, "stopped")


def test_maximum_age_stops_even_a_used_workspace(hub, celery_worker, alice, team, culling_settings):
    Profile.objects.create(name="Twelve hours", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30,
                           idle_timeout_minutes=0, max_age_hours=12)
    api = api_as(alice)
    workspace_id = launch(api, "marathon", profile="Twelve hours")["id"]

    assert workspace_cull_sweep(now=later(11 * 60)).warned == 0
    warned = workspace_cull_sweep(now=later(11 * 60 + 51))
    assert (warned.warned, warned.kernel_checks) == (1, 0)  # activity cannot move a maximum age
    assert api.get(f"/api/v1/workspaces/{workspace_id}/").json()["cull_warning"]["reason"] == "reached maximum age 12 h"
    assert workspace_cull_sweep(now=later(12 * 60 + 1)).culled == 1
    stopped, _ = wait_for_status(api, workspace_id, "stopped")
    assert stopped["status_message"] == "Stopped: reached maximum age 12 h."
    assert Workspace.objects.get(pk=workspace_id).events.get(kind="culled").message == "reached maximum age 12 h"


def _server_process(owner, workspace_id):
    """The workspace's server process: the one working in the workspace's home whose parent does not
    (its kernels work there too). Its environment cannot tell: a server forked by the spawner's
    zygote shows the zygote's environment in /proc."""
    home = f"/workspaces/ws-{workspace_id}"
    working_there = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "cwd").endswith(home):
                working_there[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    servers = [pid for pid, parent in working_there.items() if parent not in working_there]
    assert len(servers) == 1, f"server processes for ws-{workspace_id} ({owner}): {servers}"
    return servers[0]


def test_a_hanging_server_does_not_stop_the_sweep_which_pages_through_the_hub(hub, celery_worker, alice, bob, team, idle_30, settings):
    settings.PLATFORM_CULL_SERVER_TIMEOUT = 1
    hanging = launch(api_as(alice), "hangs")
    healthy = launch(api_as(bob), "fine")
    pid = _server_process("alice", hanging["id"])
    os.kill(pid, signal.SIGSTOP)  # the process is there but answers nothing
    try:
        result = workspace_cull_sweep(now=later(25), page_size=1)
    finally:
        os.kill(pid, signal.SIGCONT)
    # Both were looked at; the hanging one fell back to the hub's activity and was warned as well.
    assert (result.matched, result.kernel_checks, result.errors, result.warned) == (2, 2, 1, 2), result
    assert result.hub_requests >= 2  # one per page of one user
    for client, workspace in ((api_as(alice), hanging), (api_as(bob), healthy)):
        client.post(f"/api/v1/workspaces/{workspace['id']}/stop/")
        wait_for_status(client, workspace["id"], "stopped")


def test_the_beat_task_runs_the_sweep_on_the_worker(hub, celery_worker, alice, team, idle_30):
    from workspaces.tasks import workspace_cull_sweep_task

    api = api_as(alice)
    workspace_id = launch(api, "beaten")["id"]
    assert workspace_cull_sweep(now=later(25)).warned == 1
    # Real time: the server was used moments ago, so the worker's sweep takes the warning back.
    workspace_cull_sweep_task.delay()
    deadline = time.monotonic() + 30
    while Workspace.objects.get(pk=workspace_id).cull_warned_at is not None:
        assert time.monotonic() < deadline, "the worker's sweep never ran"
        time.sleep(0.2)
    api.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(api, workspace_id, "stopped")

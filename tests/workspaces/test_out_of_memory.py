"""A kernel that allocates past the profile's memory is killed by the kernel's OOM killer inside the
workspace's limit group: never the host, never the server; the workspace's history says why."""

import asyncio
import json
import time
import uuid

import pytest
import requests

from tests.conftest import api_as
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.models import Profile

pytestmark = pytest.mark.hub


def run_in_kernel(base, token, code, timeout=60):
    """Start a kernel on the server and run ``code`` over the kernel websocket (Jupyter's wire protocol)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {token}"}
    kernel = requests.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60)
    kernel.raise_for_status()
    kernel_id = kernel.json()["id"]

    async def execute():
        url = f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
        connection = await websocket_connect(HTTPRequest(url, headers=headers))
        message = {"header": {"msg_id": uuid.uuid4().hex, "username": "test", "session": uuid.uuid4().hex,
                              "msg_type": "execute_request", "version": "5.3"},
                   "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                   "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                               "allow_stdin": False, "stop_on_error": True}}
        await connection.write_message(json.dumps(message))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = await asyncio.wait_for(connection.read_message(), timeout)
            if reply is None:
                return "closed"
            reply = json.loads(reply)
            if reply.get("msg_type") == "status" and reply["content"].get("execution_state") in ("restarting", "dead"):
                return reply["content"]["execution_state"]
            if reply.get("msg_type") == "execute_reply":
                return reply["content"]["status"]
        return "timeout"

    return asyncio.run(execute())


def test_kernel_past_the_limit_is_killed_and_reported(hub, celery_worker, alice, team, settings):
    Profile.objects.create(name="Tiny", cpu="0.5", memory_bytes=768 * 2**20, disk_bytes=2**30)
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "greedy", "profile": "Tiny"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    base = f"{hub.public_url}/user/alice/ws-{workspace_id}"

    outcome = run_in_kernel(base, settings.PLATFORM_HUB_API_TOKEN, "hog = bytearray(3 * 1024**3)\nhog[::4096] = b'x' * len(hog[::4096])")
    assert outcome in ("restarting", "dead", "closed"), outcome  # the kernel died; we are alive to see it

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = client.get(f"/api/v1/workspaces/{workspace_id}/events/").json()["results"]
        if any(event["kind"] == "out_of_memory" for event in events):
            break
        time.sleep(0.5)
    oom = [event for event in events if event["kind"] == "out_of_memory"]
    assert oom and "out of memory" in oom[0]["message"] and "768 MiB" in oom[0]["message"]
    assert client.get(f"/api/v1/workspaces/{workspace_id}/").json()["status"] == "running"  # the server survived
    client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
    wait_for_status(client, workspace_id, "stopped")

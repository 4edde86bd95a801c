"""A kernel that allocates past the profile's memory is killed by the kernel's OOM killer inside the
workspace's limit group: never the host, never the server; the workspace's history says why."""

import time

import pytest

from tests.conftest import api_as
from tests.kernels import run_in_kernel
from tests.workspaces.test_hub_lifecycle import wait_for_status
from workspaces.models import Profile

pytestmark = pytest.mark.hub


def test_kernel_past_the_limit_is_killed_and_reported(hub, celery_worker, alice, team, settings):
    Profile.objects.create(name="Tiny", cpu="0.5", memory_bytes=768 * 2**20, disk_bytes=2**30)
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "greedy", "profile": "Tiny"}, format="json").json()["id"]
    wait_for_status(client, workspace_id, "running")
    base = hub.server_url("alice", f"ws-{workspace_id}").rstrip("/")

    outcome, _ = run_in_kernel(base, settings.PLATFORM_HUB_API_TOKEN, "hog = bytearray(3 * 1024**3)\nhog[::4096] = b'x' * len(hog[::4096])")
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

"""The portal–spawner contract has one source, spawner/spec.py: the portal builds the spawner's own
LaunchSpec, the spawner's README documents exactly its fields, and every event the spawner reports is one
the portal takes."""

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from spawner.spec import LaunchSpec, ServerEvent
from workspaces import services
from workspaces.launch import launch_spec_for

README = Path(__file__).resolve().parents[2] / "spawner" / "README.md"


def test_what_the_portal_sends_passes_the_spawners_check_unchanged(alice, team, small):
    workspace = services.workspace_create(owner=alice, name="contract", profile=small)
    sent = json.loads(json.dumps(launch_spec_for(workspace)))  # as it travels
    assert LaunchSpec.from_dict(sent).to_dict() == sent
    assert sent["generation"] == workspace.generation and sent["server_name"] == workspace.server_name


def test_the_spawner_readme_documents_every_field_of_the_spec_in_order():
    table = README.read_text().split("| Field | Type | Meaning |", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == [field.name for field in fields(LaunchSpec)]


@pytest.mark.parametrize("event", ServerEvent.ALL)
def test_every_event_the_spawner_reports_is_taken(client, alice, team, small, settings, event):
    workspace = services.workspace_create(owner=alice, name="reported", profile=small)
    body = {"user": "alice", "server": workspace.server_name, "event": event, "generation": workspace.generation,
            "message": "why", "exit_status": 1, "last_seen_alive": None, "out_of_memory": False}
    answer = client.post("/api/internal/server-event/", body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    assert answer.status_code == 204, answer.content
    assert workspace.events.filter(kind={ServerEvent.SPAWN_FAILED: "spawn_refused"}.get(event, event)).exists()
    unknown = client.post("/api/internal/server-event/", {**body, "event": "resized"}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    assert unknown.status_code == 400 and "resized" not in unknown.json()["errors"]["event"][0]

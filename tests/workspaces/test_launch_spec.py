"""The internal endpoint the hub's spawner reads: the portal, not the client, decides what runs."""

from rest_framework.test import APIClient

from tests.conftest import api_as
from workspaces.models import Workspace


def test_launch_spec_needs_the_hub_token(alice, team, small, settings):
    workspace_id = api_as(alice).post("/api/v1/workspaces/", {"name": "w", "profile": "Small"}, format="json").json()["id"]
    url = f"/api/internal/launch-spec/?user=alice&server=ws-{workspace_id}"
    assert APIClient().get(url).status_code in (401, 403)
    alice_client = api_as(alice)
    assert alice_client.get(url).status_code in (401, 403)  # a user token is not the hub's
    hub = APIClient()
    hub.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    spec = hub.get(url).json()
    assert spec["workspace_id"] == workspace_id and spec["owner"] == "alice" and spec["server_name"] == f"ws-{workspace_id}"
    assert spec["cpu"] == 0.5 and spec["memory_bytes"] == 512 * 2**20 and spec["gpus"] == 0
    assert spec["environment"]["kind"] == "local"
    assert spec["team"] == team.slug and spec["profile"] == "Small"


def test_launch_spec_is_refused_for_someone_elses_server_name(alice, bob, team, small, settings):
    workspace_id = api_as(alice).post("/api/v1/workspaces/", {"name": "w", "profile": "Small"}, format="json").json()["id"]
    hub = APIClient()
    hub.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    assert hub.get(f"/api/internal/launch-spec/?user=bob&server=ws-{workspace_id}").status_code == 404
    assert hub.get("/api/internal/launch-spec/?user=alice&server=../../etc").status_code == 404


def hub_client(settings):
    hub = APIClient()
    hub.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    return hub


def test_the_spawner_deletes_a_home_only_when_its_workspace_was_deleted_with_it(alice, bob, team, small, settings):
    client = api_as(alice)
    kept, dropped = (client.post("/api/v1/workspaces/", {"name": name, "profile": "Small"}, format="json").json()["id"]
                     for name in ("kept", "dropped"))
    hub = hub_client(settings)

    def disposition(workspace_id, user="alice"):
        return hub.get(f"/api/internal/storage/?user={user}&server=ws-{workspace_id}")

    assert disposition(dropped).json() == {"delete_home": False}  # a live workspace: never
    assert client.delete(f"/api/v1/workspaces/{kept}/").status_code == 202
    assert client.delete(f"/api/v1/workspaces/{dropped}/?delete_home=true").status_code == 202
    assert disposition(kept).json() == {"delete_home": False}
    assert disposition(dropped).json() == {"delete_home": True}
    assert disposition(dropped, user="bob").status_code == 404
    assert APIClient().get(f"/api/internal/storage/?user=alice&server=ws-{dropped}").status_code in (401, 403)
    assert api_as(alice).get(f"/api/internal/storage/?user=alice&server=ws-{dropped}").status_code in (401, 403)

    assert hub.post("/api/internal/server-event/", {"user": "alice", "server": f"ws-{dropped}", "event": "home_deleted"},
                    format="json").status_code == 204
    events = Workspace.objects.get(pk=dropped).events.values_list("kind", "data")
    assert ("delete_requested", {"delete_home": True}) in list(events)
    assert [kind for kind, _ in events].count("home_deleted") == 1


def test_delete_home_must_be_a_boolean(alice, team, small):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "w", "profile": "Small"}, format="json").json()["id"]
    answer = client.delete(f"/api/v1/workspaces/{workspace_id}/?delete_home=perhaps")
    assert answer.status_code == 400 and "delete_home" in answer.json()["errors"]
    assert Workspace.objects.get(pk=workspace_id).desired_state == "running"  # nothing happened

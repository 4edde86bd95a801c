"""The internal endpoint the hub's spawner reads: the portal, not the client, decides what runs."""

from rest_framework.test import APIClient

from tests.conftest import api_as


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

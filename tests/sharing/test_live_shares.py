"""Live sharing of a running workspace through JupyterHub's own shares API, against a real hub and proxy: the
grantee reaches the owner's server, revoking refuses their next request, deleting the workspace ends its shares,
and only the owner's teams are allowed unless the platform allows more."""

import time

import pytest
import requests

from portal.audit.models import AuditEvent
from sharing.live import live_shares_expire
from sharing.models import LiveShare
from tests.conftest import api_as
from tests.sharing.helpers import hub_api
from tests.sharing.test_publish_share_and_copy import launch

pytestmark = pytest.mark.hub


def bob_token(server):
    """A hub token of bob's for that server, as his browser session would hold one; None when the hub says bob may
    not have one (the hub grants a token only what its owner may do)."""
    answer = hub_api("POST", "/users/bob", json={})
    assert answer.status_code in (201, 409), answer.text
    answer = hub_api("POST", "/users/bob/tokens", json={"scopes": [f"access:servers!server={server}"], "expires_in": 600})
    if answer.status_code == 400 and "not held" in answer.text:
        return None
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["token"]


def status_as(hub, token, workspace):
    url = hub.server_url(workspace.owner.get_username(), workspace.server_name, "api/status")
    return requests.get(url, headers={"Authorization": f"token {token}"}, timeout=20, allow_redirects=False).status_code


def refused_soon(hub, token, workspace):
    """The server trusts the hub's last word for a second (PLATFORM_SERVER_AUTH_CACHE_SECONDS); JupyterHub's
    default would keep a revoked share working for five minutes, well past this deadline."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if status_as(hub, token, workspace) == 403:
            return True
        time.sleep(0.2)
    return False


def test_grant_open_revoke_and_delete(hub, celery_worker, alice, bob, carol, small, settings):
    alice_api, bob_api = api_as(alice), api_as(bob)
    workspace = launch(alice_api, "pairing")
    server = f"alice/{workspace.server_name}"

    # Outside alice's teams: refused, naming the field; an unknown person reads the same.
    for body in ({"username": "carol"}, {"username": "nobody"}, {"team": "research"}):
        answer = alice_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, **body}, format="json")
        assert answer.status_code == 400 and set(answer.json()["errors"]) & {"username", "team"}, answer.json()
    assert bob_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, "username": "alice"},
                        format="json").status_code == 400  # not bob's workspace

    assert bob_token(server) is None  # not shared yet: bob may not reach it
    granted = alice_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, "username": "bob"}, format="json")
    assert granted.status_code == 201, granted.json()
    assert [item["user"] for item in hub_api("GET", f"/shares/{server}").json()["items"]] == [{"name": "bob"}]
    shared = bob_api.get("/api/v1/shares/shared-with-me/").json()["workspaces"]
    assert [(item["owner"], item["workspace_name"]) for item in shared] == [("alice", "pairing")]
    token = bob_token(server)
    assert status_as(hub, token, workspace) == 200

    # Revoked: the hub refuses bob's next request.
    share_id = granted.json()[0]["id"]
    assert bob_api.delete(f"/api/v1/shares/live/{share_id}/").status_code == 404  # only the owner revokes
    assert alice_api.delete(f"/api/v1/shares/live/{share_id}/").status_code == 204
    assert hub_api("GET", f"/shares/{server}").json()["items"] == []
    assert refused_soon(hub, token, workspace)
    assert bob_api.get("/api/v1/shares/shared-with-me/").json()["workspaces"] == []

    # A whole team (each member but alice), with an end date that the janitor enforces.
    answer = alice_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, "team": "data-science",
                                                     "expires": "2099-01-01T00:00:00Z"}, format="json")
    assert answer.status_code == 201 and [item["username"] for item in answer.json()] == ["bob"]
    LiveShare.objects.filter(pk=answer.json()[0]["id"]).update(expires="2000-01-01T00:00:00Z")
    assert live_shares_expire() == 1
    assert hub_api("GET", f"/shares/{server}").json()["items"] == []

    # Shared again, then the workspace is deleted: the hub's shares of it go with its server.
    assert alice_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, "username": "bob"}, format="json").status_code == 201
    alice_api.delete(f"/api/v1/workspaces/{workspace.pk}/")
    deadline, answer = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        answer = hub_api("GET", f"/shares/{server}").status_code
        if answer == 404:  # the server, and its shares with it, are gone from the hub
            break
        time.sleep(0.3)
    assert answer == 404
    assert bob_api.get("/api/v1/shares/shared-with-me/").json()["workspaces"] == []

    actions = list(AuditEvent.objects.filter(action__startswith="sharing.live").values_list("action", flat=True))
    assert actions.count("sharing.live_grant") == 3 and "sharing.live_revoked" in actions and "sharing.live_expire" in actions


def test_a_platform_setting_allows_sharing_beyond_teams(hub, celery_worker, alice, carol, small, settings):
    settings.PLATFORM_SHARING_BEYOND_TEAMS = True
    alice_api = api_as(alice)
    workspace = launch(alice_api, "open")
    answer = alice_api.post("/api/v1/shares/live/", {"workspace": workspace.pk, "username": "carol"}, format="json")
    assert answer.status_code == 201, answer.json()
    assert [item["user"] for item in hub_api("GET", f"/shares/alice/{workspace.server_name}").json()["items"]] == [{"name": "carol"}]
    alice_api.delete(f"/api/v1/workspaces/{workspace.pk}/")

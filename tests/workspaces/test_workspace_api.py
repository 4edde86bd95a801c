"""The workspace API contract, without a hub: validation, scoping and the 202-at-once promise."""

import pytest

from portal.accounts.models import Membership
from tests.conftest import api_as, make_user
from workspaces.models import Workspace

FIELDS = {"id", "name", "owner", "team", "project", "project_id", "profile", "image", "status", "status_message", "failure_reason",
          "progress", "url", "created", "started", "stopped", "cull_warning", "budget_stop"}


def test_create_answers_202_at_once_with_the_contract(alice, team, small):
    response = api_as(alice).post("/api/v1/workspaces/", {"name": "churn", "profile": "Small"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == FIELDS
    assert body["status"] == "pending" and body["team"] == "data-science" and body["image"] == "local:default"
    assert body["url"] is None
    events = api_as(alice).get(f"/api/v1/workspaces/{body['id']}/events/").json()["results"]
    assert [event["kind"] for event in events] == ["created"]


def test_profile_by_id_works_too(alice, team, small):
    assert api_as(alice).post("/api/v1/workspaces/", {"name": "a", "profile": str(small.id)}, format="json").status_code == 202


@pytest.mark.parametrize(("payload", "field"), [
    ({"profile": "Small"}, "name"),
    ({"name": "Bad Name", "profile": "Small"}, "name"),
    ({"name": "-x", "profile": "Small"}, "name"),
    ({"name": "x" * 41, "profile": "Small"}, "name"),
    ({"name": "ok"}, "profile"),
    ({"name": "ok", "profile": "Huge"}, "profile"),
    ({"name": "ok", "profile": "Research GPU"}, "profile"),
    ({"name": "ok", "profile": "Small", "image": "docker.io/whatever:latest"}, "image"),
    ({"name": "ok", "profile": "Small", "team": "research"}, "team"),
])
def test_bad_input_names_the_field(alice, team, small, research_only, payload, field):
    response = api_as(alice).post("/api/v1/workspaces/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Workspace.objects.exists()


def test_duplicate_names_are_refused(alice, team, small):
    client = api_as(alice)
    assert client.post("/api/v1/workspaces/", {"name": "dup", "profile": "Small"}, format="json").status_code == 202
    response = client.post("/api/v1/workspaces/", {"name": "dup", "profile": "Small"}, format="json")
    assert response.status_code == 400 and "already have" in response.json()["errors"]["name"][0]


def test_a_user_in_several_teams_must_choose(alice, team, other_team, small):
    Membership.objects.create(team=other_team, user=alice)
    client = api_as(alice)
    response = client.post("/api/v1/workspaces/", {"name": "x", "profile": "Small"}, format="json")
    assert response.status_code == 400 and "team" in response.json()["errors"]
    assert client.post("/api/v1/workspaces/", {"name": "x", "profile": "Small", "team": "research"}, format="json").status_code == 202


def test_users_without_a_team_are_told_why(db, small):
    loner = make_user("loner")
    response = api_as(loner).post("/api/v1/workspaces/", {"name": "x", "profile": "Small"}, format="json")
    assert response.status_code == 400 and "no team" in response.json()["errors"]["team"][0]


def test_profiles_listed_are_those_the_team_may_use(alice, carol, team, small, research_only):
    assert [p["name"] for p in api_as(alice).get("/api/v1/profiles/").json()["results"]] == ["Small"]
    assert [p["name"] for p in api_as(carol).get("/api/v1/profiles/").json()["results"]] == ["Small", "Research GPU"]
    assert api_as(alice).get(f"/api/v1/profiles/{research_only.id}/").status_code == 404


def test_nobody_sees_or_drives_another_users_workspace(alice, bob, carol, team, small):
    workspace_id = api_as(alice).post("/api/v1/workspaces/", {"name": "mine", "profile": "Small"}, format="json").json()["id"]
    for intruder in (bob, carol):
        client = api_as(intruder)
        assert client.get("/api/v1/workspaces/").json()["count"] == 0
        assert client.get(f"/api/v1/workspaces/{workspace_id}/").status_code == 404
        assert client.get(f"/api/v1/workspaces/{workspace_id}/events/").status_code == 404
        for action in ("start", "stop", "restart"):
            assert client.post(f"/api/v1/workspaces/{workspace_id}/{action}/").status_code == 404
        assert client.delete(f"/api/v1/workspaces/{workspace_id}/").status_code == 404
    assert Workspace.objects.get(pk=workspace_id).desired_state == "running"


def test_unauthenticated_is_401(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/workspaces/").status_code == 401
    assert APIClient().get("/api/v1/profiles/").status_code == 401


def test_stop_then_delete_requests(alice, team, small):
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "w", "profile": "Small"}, format="json").json()["id"]
    assert client.post(f"/api/v1/workspaces/{workspace_id}/stop/").json()["status"] == "stopping"  # until the reconciler looks
    assert client.post(f"/api/v1/workspaces/{workspace_id}/stop/").status_code == 202  # idempotent
    assert client.delete(f"/api/v1/workspaces/{workspace_id}/").status_code == 202
    assert client.get("/api/v1/workspaces/").json()["count"] == 0
    kinds = [event.kind for event in Workspace.objects.get(pk=workspace_id).events.all()]
    assert kinds == ["created", "stop_requested", "delete_requested"]


def test_workspace_list_has_no_n_plus_one(alice, team, small, django_assert_max_num_queries):
    client = api_as(alice)
    for index in range(10):
        client.post("/api/v1/workspaces/", {"name": f"w{index}", "profile": "Small"}, format="json")
    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/workspaces/").json()["count"] == 10


class TestProfileAdmin:
    PAYLOAD = {"name": "Medium", "cpu": "2", "memory": "4G", "disk": "20Gi"}

    def test_platform_admin_creates_a_profile(self, admin):
        response = api_as(admin).post("/api/v1/profiles/", self.PAYLOAD, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["memory_bytes"] == 4 * 10**9 and response.json()["disk"] == "20 GiB"

    def test_others_cannot(self, alice):
        assert api_as(alice).post("/api/v1/profiles/", self.PAYLOAD, format="json").status_code == 403

    @pytest.mark.parametrize(("change", "field"), [
        ({"memory": "lots"}, "memory"), ({"memory": "64Mi"}, "memory"), ({"cpu": "0"}, "cpu"),
        ({"gpu_type": "h100"}, "gpu_type"), ({"gpus": 1, "memory": "512Mi"}, "memory"),
        ({"all_teams": False}, "teams"), ({"teams": ["no-such-team"], "all_teams": False}, "teams"),
        ({"gpus": -1}, "gpus"), ({"name": "Small"}, "name"),
    ])
    def test_bad_profiles_are_refused_with_the_field(self, admin, small, change, field):
        response = api_as(admin).post("/api/v1/profiles/", {**self.PAYLOAD, **change}, format="json")
        assert response.status_code == 400, response.json()
        assert field in response.json()["errors"]

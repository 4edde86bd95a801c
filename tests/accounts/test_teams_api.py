"""Teams and memberships over the API, with the negative cases for every endpoint."""

import pytest

from portal.accounts.models import Membership, Team
from portal.audit.models import AuditEvent
from tests.conftest import api_as, make_user


def test_members_see_only_their_teams(alice, carol, team, other_team):
    names = [item["name"] for item in api_as(alice).get("/api/v1/teams/").json()["results"]]
    assert names == ["Data Science"]
    assert api_as(alice).get(f"/api/v1/teams/{other_team.id}/").status_code == 404
    assert api_as(alice).get(f"/api/v1/teams/{other_team.id}/members/").status_code == 404


def test_platform_admin_sees_all_teams(admin, alice, carol):
    body = api_as(admin).get("/api/v1/teams/").json()
    assert [item["name"] for item in body["results"]] == ["Data Science", "Research"]
    assert body["results"][0]["my_role"] is None


def test_team_list_reports_role_and_count(alice, bob, team):
    item = api_as(bob).get("/api/v1/teams/").json()["results"][0]
    assert item["member_count"] == 2 and item["my_role"] == "member"


def test_team_list_has_no_n_plus_one(admin, django_assert_max_num_queries):
    for index in range(20):
        team = Team.objects.create(name=f"Team {index}", slug=f"team-{index}")
        make_user(f"user{index}", team=team)
    client = api_as(admin)
    with django_assert_max_num_queries(5):
        assert client.get("/api/v1/teams/").json()["count"] == 20


def test_only_platform_admins_create_and_delete_teams(alice, admin, team):
    assert api_as(alice).post("/api/v1/teams/", {"name": "Rogue"}, format="json").status_code == 403
    assert api_as(alice).delete(f"/api/v1/teams/{team.id}/").status_code == 403
    created = api_as(admin).post("/api/v1/teams/", {"name": "Vision", "description": "CV models"}, format="json")
    assert created.status_code == 201
    assert created.json()["slug"] == "vision"
    assert api_as(admin).delete(f"/api/v1/teams/{created.json()['id']}/").status_code == 204
    assert AuditEvent.objects.filter(action__in=["team.created", "team.deleted"]).count() == 2


@pytest.mark.parametrize(("payload", "field"), [({}, "name"), ({"name": "Data Science"}, "name"), ({"name": "X", "slug": "data-science"}, "slug"), ({"name": "Y", "slug": "bad slug"}, "slug")])
def test_bad_team_input_names_the_field(admin, team, payload, field):
    response = api_as(admin).post("/api/v1/teams/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_team_admin_renames_team_member_cannot(alice, bob, team):
    assert api_as(bob).patch(f"/api/v1/teams/{team.id}/", {"name": "Hijacked"}, format="json").status_code == 403
    response = api_as(alice).patch(f"/api/v1/teams/{team.id}/", {"name": "DS"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "DS"


def test_team_admin_manages_members(alice, bob, team, db):
    make_user("dave")
    client = api_as(alice)
    added = client.post(f"/api/v1/teams/{team.id}/members/", {"username": "dave"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "member"
    promoted = client.patch(f"/api/v1/teams/{team.id}/members/dave/", {"role": "admin"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert client.delete(f"/api/v1/teams/{team.id}/members/bob/").status_code == 204
    assert sorted(m["username"] for m in client.get(f"/api/v1/teams/{team.id}/members/").json()["results"]) == ["alice", "dave"]
    actions = list(AuditEvent.objects.filter(action__startswith="membership.").values_list("action", flat=True).order_by("id"))
    assert actions == ["membership.added", "membership.role_changed", "membership.removed"]
    event = AuditEvent.objects.get(action="membership.added")
    assert event.actor_username == "alice" and event.data["user"] == "dave"


def test_members_read_but_cannot_change_membership(alice, bob, team, db):
    make_user("dave")
    client = api_as(bob)
    assert client.get(f"/api/v1/teams/{team.id}/members/").status_code == 200
    assert client.post(f"/api/v1/teams/{team.id}/members/", {"username": "dave"}, format="json").status_code == 403
    assert client.patch(f"/api/v1/teams/{team.id}/members/bob/", {"role": "admin"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/teams/{team.id}/members/alice/").status_code == 403
    assert Membership.objects.get(team=team, user=bob).role == "member"


def test_outsiders_cannot_touch_another_teams_members(carol, alice, bob, team):
    client = api_as(carol)
    assert client.post(f"/api/v1/teams/{team.id}/members/", {"username": "carol", "role": "admin"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/teams/{team.id}/members/bob/").status_code == 404
    assert client.patch(f"/api/v1/teams/{team.id}/members/bob/", {"role": "admin"}, format="json").status_code == 404
    assert not Membership.objects.filter(team=team, user=carol).exists()


def test_a_member_may_leave(alice, bob, team):
    assert api_as(bob).delete(f"/api/v1/teams/{team.id}/members/bob/").status_code == 204


def test_the_last_team_admin_cannot_leave_or_be_demoted(alice, bob, team):
    client = api_as(alice)
    response = client.patch(f"/api/v1/teams/{team.id}/members/alice/", {"role": "member"}, format="json")
    assert response.status_code == 400
    assert "at least one team admin" in response.json()["errors"]["role"][0]
    assert client.delete(f"/api/v1/teams/{team.id}/members/alice/").status_code == 400


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"username": "ghost"}, "username"), ({"username": "bob"}, "username"), ({"username": "dave", "role": "owner"}, "role"), ({}, "username")],
)
def test_bad_membership_input_names_the_field(alice, bob, team, payload, field):
    make_user("dave")
    response = api_as(alice).post(f"/api/v1/teams/{team.id}/members/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_platform_admin_manages_any_team(admin, carol, other_team):
    make_user("erin")
    response = api_as(admin).post(f"/api/v1/teams/{other_team.id}/members/", {"username": "erin", "role": "admin"}, format="json")
    assert response.status_code == 201

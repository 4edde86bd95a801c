"""Projects over the API: who sees and changes them, the lifecycle timeline, archive, and bad input
answered with a 4xx that names the field."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import Membership
from portal.audit.models import AuditEvent
from projects.models import Project
from tests.conftest import api_as, make_user


def create(client, **body):
    return client.post("/api/v1/projects/", {"name": "Churn model", **body}, format="json")


@pytest.fixture
def team_admin(team):
    return make_user("dora", team=team, role=Membership.Role.ADMIN)


def test_a_member_creates_a_project_by_team_slug_or_id_and_owns_it(alice, bob, team):
    by_slug = create(api_as(alice), team=team.slug, repository_url="https://git.example.org/ds/churn.git")
    assert by_slug.status_code == 201, by_slug.json()
    body = by_slug.json()
    assert body["slug"] == "churn-model" and body["team"] == team.slug and body["owners"] == ["alice"]
    assert body["stage"] == "define" and [step["stage"] for step in body["timeline"]] == ["define"]
    assert body["whole_team"] is True and body["archived"] is None

    by_id = create(api_as(bob), team=team.pk, name="Forecast", members=["alice"], whole_team=False)
    assert by_id.status_code == 201 and by_id.json()["members"] == ["alice"]
    assert AuditEvent.objects.filter(action="project.create", actor_username="bob").count() == 1


def test_team_members_see_the_teams_projects_and_outsiders_get_404(alice, bob, carol, team):
    project = create(api_as(alice), team=team.slug).json()
    assert api_as(bob).get(f"/api/v1/projects/{project['id']}/").status_code == 200
    assert [p["slug"] for p in api_as(bob).get("/api/v1/projects/").json()["results"]] == ["churn-model"]
    outsider = api_as(carol)
    assert outsider.get(f"/api/v1/projects/{project['id']}/").status_code == 404
    assert outsider.get("/api/v1/projects/").json()["results"] == []
    assert outsider.patch(f"/api/v1/projects/{project['id']}/", {"name": "x"}, format="json").status_code == 404
    assert outsider.post(f"/api/v1/projects/{project['id']}/stage/", {"stage": "poc"}, format="json").status_code == 404
    assert outsider.post(f"/api/v1/projects/{project['id']}/archive/").status_code == 404


def test_only_owners_and_team_admins_change_a_project(alice, bob, team, team_admin):
    project = create(api_as(alice), team=team.slug).json()
    url = f"/api/v1/projects/{project['id']}/"
    refused = api_as(bob).patch(url, {"description": "mine now"}, format="json")
    assert refused.status_code == 403
    assert api_as(team_admin).patch(url, {"description": "by the team admin"}, format="json").json()["description"] == "by the team admin"
    changed = api_as(alice).patch(url, {"owners": ["alice", "bob"], "board_url": "https://board.example.org/1"}, format="json")
    assert changed.status_code == 200 and changed.json()["owners"] == ["alice", "bob"]
    assert api_as(bob).patch(url, {"name": "Churn"}, format="json").status_code == 200  # bob owns it now


def test_stage_changes_build_the_timeline_and_a_non_owner_is_refused_naming_the_field(alice, bob, team):
    project = create(api_as(alice), team=team.slug).json()
    url = f"/api/v1/projects/{project['id']}/stage/"
    refused = api_as(bob).post(url, {"stage": "research"}, format="json")
    assert refused.status_code == 400 and "stage" in refused.json()["errors"]
    for stage in ("research", "data", "research"):
        assert api_as(alice).post(url, {"stage": stage}, format="json").status_code == 200
    body = api_as(alice).post(url, {"stage": "research"}, format="json").json()  # the same stage: no new step
    assert [step["stage"] for step in body["timeline"]] == ["define", "research", "data", "research"]
    assert body["stage"] == "research" and body["stage_label"] == "Research"
    entered = [step["entered"] for step in body["timeline"]]
    assert entered == sorted(entered)
    unknown = api_as(alice).post(url, {"stage": "production"}, format="json")
    assert unknown.status_code == 400 and "stage" in unknown.json()["errors"]


def test_an_archived_project_is_read_only_until_restored(alice, team):
    client = api_as(alice)
    project = create(client, team=team.slug).json()
    base = f"/api/v1/projects/{project['id']}/"
    archived = client.post(f"{base}archive/")
    assert archived.status_code == 200 and archived.json()["archived"] is not None
    assert client.post(f"{base}archive/").status_code == 200  # idempotent
    edit = client.patch(base, {"description": "late"}, format="json")
    assert edit.status_code == 400 and "archived" in edit.json()["errors"]
    stage = client.post(f"{base}stage/", {"stage": "poc"}, format="json")
    assert stage.status_code == 400 and "stage" in stage.json()["errors"]
    assert client.get("/api/v1/projects/?archived=false").json()["count"] == 0
    assert client.post(f"{base}restore/").json()["archived"] is None
    assert client.patch(base, {"description": "back"}, format="json").status_code == 200
    actions = list(AuditEvent.objects.filter(target_type="projects.project").values_list("action", flat=True))
    assert actions.count("project.archive") == 1 and "project.restore" in actions


@pytest.mark.parametrize(("body", "field"), [
    ({"team": "no-such-team"}, "team"),
    ({"team": 987654}, "team"),
    ({"team": "{other}"}, "team"),  # a team that exists but is not theirs reads the same
    ({"team": "{team}", "slug": "Not A Slug"}, "slug"),
    ({"team": "{team}", "name": ""}, "name"),
    ({"team": "{team}", "owners": ["carol"]}, "owners"),
    ({"team": "{team}", "members": ["nobody"], "whole_team": False}, "members"),
    ({"team": "{team}", "stage": "production"}, "stage"),
    ({"team": "{team}", "repository_url": "not a url"}, "repository_url"),
    ({"team": "{team}", "board_url": "javascript:alert(1)"}, "board_url"),
])
def test_bad_input_is_a_400_naming_the_field(alice, carol, team, other_team, body, field):
    body = {key: (value.format(team=team.slug, other=other_team.slug) if isinstance(value, str) else value)
            for key, value in body.items()}
    response = create(api_as(alice), **body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()


def test_a_duplicate_slug_in_a_team_is_refused_but_another_team_may_use_it(alice, carol, team, other_team):
    assert create(api_as(alice), team=team.slug).status_code == 201
    duplicate = create(api_as(alice), team=team.slug, name="Churn  Model")
    assert duplicate.status_code == 400 and "already has a project 'churn-model'" in duplicate.json()["errors"]["slug"][0]
    assert create(api_as(carol), team=other_team.slug).status_code == 201
    assert Project.objects.filter(slug="churn-model").count() == 2


def test_the_list_costs_the_same_number_of_queries_for_one_project_or_many(alice, bob, team):
    client = api_as(alice)
    create(client, team=team.slug)

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/projects/").status_code == 200
        return len(queries)

    one = list_queries()
    for number in range(5):
        project = create(client, team=team.slug, name=f"Project {number}", members=["bob"], whole_team=False).json()
        client.post(f"/api/v1/projects/{project['id']}/stage/", {"stage": "research"}, format="json")
    assert list_queries() == one


def test_a_team_with_projects_is_not_deleted(admin, alice, team):
    create(api_as(alice), team=team.slug)
    refused = api_as(admin).delete(f"/api/v1/teams/{team.pk}/")
    assert refused.status_code == 400 and "projects" in refused.json()["detail"]
    assert Project.objects.filter(team=team).exists()

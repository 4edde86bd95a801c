"""Launching workspaces in a project: the project must be of the workspace's team, live, and the owner
one of its members; each refusal names the `project` field."""

import pytest

from portal.accounts.models import Membership
from projects.services import project_set_archived
from tests.conftest import api_as, make_user
from tests.projects.conftest import make_project
from workspaces.models import Workspace


def launch(user, **body):
    return api_as(user).post("/api/v1/workspaces/", {"name": "analysis", "profile": "Small", **body}, format="json")


@pytest.mark.parametrize("reference", ["churn", "{id}", "{team}/churn"])
def test_a_workspace_launches_in_a_project_named_by_slug_id_or_team_and_slug(alice, team, small, churn, reference):
    response = launch(alice, project=reference.format(id=churn.pk, team=team.slug))
    assert response.status_code == 202, response.json()
    assert response.json()["project"] == "churn" and response.json()["project_id"] == churn.pk
    workspace = Workspace.objects.get()
    assert workspace.project == churn and workspace.events.get(kind="created").data["project"] == "churn"


def test_the_team_defaults_to_the_projects_for_someone_in_several_teams(alice, team, other_team, small, churn):
    Membership.objects.create(team=other_team, user=alice)
    assert launch(alice).status_code == 400  # several teams, no project: which one pays?
    response = launch(alice, project="churn")
    assert response.status_code == 202 and response.json()["team"] == team.slug


def test_a_project_of_another_team_than_the_workspaces_is_refused(alice, team, other_team, small):
    Membership.objects.create(team=other_team, user=alice)
    elsewhere = make_project(alice, other_team, "Elsewhere")
    response = launch(alice, team=team.slug, project=elsewhere.pk)
    assert response.status_code == 400 and "belongs to another team" in response.json()["errors"]["project"][0]


def test_an_archived_project_takes_no_new_workspace_and_its_stopped_ones_do_not_start(alice, team, small, churn):
    workspace = launch(alice, project="churn").json()
    Workspace.objects.filter(pk=workspace["id"]).update(desired_state="stopped", observed_state="stopped")
    project_set_archived(project=churn, actor=alice, archived=True)
    refused = launch(alice, name="second", project="churn")
    assert refused.status_code == 400 and "archived" in refused.json()["errors"]["project"][0]
    start = api_as(alice).post(f"/api/v1/workspaces/{workspace['id']}/start/")
    assert start.status_code == 400 and "archived" in start.json()["errors"]["project"][0]


def test_only_members_launch_in_a_project_of_listed_members(alice, bob, team, small):
    private = make_project(alice, team, "Private", whole_team=False, members=["alice"])
    refused = launch(bob, project="private")
    assert refused.status_code == 400 and "not a member of project" in refused.json()["errors"]["project"][0]
    assert launch(alice, project="private").status_code == 202


def test_another_teams_project_reads_as_missing(alice, carol, other_team, small):
    theirs = make_project(carol, other_team, "Theirs")
    by_id, made_up = launch(alice, project=theirs.pk), launch(alice, project=987654)
    assert by_id.status_code == made_up.status_code == 400
    assert by_id.json()["errors"]["project"][0].replace(str(theirs.pk), "N") == made_up.json()["errors"]["project"][0].replace("987654", "N")


def test_add_project_files_needs_a_project_and_a_known_template(alice, team, small, churn):
    plain = launch(alice).json()
    no_project = api_as(alice).post(f"/api/v1/workspaces/{plain['id']}/project-files/", {}, format="json")
    assert no_project.status_code == 400 and "project" in no_project.json()["errors"]
    unknown = api_as(alice).post(f"/api/v1/workspaces/{plain['id']}/project-files/",
                                 {"project": "churn", "template": "no-such-template"}, format="json")
    assert unknown.status_code == 400 and "template" in unknown.json()["errors"]
    outsider = make_user("eve")
    assert api_as(outsider).post(f"/api/v1/workspaces/{plain['id']}/project-files/", {"project": "churn"},
                                 format="json").status_code == 404

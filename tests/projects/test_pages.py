"""Project pages: list and create, detail with the stage timeline, edit, stage, archive, the cost page;
outsiders get 404 everywhere, and the list costs a constant number of queries."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from projects.models import Project
from projects.services import project_set_stage
from tests.conftest import make_user
from tests.projects.conftest import make_project


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_member_creates_a_project_from_the_list_page(bob, team):
    client = browser(bob)
    page = client.get("/projects/")
    assert page.status_code == 200 and "Start a project" in page.content.decode()
    response = client.post("/projects/", {"team": team.pk, "name": "Churn model", "whole_team": "on",
                                          "repository_url": "https://git.example.org/churn.git"})
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    assert list(project.owners.values_list("username", flat=True)) == ["bob"]
    duplicate = client.post("/projects/", {"team": team.pk, "name": "Churn model"})
    assert duplicate.status_code == 200 and "already has a project" in duplicate.content.decode()


def test_the_detail_page_shows_the_timeline_with_dates_and_the_links(alice, bob, team):
    project = make_project(alice, team, "Churn", repository_url="https://git.example.org/churn.git")
    project_set_stage(project=project, actor=alice, stage="research")
    page = browser(bob).get(f"/projects/{project.pk}/").content.decode()
    assert 'data-stage="research" aria-current="step"' in page
    assert page.count("(not yet)") == 5  # define and research reached, five stages to come
    assert "https://git.example.org/churn.git" in page and f"/costs/projects/{project.pk}/" in page
    assert "Archive the project" not in page  # bob may look, not change


def test_owners_move_the_stage_and_archive_with_confirmation(alice, team):
    project = make_project(alice, team, "Churn")
    client = browser(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert 'data-confirm="Archive Churn?' in page
    client.post(f"/projects/{project.pk}/stage/", {"stage": "poc"})
    client.post(f"/projects/{project.pk}/archive/")
    project.refresh_from_db()
    assert project.stage == "poc" and project.is_archived
    form = {"name": "Renamed", "whole_team": "on", "owners": [alice.pk]}
    edit = client.post(f"/projects/{project.pk}/edit/", form)
    assert edit.status_code == 200 and "archived and read-only" in edit.content.decode()
    client.post(f"/projects/{project.pk}/restore/")
    no_owner = client.post(f"/projects/{project.pk}/edit/", {**form, "owners": []})
    assert no_owner.status_code == 200 and "needs at least one owner" in no_owner.content.decode()
    assert client.post(f"/projects/{project.pk}/edit/", form).status_code == 302
    assert Project.objects.get().name == "Renamed"


def test_a_team_member_who_is_no_owner_cannot_edit_or_archive(alice, bob, team):
    project = make_project(alice, team, "Churn")
    client = browser(bob)
    assert client.get(f"/projects/{project.pk}/edit/").status_code == 403
    assert client.post(f"/projects/{project.pk}/archive/").status_code == 403
    assert client.get(f"/costs/projects/{project.pk}/").status_code == 404
    assert not Project.objects.get().is_archived


@pytest.mark.parametrize("path", ["/projects/{id}/", "/projects/{id}/edit/", "/costs/projects/{id}/"])
def test_outsiders_get_404(alice, carol, team, path):
    project = make_project(alice, team, "Churn")
    assert browser(carol).get(path.format(id=project.pk)).status_code == 404


def test_the_project_cost_page_shows_its_budget_form_to_team_admins(alice, team, small, prices):
    project = make_project(alice, team, "Churn")
    client = browser(alice)  # alice is a team admin
    page = client.get(f"/costs/projects/{project.pk}/").content.decode()
    assert "Give the project a budget" in page and "no budget of its own" in page
    saved = client.post(f"/costs/projects/{project.pk}/budget/", {"amount": "12.50", "thresholds": "50, 100"}, follow=True)
    page = saved.content.decode()
    assert "The budget of project Churn was saved." in page and "Change the project's budget" in page
    assert "12.50 EUR" in page.split('id="project-cost-status"')[1].split("</dl>")[0]


def test_the_launch_form_offers_the_users_projects(alice, team, small):
    project = make_project(alice, team, "Churn")
    page = browser(alice).get(f"/workspaces/?project={project.pk}").content.decode()
    assert f'<option value="{project.pk}" selected>Churn (Data Science)</option>' in page
    response = browser(alice).post("/workspaces/", {"name": "churn", "profile": small.pk, "project": project.pk})
    assert response.status_code == 302
    assert project.workspaces.get().name == "churn"


def test_the_list_page_costs_the_same_queries_for_one_project_or_many(alice, team):
    client = browser(alice)
    make_project(alice, team, "First")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/projects/").status_code == 200
        return len(captured)

    one = queries()
    for number in range(5):
        make_project(make_user(f"owner{number}", team=team), team, f"Project {number}")
    assert queries() == one


def test_platform_admins_register_templates_and_pick_the_default_on_a_page(admin, alice, tmp_path):
    from tests.projects.test_templates import make_template_repo

    url = make_template_repo(tmp_path / "notes")
    client = browser(admin)
    assert "Project templates" in client.get("/manage/").content.decode()
    unreachable = client.post("/projects/templates/", {"name": "gone", "source": "file:///nonexistent.git"})
    assert unreachable.status_code == 200 and "cannot read the Git URL" in unreachable.content.decode()
    assert client.post("/projects/templates/", {"name": "notes", "source": url}).status_code == 302
    client.post("/projects/templates/", {"default": "notes"})
    page = client.get("/projects/templates/").content.decode()
    assert '<tr data-template="notes"><td>notes</td>' in page and page.count("<strong>default</strong>") == 1
    assert 'value="dslp">Make default' in page
    assert browser(alice).get("/projects/templates/").status_code in (302, 403, 404)

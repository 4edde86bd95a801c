"""dsw_client's projects against the live portal: create, stage, archive, workspaces in a project, costs,
budget, templates; errors name the field."""

import pytest

from dsw_client import BadInput, NotAllowed, NotFound
from tests.conftest import token_for


@pytest.fixture
def client(live_server, alice, connect):
    return connect(live_server.url, token_for(alice))


def test_a_project_from_create_to_archive(client, connect, live_server, alice, bob, team, small):
    project = client.projects.create(team.slug, "Churn model", repository_url="https://git.example.org/churn.git")
    assert (project.slug, project.team, project.owners, project.stage) == ("churn-model", team.slug, ["alice"], "define")
    assert client.projects.id_of("churn-model") == client.projects.id_of(f"{team.slug}/churn-model") == project.id
    moved = client.projects.set_stage(project, "research")
    assert [step.stage for step in moved.timeline] == ["define", "research"] and moved.timeline[1].entered is not None

    workspace = client.workspaces.create("churn", small.name, project="churn-model")
    assert (workspace.project, workspace.project_id) == ("churn-model", project.id)
    assert client.projects.costs(project, group_by="workspace").total == 0
    assert client.projects.costs_csv(project).splitlines()[0].startswith("user,label")

    with pytest.raises(NotAllowed):
        connect(live_server.url, token_for(bob)).projects.update(project, description="not mine")
    archived = client.projects.archive(project)
    assert archived.archived is not None
    with pytest.raises(BadInput) as refused:
        client.workspaces.create("again", small.name, project=project)
    assert "project" in refused.value.errors
    assert client.projects.restore(project).archived is None


def test_budgets_and_templates(client, connect, live_server, admin, alice, team):
    project = client.projects.create(team.pk, "Forecast")
    with pytest.raises(NotFound):
        client.projects.budget(project)
    budget = client.projects.set_budget(project, amount_decimal="12.50")  # alice is a team admin
    assert (budget.amount, budget.status.remaining) == (1250, 1250)
    client.projects.remove_budget(project)
    assert [template.name for template in client.projects.templates()] == []
    assert client.projects.default_template() == "dslp"
    with pytest.raises(BadInput) as refused:
        connect(live_server.url, token_for(admin)).projects.register_template("gone", "file:///nonexistent.git")
    assert "source" in refused.value.errors
    with pytest.raises(BadInput) as duplicate:
        client.projects.create(team.slug, "Forecast")
    assert "slug" in duplicate.value.errors

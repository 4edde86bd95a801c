"""Costs by project: the ledger carries the project a workspace worked for, the team report and CSV group
by it, a project has its own report, and a project budget refuses launches it cannot carry."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from costs.metering import metering_run
from costs.models import UsageRecord
from costs.services import budget_set
from portal.accounts.models import Membership
from tests.conftest import api_as, make_user
from tests.costs.conftest import event
from tests.projects.conftest import make_project
from workspaces.models import Workspace


def launch(user, name, project=None):
    body = {"name": name, "profile": "Small", **({"project": project} if project else {})}
    response = api_as(user).post("/api/v1/workspaces/", body, format="json")
    assert response.status_code == 202, response.json()
    return Workspace.objects.get(pk=response.json()["id"])


def run_for(workspace, hours, start):
    event(workspace, "running", start)
    event(workspace, "stopped", start + timedelta(hours=hours))


@pytest.fixture
def two_projects_ran(alice, bob, team, small, prices, churn, forecast):
    """Small costs 0.21 EUR/h compute (+ its disk as storage): churn ran 2 h, forecast 1 h, a plain one 3 h."""
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    run_for(launch(alice, "churn-ws", "churn"), 2, start)
    run_for(launch(bob, "forecast-ws", "forecast"), 1, start)
    run_for(launch(alice, "plain"), 3, start)
    metering_run(now=start + timedelta(hours=5))
    return start


def report(user, url, **query):
    return api_as(user).get(url, {"start": "2000-01-01", "end": "2000-12-31", **query} if query.get("window") else query)


def test_the_team_report_and_csv_split_costs_by_project(admin, alice, team, churn, forecast, two_projects_ran):
    team_admin = make_user("dora", team=team, role=Membership.Role.ADMIN)
    compute = UsageRecord.objects.filter(kind="compute")
    assert set(compute.values_list("project_slug", flat=True)) == {"churn", "forecast", ""}
    body = api_as(team_admin).get(f"/api/v1/teams/{team.pk}/costs/", {"group_by": "project"}).json()
    by_label = {group["label"]: group for group in body["groups"]}
    assert set(by_label) == {"churn", "forecast", "(no project)"}
    # Compute ran 3 h, 2 h and 1 h; each workspace's disk is billed too, from its creation on, equally.
    assert [group["label"] for group in body["groups"]] == ["(no project)", "churn", "forecast"]
    assert by_label["churn"]["cost"] > by_label["forecast"]["cost"] > 0
    assert sum(group["cost"] for group in body["groups"]) == pytest.approx(body["total"], abs=2)

    rows = list(csv.reader(io.StringIO(api_as(team_admin).get(f"/api/v1/teams/{team.pk}/costs/export/",
                                                              {"group_by": "project"}).content.decode())))
    assert rows[0][0] == "project"
    assert [row[:2] for row in rows[1:-1]] == [["", "(no project)"], [str(churn.pk), "churn"], [str(forecast.pk), "forecast"]]
    assert rows[-1][0] == "total"


def test_a_projects_report_holds_only_its_own_workspaces(alice, team, churn, two_projects_ran):
    body = api_as(alice).get(f"/api/v1/projects/{churn.pk}/costs/", {"group_by": "workspace"}).json()
    assert [group["label"] for group in body["groups"]] == ["churn-ws"]
    csv_text = api_as(alice).get(f"/api/v1/projects/{churn.pk}/costs/export/", {"group_by": "user"}).content.decode()
    assert "alice" in csv_text and "bob" not in csv_text


def test_who_sees_a_projects_costs(alice, bob, carol, team, churn, two_projects_ran):
    url = f"/api/v1/projects/{churn.pk}/costs/"
    assert api_as(alice).get(url).status_code == 200  # an owner (and team admin)
    bobs = make_project(bob, team, "Bobs")
    assert api_as(bob).get(f"/api/v1/projects/{bobs.pk}/costs/").status_code == 200  # an owner, no team admin
    assert api_as(bob).get(url).status_code == 403  # in the team, not an owner
    assert api_as(carol).get(url).status_code == 404  # an outsider: no such project
    assert api_as(carol).get(f"{url}export/").status_code == 404
    assert api_as(carol).get(f"/api/v1/projects/{churn.pk}/budget/").status_code == 404


def test_a_project_budget_refuses_a_launch_with_the_numbers(admin, alice, team, small, prices, churn):
    budget_set(team=team, actor=admin, amount=10000, action="notify")
    team_admin = make_user("dora", team=team, role=Membership.Role.ADMIN)
    put = api_as(team_admin).put(f"/api/v1/projects/{churn.pk}/budget/", {"amount_decimal": "0.30"}, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["amount"] == 30 and put.json()["status"]["remaining"] == 30
    launch(alice, "first", "churn")  # 0.21 EUR for an hour fits in 0.30
    refused = api_as(alice).post("/api/v1/workspaces/", {"name": "second", "profile": "Small", "project": "churn"}, format="json")
    assert refused.status_code == 400, refused.json()
    message = refused.json()["errors"]["project"][0]
    assert "0.30 EUR of 0.30 EUR remains" in message and "0.09 EUR after" in message and "needs 0.21 EUR" in message
    # Outside the project the team's budget (notify only) lets it run.
    assert api_as(alice).post("/api/v1/workspaces/", {"name": "second", "profile": "Small"}, format="json").status_code == 202


def test_a_project_budget_lies_inside_the_teams_and_only_admins_set_it(admin, alice, bob, team, churn):
    budget_set(team=team, actor=admin, amount=1000, action="notify")
    bobs = make_project(bob, team, "Bobs")  # bob owns it but is no team admin
    owner_try = api_as(bob).put(f"/api/v1/projects/{bobs.pk}/budget/", {"amount": 10}, format="json")
    assert owner_try.status_code == 403 and "team's admins" in owner_try.json()["detail"]
    too_big = api_as(admin).put(f"/api/v1/projects/{churn.pk}/budget/", {"amount": 1001}, format="json")
    assert too_big.status_code == 400 and "10.00 EUR" in too_big.json()["errors"]["amount"][0]
    assert api_as(admin).put(f"/api/v1/projects/{churn.pk}/budget/", {"amount": 1000}, format="json").status_code == 200
    assert api_as(alice).get(f"/api/v1/projects/{churn.pk}/budget/").json()["amount"] == 1000
    assert api_as(admin).delete(f"/api/v1/projects/{churn.pk}/budget/").status_code == 204
    assert api_as(alice).get(f"/api/v1/projects/{churn.pk}/budget/").status_code == 404


def test_a_project_budget_alerts_its_owners_once_per_threshold(admin, alice, bob, team, mailoutbox):
    from costs.alerts import budgets_check, project_alert_deliver
    from costs.models import ProjectBudgetAlert
    from costs.services import project_budget_set
    from tests.costs.conftest import spend

    bobs = make_project(bob, team, "Bobs")
    project_budget_set(project=bobs, actor=admin, amount=1000, thresholds=[50, 80])
    spend(team, 600, timezone.now() - timedelta(minutes=5), project=bobs)
    spend(team, 5000, timezone.now() - timedelta(minutes=5))  # the team's, in no project: not the project's
    assert budgets_check() == 1  # 60 %: the 50 % threshold, not 80 or 100
    assert budgets_check() == 0  # once per period
    (alert,) = ProjectBudgetAlert.objects.all()
    assert alert.threshold == 50 and (alert.spent, alert.limit) == (600, 1000)
    project_alert_deliver(alert_id=alert.pk)  # what the task queued after commit does
    project_alert_deliver(alert_id=alert.pk)  # delivered once
    message = mailoutbox[0]
    assert message.subject.endswith("Project Bobs has used 50 % of its budget")
    assert "6.00 EUR of its 10.00 EUR" in message.body and f"/costs/projects/{bobs.pk}/" in message.body
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == ["admin@example.org", "alice@example.org", "bob@example.org"]  # platform admin, team admin, owner

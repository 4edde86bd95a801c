"""Costs pages through Django's test client: prices, budgets, charts, and the launch form."""

from datetime import timedelta

from django.utils import timezone

from costs.metering import metering_run
from costs.models import Budget, PriceSheet
from costs.services import budget_set
from portal.audit.models import AuditEvent
from tests.costs.conftest import event, make_workspace


def test_launch_form_shows_hourly_price_and_remaining_budget(client, admin, bob, team, small, prices):
    budget_set(team=team, actor=admin, amount=5000)
    client.force_login(bob)
    page = client.get("/workspaces/").content.decode()
    assert "Small — 1 CPU" in page and "0.21 EUR/h" in page
    assert "Budget of Data Science" in page and "50.00 EUR</strong> left" in page


def test_a_refused_launch_says_why_in_the_form(client, admin, bob, team, small, prices):
    budget_set(team=team, actor=admin, amount=10, action="block_launches")
    client.force_login(bob)
    response = client.post("/workspaces/", {"name": "nope", "profile": small.id})
    assert response.status_code == 200 and "0.10 EUR remains" in response.content.decode()


def test_admin_sets_prices_in_the_ui(client, admin, alice):
    client.force_login(alice)
    assert client.get("/costs/prices/").status_code == 302
    client.force_login(admin)
    response = client.post("/costs/prices/", {"cpu_core_hour": "0.12", "memory_gib_hour": "0.04", "gpu_hour_default": "0.90",
                                              "gpu_hour_by_type": "h100=3.50\na100 = 2.5", "storage_gib_month": "0.10"}, follow=True)
    assert response.status_code == 200 and b"new prices were saved" in response.content
    sheet = PriceSheet.objects.get()
    assert sheet.gpu_hour == {"h100": 350, "a100": 250, "": 90} and sheet.created_by == "admin"
    response = client.post("/costs/prices/", {"cpu_core_hour": "-1", "memory_gib_hour": "0.04", "gpu_hour_default": "0",
                                              "storage_gib_month": "0.01"})
    assert response.status_code == 200 and PriceSheet.objects.count() == 1


def test_admin_sets_a_budget_and_grants_in_the_ui(client, admin, team):
    client.force_login(admin)
    response = client.post(f"/costs/teams/{team.id}/budget/", {
        "amount": "1,000.00", "thresholds": "50, 90", "action": "stop_workspaces", "grace_minutes": 15, "period_start_day": 5,
        "time_zone": "Europe/Berlin"}, follow=True)
    assert b"was saved" in response.content
    budget = Budget.objects.get(team=team)
    assert (budget.amount, budget.thresholds, budget.action, budget.period_start_day) == (100000, [50, 90], "stop_workspaces", 5)
    response = client.post(f"/costs/teams/{team.id}/budget/", {
        "amount": "-5", "thresholds": "50, 90", "action": "notify", "grace_minutes": 15, "period_start_day": 5, "time_zone": "UTC"})
    assert response.status_code == 200 and b"Give an amount in EUR" in response.content
    response = client.post(f"/costs/teams/{team.id}/budget/", {
        "amount": "5", "thresholds": "50, 190", "action": "notify", "grace_minutes": 15, "period_start_day": 5, "time_zone": "UTC"})
    assert response.status_code == 200 and b"between 1 and 100" in response.content
    ends = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    response = client.post(f"/costs/teams/{team.id}/grants/", {"amount": "50", "ends": ends, "reason": "Demo day"}, follow=True)
    assert b"gets 50.00 EUR more" in response.content and b"Demo day" in response.content
    assert AuditEvent.objects.filter(action__startswith="budget.").count() == 2


def test_costs_page_has_charts_and_workspace_costs(client, admin, alice, bob, team, small, prices):
    budget_set(team=team, actor=admin, amount=10000)
    workspace = make_workspace(bob, team, small, name="model")
    now = timezone.now()
    event(workspace, "running", now - timedelta(hours=2))
    metering_run(now=now)
    client.force_login(alice)  # team admin
    page = client.get(f"/costs/teams/{team.id}/").content.decode()
    assert "<svg" in page and "polyline" in page and "budget 100.00 EUR" in page
    assert "bob" in page and "Small" in page and "model" in page
    assert "Save budget" not in page  # only platform admins set budgets
    client.force_login(bob)  # a member: no team page, but their own workspace's cost so far
    assert client.get(f"/costs/teams/{team.id}/").status_code == 404
    home = client.get("/costs/").content.decode()
    assert "model" in home and "0.4" in home and "Spent this period" not in home
    client.force_login(admin)
    assert "Save budget" in client.get(f"/costs/teams/{team.id}/").content.decode()


def test_other_teams_costs_are_hidden(client, carol, team):
    client.force_login(carol)
    assert client.get(f"/costs/teams/{team.id}/").status_code == 404
    assert client.post(f"/costs/teams/{team.id}/budget/", {"amount": 1}).status_code == 302  # platform admins only

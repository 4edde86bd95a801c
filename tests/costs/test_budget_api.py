"""Budgets and prices over the API: who may see and set them, and bad input named by field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from costs.models import Budget, PriceSheet
from portal.audit.models import AuditEvent
from tests.conftest import api_as
from tests.costs.conftest import spend

GOOD = {"amount": 50000, "thresholds": [50, 80, 100], "action": "block_launches", "period_start_day": 1, "time_zone": "Europe/Berlin"}


def test_platform_admin_sets_a_budget_and_team_admins_see_it(admin, alice, team):
    response = api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", GOOD, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["amount"] == 50000 and body["currency"] == "EUR" and body["action"] == "block_launches"
    assert body["time_zone"] == "Europe/Berlin"
    assert body["status"]["spent"] == 0 and body["status"]["remaining"] == 50000
    team.refresh_from_db()
    assert team.time_zone == "Europe/Berlin"
    assert AuditEvent.objects.filter(action="budget.set", target_id=str(team.pk)).count() == 1
    assert api_as(alice).get(f"/api/v1/teams/{team.id}/budget/").json()["amount"] == 50000


def test_who_may_see_and_set(admin, alice, bob, carol, team):
    api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", GOOD, format="json")
    assert api_as(bob).get(f"/api/v1/teams/{team.id}/budget/").status_code == 403     # a member
    assert api_as(carol).get(f"/api/v1/teams/{team.id}/budget/").status_code == 404   # another team
    assert api_as(alice).put(f"/api/v1/teams/{team.id}/budget/", {**GOOD, "amount": 10**9}, format="json").status_code == 403
    assert api_as(carol).put(f"/api/v1/teams/{team.id}/budget/", GOOD, format="json").status_code == 404
    assert Budget.objects.get(team=team).amount == 50000
    assert api_as(alice).get("/api/v1/teams/999999/budget/").status_code == 404


def test_a_team_without_budget_answers_404(admin, team):
    assert api_as(admin).get(f"/api/v1/teams/{team.id}/budget/").status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": -1}, "amount"),
    ({"amount": "lots"}, "amount"),
    ({"amount": 10**16}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "USD"}, "currency"),  # known, but the platform bills in EUR
    ({"thresholds": [0, 50]}, "thresholds"),
    ({"thresholds": [50, 101]}, "thresholds"),
    ({"thresholds": [50, 50]}, "thresholds"),
    ({"thresholds": ["half"]}, "thresholds"),
    ({"action": "explode"}, "action"),
    ({"grace_minutes": -5}, "grace_minutes"),
    ({"period_start_day": 29}, "period_start_day"),
    ({"period_start_day": 0}, "period_start_day"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
])
def test_bad_budgets_name_the_field(admin, team, change, field):
    response = api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", {**GOOD, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Budget.objects.exists()


def test_status_counts_only_this_periods_spend(admin, team):
    api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", {**GOOD, "time_zone": "UTC"}, format="json")
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spend(team, 1000, start + timedelta(minutes=1))
    spend(team, 7000, start - timedelta(minutes=1))  # last period
    status = api_as(admin).get(f"/api/v1/teams/{team.id}/budget/").json()["status"]
    assert status["spent"] == 1000 and status["remaining"] == 49000


def test_grants_raise_the_limit_for_their_time_and_are_audited(admin, alice, team):
    api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", GOOD, format="json")
    ends = (timezone.now() + timedelta(days=3)).isoformat()
    assert api_as(alice).post(f"/api/v1/teams/{team.id}/budget/grants/", {"amount": 100, "ends": ends, "reason": "x"},
                              format="json").status_code == 403
    response = api_as(admin).post(f"/api/v1/teams/{team.id}/budget/grants/",
                                  {"amount": 20000, "ends": ends, "reason": "Conference deadline"}, format="json")
    assert response.status_code == 201, response.json()
    body = api_as(alice).get(f"/api/v1/teams/{team.id}/budget/").json()
    assert body["status"]["limit"] == 70000 and body["grants"][0]["reason"] == "Conference deadline"
    assert AuditEvent.objects.filter(action="budget.grant_created").count() == 1
    # An expired grant counts no more.
    past = timezone.now() - timedelta(days=10)
    from costs.models import BudgetGrant
    BudgetGrant.objects.update(starts=past, ends=past + timedelta(days=1))
    assert api_as(alice).get(f"/api/v1/teams/{team.id}/budget/").json()["status"]["limit"] == 50000


@pytest.mark.parametrize(("payload", "field"), [
    ({"amount": -5, "reason": "x"}, "amount"),
    ({"amount": 0, "reason": "x"}, "amount"),
    ({"amount": 100, "reason": " "}, "reason"),
    ({"amount": 100, "reason": "x", "days": 200}, "ends"),
    ({"amount": 100, "reason": "x", "days": -1}, "ends"),
])
def test_bad_grants(admin, team, payload, field):
    api_as(admin).put(f"/api/v1/teams/{team.id}/budget/", GOOD, format="json")
    days = payload.pop("days", 2)
    payload["ends"] = (timezone.now() + timedelta(days=days)).isoformat()
    response = api_as(admin).post(f"/api/v1/teams/{team.id}/budget/grants/", payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


PRICES = {"cpu_core_hour": 10, "memory_gib_hour": 5, "storage_gib_month": 73, "gpu_hour": {"h100": 300}}


def test_prices_are_versions_set_by_platform_admins(admin, alice):
    assert api_as(alice).post("/api/v1/prices/", PRICES, format="json").status_code == 403
    assert api_as(alice).get("/api/v1/prices/current/").status_code == 404
    response = api_as(admin).post("/api/v1/prices/", PRICES, format="json")
    assert response.status_code == 201, response.json()
    later = (timezone.now() + timedelta(days=1)).isoformat()
    assert api_as(admin).post("/api/v1/prices/", {**PRICES, "cpu_core_hour": 12, "effective_from": later}, format="json").status_code == 201
    current = api_as(alice).get("/api/v1/prices/current/").json()
    assert current["cpu_core_hour"] == 10 and current["currency"] == "EUR"
    assert api_as(alice).get("/api/v1/prices/").json()["count"] == 2
    assert AuditEvent.objects.filter(action="prices.created").count() == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"cpu_core_hour": -1}, "cpu_core_hour"),
    ({"memory_gib_hour": -3}, "memory_gib_hour"),
    ({"storage_gib_month": "free"}, "storage_gib_month"),
    ({"gpu_hour": {"h100": -1}}, "gpu_hour"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "GBP"}, "currency"),
    ({"effective_from": "2020-01-01T00:00:00Z"}, "effective_from"),  # the past is not rewritten
])
def test_bad_prices_name_the_field(admin, change, field):
    response = api_as(admin).post("/api/v1/prices/", {**PRICES, **change}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert not PriceSheet.objects.exists()


def test_profiles_show_their_hourly_price(alice, team, small, prices):
    body = api_as(alice).get("/api/v1/profiles/").json()["results"]
    assert [(p["name"], p["hourly_price"], p["currency"]) for p in body] == [("Small", 21, "EUR")]


def test_period_boundaries_follow_the_teams_time_zone(admin, team):
    from datetime import datetime, timezone as dt_timezone

    from costs.services import budget_status

    utc = dt_timezone.utc
    budget = Budget.objects.create(team=team, amount=1000, currency="EUR", thresholds=[50])
    team.time_zone = "Europe/Berlin"
    team.save()
    spend(team, 100, datetime(2026, 10, 31, 22, 59, tzinfo=utc))  # still October in Berlin (UTC+1 after the DST change)
    spend(team, 200, datetime(2026, 10, 31, 23, 0, tzinfo=utc))   # midnight, November 1st, in Berlin
    spend(team, 400, datetime(2026, 11, 30, 23, 0, tzinfo=utc))   # December in Berlin
    status = budget_status(budget, datetime(2026, 11, 15, tzinfo=utc))
    assert (status["period_start"], status["period_end"]) == (datetime(2026, 10, 31, 23, tzinfo=utc), datetime(2026, 11, 30, 23, tzinfo=utc))
    assert status["spent"] == 200
    team.time_zone = "UTC"
    team.save()
    budget.refresh_from_db()
    assert budget_status(budget, datetime(2026, 11, 15, tzinfo=utc))["spent"] == 400  # in UTC only the last is November

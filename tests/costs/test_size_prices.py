"""Choosing a size with its price: the launch form and GET /api/v1/profiles/ show each size's hourly
price and how many hours of it the team's remaining budget pays for (issue 15)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from costs.pricing import MICROS, hours_affordable
from costs.services import budget_set
from tests.conftest import api_as
from tests.costs.conftest import spend


@pytest.mark.parametrize("remaining, rate, hours", [
    (1000, 21 * MICROS, 47.6),  # 10.00 EUR at 0.21 EUR/h: 47.619… rounded down
    (21, 21 * MICROS, 1.0),
    (20, 21 * MICROS, 0.9),
    (0, 21 * MICROS, 0.0),
    (-50, 21 * MICROS, 0.0),  # over budget: nothing left, never negative
    (1000, 0, None),  # a free size: no limit to show
])
def test_hours_affordable(remaining, rate, hours):
    assert hours_affordable(remaining, rate) == hours


def period_start():
    return timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def test_profiles_api_shows_price_and_hours_left(admin, bob, team, other_team, small, prices):
    budget_set(team=team, actor=admin, amount=1000)  # 10.00 EUR; Small costs 0.21 EUR/h
    spend(team, 160, period_start() + timedelta(seconds=1))
    budget_set(team=other_team, actor=admin, amount=99999)  # bob is not in it: not shown to him
    [profile] = api_as(bob).get("/api/v1/profiles/").json()["results"]
    assert (profile["hourly_price"], profile["hourly_price_decimal"], profile["currency"]) == (21, "0.21", "EUR")
    assert profile["budget_hours"] == [{"team": "data-science", "remaining": 840, "hours": 40.0}]
    assert profile["starter"] is False
    detail = api_as(bob).get(f"/api/v1/profiles/{small.pk}/").json()
    assert detail["budget_hours"] == profile["budget_hours"]


def test_without_a_budget_or_prices_nothing_is_promised(admin, bob, team, small):
    [profile] = api_as(bob).get("/api/v1/profiles/").json()["results"]
    assert (profile["hourly_price"], profile["budget_hours"]) == (0, [])
    budget_set(team=team, actor=admin, amount=1000)
    [profile] = api_as(bob).get("/api/v1/profiles/").json()["results"]
    assert profile["budget_hours"] == [{"team": "data-science", "remaining": 1000, "hours": None}]  # free: no limit


def test_launch_form_shows_price_and_hours_of_each_size(client, admin, bob, team, small, gpu_profile, prices):
    budget_set(team=team, actor=admin, amount=1000)
    client.force_login(bob)
    page = client.get("/workspaces/").content.decode()
    assert "Small — 1 CPU · 2 GiB RAM · 10 GiB disk · 0.21 EUR/h · 47.6 h left in Data Science&#x27;s budget" in page
    # GPU: 4 × 0.10 + 16 × 0.05 + 3.00 + 0.01 disk = 4.21 EUR/h
    assert "4.21 EUR/h · 2.3 h left in Data Science&#x27;s budget" in page

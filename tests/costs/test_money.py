"""Money as people type and read it: currency units with the currency's own decimals, stored as minor
units; the API takes the integer field or its "_decimal" twin (issue 15)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from costs.currencies import format_amount, format_money, parse_money
from costs.models import Budget, BudgetGrant, PriceSheet
from costs.services import budget_set
from tests.conftest import api_as


@pytest.mark.parametrize("text, currency, minor", [
    ("1,250.50", "EUR", 125050),
    ("1250.5", "EUR", 125050),
    ("1250", "EUR", 125000),
    ("1,250.50 EUR", "EUR", 125050),
    ("0.07", "EUR", 7),
    ("  12 ", "EUR", 1200),
    ("1,250", "JPY", 1250),
    ("1250 jpy", "JPY", 1250),
    ("1,250,000", "JPY", 1250000),
    ("0.125", "BHD", 125),
    ("7", "BHD", 7000),
])
def test_parse(text, currency, minor):
    assert parse_money(text, currency) == minor


@pytest.mark.parametrize("text, currency, message", [
    ("12,50", "EUR", "Give an amount in EUR, e.g. 1,250.50."),  # a decimal comma is refused, not read as 1250
    ("1,25,000", "EUR", "Give an amount in EUR"),
    ("-3", "EUR", "Give an amount in EUR"),
    ("", "EUR", "Give an amount in EUR"),
    ("1.234", "EUR", "EUR has 2 decimals"),
    ("1250.5", "JPY", "JPY has no decimals: give a whole amount, e.g. 1,250."),
    ("5 USD", "EUR", "Amounts are in EUR, not USD."),
])
def test_parse_refuses_with_a_reason(text, currency, message):
    with pytest.raises(ValueError) as refused:
        parse_money(text, currency)
    assert message in str(refused.value)


@pytest.mark.parametrize("minor, currency, amount, money", [
    (125050, "EUR", "1,250.50", "1,250.50 EUR"),
    (5, "EUR", "0.05", "0.05 EUR"),
    (125050, "JPY", "125,050", "125,050 JPY"),
    (1250500, "BHD", "1,250.500", "1,250.500 BHD"),
])
def test_format(minor, currency, amount, money):
    assert (format_amount(minor, currency), format_money(minor, currency)) == (amount, money)
    assert parse_money(amount, currency) == minor  # what is shown can be typed back


@pytest.mark.parametrize("currency, typed, minor, shown", [("EUR", "1,250.50", 125050, "1,250.50"),
                                                           ("JPY", "1,250", 1250, "1,250")])
def test_budget_and_price_forms_round_trip(client, settings, admin, team, currency, typed, minor, shown):
    settings.PLATFORM_CURRENCY = currency
    client.force_login(admin)
    response = client.post(f"/costs/teams/{team.id}/budget/", {
        "amount": typed, "thresholds": "50, 100", "action": "notify", "grace_minutes": 60, "period_start_day": 1,
        "time_zone": "UTC"}, follow=True)
    assert b"was saved" in response.content
    assert (Budget.objects.get(team=team).amount, Budget.objects.get(team=team).currency) == (minor, currency)
    page = client.get(f"/costs/teams/{team.id}/").content.decode()
    assert f"Amount ({currency})" in page and f'value="{shown}"' in page  # the form shows what was typed
    assert f"{shown} {currency}" in page

    response = client.post("/costs/prices/", {"cpu_core_hour": typed, "memory_gib_hour": "1", "gpu_hour_default": "0",
                                              "gpu_hour_by_type": f"h100={typed}", "storage_gib_month": "1"}, follow=True)
    assert b"new prices were saved" in response.content
    sheet = PriceSheet.objects.get()
    assert (sheet.cpu_core_hour, sheet.gpu_hour["h100"], sheet.currency) == (minor, minor, currency)
    assert f"{shown} {currency}" in client.get("/costs/prices/").content.decode()


def test_a_zero_decimal_currency_refuses_cents_in_the_form(client, settings, admin, team):
    settings.PLATFORM_CURRENCY = "JPY"
    client.force_login(admin)
    response = client.post(f"/costs/teams/{team.id}/budget/", {
        "amount": "1250.50", "thresholds": "100", "action": "notify", "grace_minutes": 60, "period_start_day": 1,
        "time_zone": "UTC"})
    assert response.status_code == 200 and "JPY has no decimals" in response.content.decode()
    assert not Budget.objects.exists()


def test_the_api_takes_minor_units_or_a_decimal_string(admin, team):
    api = api_as(admin)
    as_decimal = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount_decimal": "1,250.50"}, format="json")
    assert as_decimal.status_code == 200, as_decimal.json()
    assert (as_decimal.json()["amount"], as_decimal.json()["amount_decimal"]) == (125050, "1250.50")
    as_integer = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount": 125050}, format="json")
    assert as_integer.json()["amount_decimal"] == "1250.50"

    both = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount": 1, "amount_decimal": "1.00"}, format="json")
    assert both.status_code == 400 and "not both" in both.json()["errors"]["amount_decimal"][0]
    neither = api.put(f"/api/v1/teams/{team.id}/budget/", {"action": "notify"}, format="json")
    assert neither.status_code == 400 and "amount_decimal" in neither.json()["errors"]["amount"][0]
    bad = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount_decimal": "12,50"}, format="json")
    assert bad.status_code == 400 and "Give an amount in EUR" in bad.json()["errors"]["amount_decimal"][0]

    ends = (timezone.now() + timedelta(days=3)).isoformat()
    grant = api.post(f"/api/v1/teams/{team.id}/budget/grants/", {"amount_decimal": "99.99", "ends": ends, "reason": "x"},
                     format="json")
    assert grant.status_code == 201 and grant.json()["amount_decimal"] == "99.99"
    assert BudgetGrant.objects.get().amount == 9999

    prices = api.post("/api/v1/prices/", {"cpu_core_hour_decimal": "0.10", "memory_gib_hour": 5, "storage_gib_month_decimal": "0.73",
                                          "gpu_hour_decimal": {"h100": "3.00", "": "1"}}, format="json")
    assert prices.status_code == 201, prices.json()
    body = prices.json()
    assert (body["cpu_core_hour"], body["memory_gib_hour"], body["storage_gib_month"]) == (10, 5, 73)
    assert body["gpu_hour"] == {"h100": 300, "": 100} and body["gpu_hour_decimal"] == {"h100": "3.00", "": "1.00"}
    assert body["memory_gib_hour_decimal"] == "0.05"


def test_the_api_in_a_zero_decimal_currency(settings, admin, team):
    settings.PLATFORM_CURRENCY = "JPY"
    api = api_as(admin)
    response = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount_decimal": "1,250"}, format="json")
    assert response.status_code == 200 and (response.json()["amount"], response.json()["amount_decimal"]) == (1250, "1250")
    refused = api.put(f"/api/v1/teams/{team.id}/budget/", {"amount_decimal": "1250.5"}, format="json")
    assert refused.status_code == 400 and "JPY has no decimals" in refused.json()["errors"]["amount_decimal"][0]
    budget_set(team=team, actor=admin, amount=1250)
    assert api.get(f"/api/v1/teams/{team.id}/budget/").json()["amount_decimal"] == "1250"

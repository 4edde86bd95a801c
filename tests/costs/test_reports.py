"""Cost reports: grouping, the team's days, CSV, scoping, and a constant number of queries."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from costs.selectors import cost_report
from tests.conftest import api_as
from tests.costs.conftest import spend

UTC = timezone.utc
START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def ledger(team, other_team):
    spend(team, 300, START + timedelta(hours=1), username="alice", profile_name="Small", workspace_id=1)
    spend(team, 200, START + timedelta(days=1, hours=2), username="alice", profile_name="GPU", workspace_id=2)
    spend(team, 150, START + timedelta(days=1, hours=23, minutes=30), username="bob", profile_name="Small", workspace_id=3)
    spend(other_team, 999, START + timedelta(hours=1), username="carol")
    spend(team, 5000, START - timedelta(minutes=1), username="alice")  # before the window


URL = "/api/v1/teams/{}/costs/?start=2026-10-01T00:00:00Z&end=2026-11-01T00:00:00Z&group_by={}"


@pytest.mark.parametrize(("group_by", "expected"), [
    ("user", [("alice", 500), ("bob", 150)]),
    ("profile", [("Small", 450), ("GPU", 200)]),
    ("image", [("local:default", 650)]),
    ("day", [("2026-10-01", 300), ("2026-10-02", 350)]),
    ("workspace", [("ws1", 300), ("ws2", 200), ("ws3", 150)]),
])
def test_groups(alice, team, ledger, group_by, expected):
    body = api_as(alice).get(URL.format(team.id, group_by)).json()
    assert [(g["label"], g["cost"]) for g in body["groups"]] == expected
    assert body["total"] == 650 and body["currency"] == "EUR"


def test_days_are_the_teams_days(alice, team, ledger):
    team.time_zone = "Europe/Berlin"  # 23:30 UTC on Oct 2nd is Oct 3rd in Berlin (UTC+2)
    team.save()
    body = api_as(alice).get(URL.format(team.id, "day")).json()
    assert [(g["label"], g["cost"]) for g in body["groups"]] == [("2026-10-01", 300), ("2026-10-02", 200), ("2026-10-03", 150)]


def test_dates_mean_midnight_in_the_teams_zone(alice, team, ledger):
    team.time_zone = "America/New_York"  # 2026-10-01 is 04:00 UTC: the first record (01:00 UTC) is September there
    team.save()
    body = api_as(alice).get(f"/api/v1/teams/{team.id}/costs/?start=2026-10-01&end=2026-10-31&group_by=user").json()
    assert body["total"] == 350


def test_csv_export(alice, team, ledger):
    response = api_as(alice).get(URL.format(team.id, "user").replace("/costs/", "/costs/export/"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["user", "label", "cost (EUR)", "hours", "records"]
    assert [row[1:3] for row in rows[1:]] == [["alice", "5.00"], ["bob", "1.50"], ["", "6.50"]]


def test_csv_cells_cannot_be_formulas(alice, team):
    spend(team, 100, START + timedelta(hours=1), username="=cmd|' /C calc'!A0")
    response = api_as(alice).get(URL.format(team.id, "user").replace("/costs/", "/costs/export/"))
    assert "'=cmd" in response.content.decode()


def test_who_may_see_reports(admin, bob, carol, team, ledger):
    assert api_as(admin).get(URL.format(team.id, "user")).status_code == 200
    assert api_as(bob).get(URL.format(team.id, "user")).status_code == 403
    assert api_as(carol).get(URL.format(team.id, "user")).status_code == 404
    assert api_as(carol).get(URL.format(team.id, "user").replace("/costs/", "/costs/export/")).status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ("group_by=colour", "group_by"),
    ("start=yesterday", "start"),
    ("start=2026-10-05&end=2026-10-01", "end"),
    ("start=2020-01-01&end=2026-01-01", "end"),
])
def test_bad_report_parameters(alice, team, query, field):
    response = api_as(alice).get(f"/api/v1/teams/{team.id}/costs/?{query}")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


def test_default_window_is_the_current_period(alice, team):
    body = api_as(alice).get(f"/api/v1/teams/{team.id}/costs/").json()
    assert body["group_by"] == "user" and body["total"] == 0


@pytest.mark.parametrize("users", [3, 30])
def test_reports_take_one_query_however_many_users(team, django_assert_num_queries, users):
    for i in range(users):
        spend(team, 10, START + timedelta(hours=i % 24), username=f"u{i}", workspace_id=i)
    for group_by in ("user", "profile", "image", "day", "workspace"):
        with django_assert_num_queries(1):
            groups, total = cost_report(team=team, start=START, end=START + timedelta(days=31), group_by=group_by)
        assert total == 10 * users

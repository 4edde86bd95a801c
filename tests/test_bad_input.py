"""Bad input never answers 5xx: each case of issue 10's list as a row, with the status and the field
the answer must name. (tests/test_api_schema_walk.py adds generated input on every route.)"""

import json
import threading
import time

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from costs.models import Budget
from portal.accounts.models import Team, User
from tests.conftest import api_as, make_user
from workspaces.models import Profile

PROFILE = {"name": "huge", "cpu": "2", "memory": "4Gi"}
PRICES = {"cpu_core_hour": 3, "memory_gib_hour": 1, "storage_gib_month": 10}
BUDGET = {"amount": 10000}

# (method, path, body or None, expected status, field the errors name)
BAD_BODIES = [
    ("post", "/api/v1/profiles/", {**PROFILE, "memory": "999999999Ti"}, 400, "memory"),
    ("post", "/api/v1/profiles/", {**PROFILE, "memory": 10**30}, 400, "memory"),
    ("post", "/api/v1/profiles/", {**PROFILE, "memory": "9" * 5000}, 400, "memory"),
    ("post", "/api/v1/profiles/", {**PROFILE, "disk": "9999999Ti"}, 400, "disk"),
    ("post", "/api/v1/profiles/", {**PROFILE, "hourly_price_hint": 10**40}, 400, "hourly_price_hint"),
    ("post", "/api/v1/profiles/", {**PROFILE, "idle_timeout_minutes": 10**40}, 400, "idle_timeout_minutes"),
    ("post", "/api/v1/profiles/", {**PROFILE, "cpu": "1e400"}, 400, "cpu"),
    ("post", "/api/v1/prices/", {**PRICES, "cpu_core_hour": 10**40}, 400, "cpu_core_hour"),
    ("post", "/api/v1/prices/", {**PRICES, "gpu_hour": {"h100": 10**40}}, 400, "gpu_hour"),
    ("post", "/api/v1/prices/", {**PRICES, "cpu_core_hour": -1}, 400, "cpu_core_hour"),
    ("put", "/api/v1/teams/{team}/budget/", {**BUDGET, "amount": 10**40}, 400, "amount"),
    ("put", "/api/v1/teams/{team}/budget/", {**BUDGET, "grace_minutes": 10**40}, 400, "grace_minutes"),
    ("put", "/api/v1/teams/{team}/budget/", {**BUDGET, "thresholds": [10**40]}, 400, "thresholds"),
    ("put", "/api/v1/teams/{team}/budget/", {**BUDGET, "period_start_day": -10**40}, 400, "period_start_day"),
    ("post", "/api/v1/teams/{team}/budget/grants/", {"amount": 10**40, "ends": "2099-01-01T00:00:00Z", "reason": "x"}, 400, "amount"),
    ("post", "/api/v1/tokens/", {"name": "t", "expires_in_days": 10**40}, 400, "expires_in_days"),
    ("post", "/api/v1/images/robots/", {"name": "ci", "scopes": [{"repository": "platform/*"}], "days": 10**40}, 400, "days"),
    ("post", "/api/v1/teams/", {"name": "Ｄａｔａ Ｓｃｉｅｎｃｅ"}, 400, "name"),  # full-width: NFKC is "Data Science"
    ("post", "/api/v1/teams/", {"name": "DATA SCIENCE"}, 400, "name"),
    ("post", "/api/v1/teams/", {"name": "Data\u200bScience"}, 400, "name"),  # a zero-width space
    ("post", "/api/v1/teams/", {"name": "\ufdfa" * 10}, 400, "name"),  # 10 characters, 180 once normalised
    ("post", "/api/v1/users/", {"username": "ＡＬＩＣＥ", "password": "a-long-enough-passphrase"}, 400, "username"),
    ("post", "/api/v1/users/", {"username": "Alice", "password": "a-long-enough-passphrase"}, 400, "username"),
    ("post", "/api/v1/profiles/", {**PROFILE, "name": "ＳＭＡＬＬ"}, 400, "name"),
    ("patch", "/api/v1/teams/{team}/", {"name": "Ｒｅｓｅａｒｃｈ"}, 400, "name"),
]


@pytest.fixture
def setup(admin, team, other_team, alice):
    Membership = team.memberships.model
    Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
    Profile.objects.create(name="small", cpu=1, memory_bytes=2**30)
    Budget.objects.create(team=team, amount=100)
    return api_as(admin)


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD_BODIES)
def test_bad_values_are_400_naming_the_field(setup, team, method, path, body, status, field):
    response = getattr(setup, method)(path.format(team=team.id), body, format="json")
    assert response.status_code == status, response.content
    assert field in response.json()["errors"], response.json()


@pytest.mark.parametrize("parameters", [
    {"start": "2026-02-30"}, {"start": "2026-13-01"}, {"start": "yesterday"}, {"end": "2026-11-01T25:00:00Z"},
    {"start": "2026-11-01T00:00:00+25:00"}, {"start": "2026-11-01T00:00:00+24:00"},
    {"start": "0001-01-01T00:00:00+05:00"}, {"end": "9999-12-31T23:59:59-05:00"}, {"end": "9999-12-31"},
    {"start": "1-1-1"},
])
@pytest.mark.parametrize("export", ["", "export/"])
def test_invalid_dates_and_offsets_on_cost_reports_are_400(setup, team, parameters, export):
    response = setup.get(f"/api/v1/teams/{team.id}/costs/{export}", parameters)
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == set(parameters)


@pytest.mark.parametrize(("query", "field"), [
    ("page_size=-1", "page_size"), ("page_size=0", "page_size"), ("page_size=ten", "page_size"),
    ("page=0", "page"), ("page=-3", "page"), ("page=first", "page"),
])
def test_page_sizes_and_pages_that_are_not_positive_are_400(setup, query, field):
    response = setup.get(f"/api/v1/teams/?{query}")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_page_size_within_the_limit_and_the_last_page_still_work(setup):
    assert setup.get("/api/v1/teams/?page_size=1&page=2").status_code == 200
    assert setup.get("/api/v1/teams/?page_size=1&page=last").status_code == 200
    assert setup.get("/api/v1/teams/?page_size=100000").json()["count"] == 2


def test_a_body_over_the_limit_is_413_before_it_is_read(setup, settings, client):
    settings.PLATFORM_MAX_REQUEST_BYTES = 64 * 1024
    big = json.dumps({"name": "x" * 70_000})
    response = setup.post("/api/v1/tokens/", big, content_type="application/json")
    assert response.status_code == 413
    assert set(response.json()) == {"detail", "errors"} and "limit of 65536 bytes" in response.json()["detail"]
    page = client.post("/accounts/login/", {"username": "x", "password": "y" * 70_000})
    assert page.status_code == 413
    assert setup.post("/api/v1/tokens/", json.dumps({"name": "x" * 50}), content_type="application/json").status_code == 201


@pytest.mark.parametrize("depth", [65, 500, 100_000])
def test_deeply_nested_json_is_400(setup, depth):
    body = '{"name": "t", "scopes": ' + "[" * depth + "]" * depth + "}"
    response = setup.post("/api/v1/images/robots/", body, content_type="application/json")
    assert response.status_code == 400 and "nested deeper than 64 levels" in response.json()["detail"]


def test_nesting_a_real_document_needs_is_accepted(setup):
    nested = {"components": [{"components": [{"name": "numpy", "version": "2.1"}]}]}
    response = setup.post("/api/v1/images/sboms/", {"digest": "sha256:" + "0" * 64, "sbom": nested}, format="json")
    assert response.status_code != 400 or "nested" not in response.json()["detail"]


@pytest.mark.parametrize("text", ['"a\\u0000b"', '"\\ud800"', '"\\udfff tail"'])
def test_strings_no_database_stores_are_400(setup, text):
    body = '{"digest": "sha256:' + "0" * 64 + '", "sbom": {"packages": [{"name": ' + text + "}]}}"
    response = setup.post("/api/v1/images/sboms/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    as_key = setup.post("/api/v1/images/reports/", '{"report": {' + text + ': 1}}', content_type="application/json")
    assert as_key.status_code == 400


def test_nul_in_the_query_string_or_path_is_400(setup, client, bob):
    assert setup.get("/api/v1/users/?search=a%00b").status_code == 400
    assert setup.get("/api/v1/teams/1/members/bob%00/").status_code == 400
    client.force_login(bob)
    assert client.get("/images/?q=%00").status_code == 400


def test_huge_ids_in_paths_are_404(setup):
    assert setup.get(f"/api/v1/workspaces/{10**30}/").status_code == 404
    assert setup.get(f"/api/v1/teams/{2**63}/").status_code == 404


# --- Concurrent duplicate creates -------------------------------------------------------------
# Deterministic: another connection inserts the same row and holds its transaction open; the request
# passes its "does it exist?" check (it cannot see the row), then waits on the unique index until
# the other transaction commits, and meets the constraint.

CREATES = [
    ("/api/v1/teams/", {"name": "Racers"},
     "INSERT INTO accounts_team (name, slug, description, time_zone, starter, created)"
     " VALUES ('Racers', 'racers', '', 'UTC', false, now())",
     "name"),
    ("/api/v1/users/", {"username": "racer", "password": "a-long-enough-passphrase"},
     "INSERT INTO accounts_user (username, password, is_superuser, first_name, last_name, email, is_staff, is_active, date_joined)"
     " VALUES ('racer', '!', false, '', '', '', false, true, now())",
     "username"),
    ("/api/v1/profiles/", {**PROFILE, "name": "racer"},
     "INSERT INTO workspaces_profile (name, description, cpu, memory_bytes, gpus, gpu_type, disk_bytes, hourly_price_hint,"
     " enabled, all_teams, starter, created) VALUES ('racer', '', 1, 1073741824, 0, '', 1073741824, 0, true, true, false, now())",
     "name"),
]


def _other_connection():
    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                           password=settings["PASSWORD"] or None, dbname=settings["NAME"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("path", "body", "insert", "field"), CREATES)
def test_concurrent_duplicate_creates_are_400_not_500(admin, path, body, insert, field):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    token = api_as(admin)._credentials["HTTP_AUTHORIZATION"]
    answers = []

    def request():
        try:
            answers.append(APIClient().post(path, body, format="json", HTTP_AUTHORIZATION=token))
        finally:
            from django.db import connection as thread_connection

            thread_connection.close()

    with _other_connection() as other:
        other.execute(insert)
        racer = threading.Thread(target=request)
        racer.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(other):
            assert racer.is_alive() and time.monotonic() < deadline, f"the request never waited on the insert: {answers}"
            time.sleep(0.05)
        other.commit()
    racer.join(30)
    [response] = answers
    assert response.status_code in (400, 409), response.content
    assert field in response.json()["errors"] or response.status_code == 409


def _waiting_on_a_lock(other):
    with _other_connection() as observer:
        return observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0] > 0


def test_names_are_stored_normalised(setup):
    created = setup.post("/api/v1/teams/", {"name": "  Ｑｕａｎｔ  Ｌａｂ "}, format="json").json()
    assert created["name"] == "Quant  Lab" and Team.objects.filter(name="Quant  Lab").exists()
    assert User.objects.filter(username="alice").count() == 1
    make_user("zoë")
    assert setup.post("/api/v1/users/", {"username": "zoe\u0308", "password": "a-long-enough-passphrase"},
                      format="json").status_code == 400  # e + combining diaeresis is zoë

"""One error shape, JSON 404s under /api/, and the published OpenAPI schema."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import api_as


def test_malformed_json_is_a_400_with_the_standard_shape(alice):
    response = api_as(alice).post("/api/v1/tokens/", "{not json", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and "JSON parse error" in body["detail"]


def test_unsupported_media_type_is_415(alice):
    response = api_as(alice).post("/api/v1/tokens/", "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_unknown_api_path_is_a_json_404(alice):
    response = api_as(alice).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


def test_method_not_allowed_is_405(alice):
    assert api_as(alice).put("/api/v1/users/me/", {}, format="json").status_code == 405


def test_validation_errors_carry_detail_and_fields(admin):
    body = api_as(admin).post("/api/v1/teams/", {}, format="json").json()
    assert body["detail"].startswith("Invalid input")
    assert body["errors"] == {"name": ["This field is required."]}


def test_pagination_shape_and_page_size(admin):
    from portal.accounts.models import Team

    Team.objects.bulk_create([Team(name=f"T{index:03}", slug=f"t{index:03}") for index in range(7)])
    body = api_as(admin).get("/api/v1/teams/?page_size=3&page=2").json()
    assert body["count"] == 7 and len(body["results"]) == 3
    assert body["next"].endswith("page=3&page_size=3") and body["previous"]
    assert api_as(admin).get("/api/v1/teams/?page=99").status_code == 404


@pytest.mark.parametrize(("teams", "page_size", "pages"), [(0, 3, 1), (2, 3, 1), (3, 3, 1), (4, 3, 2), (7, 3, 3)])
def test_a_first_page_that_holds_the_whole_list_needs_no_count_query(admin, teams, page_size, pages):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.accounts.models import Team

    Team.objects.bulk_create([Team(name=f"T{index:03}", slug=f"t{index:03}") for index in range(teams)])
    client = api_as(admin)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"/api/v1/teams/?page_size={page_size}").json()
    assert body["count"] == teams and [team["slug"] for team in body["results"]] == [f"t{i:03}" for i in range(min(teams, page_size))]
    assert (body["next"] is not None) == (pages > 1) and body["previous"] is None
    counted = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT COUNT(*)")]
    assert bool(counted) == (pages > 1), counted  # a full first page may be followed: then the count is asked for
    last = client.get(f"/api/v1/teams/?page_size={page_size}&page=last").json()
    assert last["count"] == teams and len(last["results"]) == (teams - (pages - 1) * page_size if teams else 0)


def test_schema_and_docs_are_served(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/auth/token/", "/api/v1/users/me/", "/api/v1/teams/{team_id}/members/", "/api/v1/audit/"]:
        assert path in paths
    assert schema.json()["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()

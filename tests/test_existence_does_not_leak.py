"""Another team's slug or id gets the same answer as a made-up one, on every route that takes one;
scan exceptions show other teams' entries only to platform admins."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from images import services as image_services
from images.models import Repository
from tests.conftest import api_as
from tests.images.factories import make_image
from workspaces.models import Profile

MADE_UP_SLUG, MADE_UP_ID = "no-such-team", 987654


@pytest.fixture
def world(team, other_team, bob, carol):
    Profile.objects.create(name="small", cpu=1, memory_bytes=2**30)
    Profile.objects.create(name="research-gpu", cpu=1, memory_bytes=2**30, all_teams=False).teams.set([other_team])
    return {"own_image": make_image("users/bob/tools", tag="v1")}


def _answer(response, *values):
    """Status and body, with the slug or id the caller sent blanked out (and pages' CSRF tokens,
    which are masked afresh in every response)."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())
    for value in values:
        body = re.sub(rf"(?<![\w.-]){re.escape(str(value))}(?![\w.-])", "<sent>", body)
    return response.status_code, body


def _slug_routes(world):
    image = world["own_image"].pk
    return [
        ("get", "/api/v1/images/policy/teams/{slug}/", None),
        ("put", "/api/v1/images/policy/teams/{slug}/", {"block_threshold": "HIGH", "allow_unscanned": False}),
        ("post", "/api/v1/workspaces/", {"name": "probe", "profile": "small", "team": "{slug}"}),
        ("post", "/api/v1/projects/", {"name": "probe", "team": "{slug}"}),
        ("get", "/api/v1/images/choices/?team={slug}", None),
        ("post", f"/api/v1/images/{image}/approve/", {"all_teams": False, "teams": ["{slug}"]}),
    ]


def _id_routes():
    return [
        ("get", "/api/v1/teams/{id}/", None), ("patch", "/api/v1/teams/{id}/", {"description": "x"}),
        ("delete", "/api/v1/teams/{id}/", None), ("get", "/api/v1/teams/{id}/members/", None),
        ("post", "/api/v1/teams/{id}/members/", {"username": "bob"}), ("get", "/api/v1/teams/{id}/members/carol/", None),
        ("get", "/api/v1/teams/{id}/budget/", None), ("get", "/api/v1/teams/{id}/budget/grants/", None),
        ("get", "/api/v1/teams/{id}/costs/", None), ("get", "/api/v1/teams/{id}/costs/export/", None),
    ]


def _fill(value, slug):
    if isinstance(value, str):
        return value.replace("{slug}", slug)
    if isinstance(value, list):
        return [_fill(item, slug) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, slug) for key, item in value.items()}
    return value


def test_another_teams_slug_answers_like_a_made_up_one(world, bob, other_team):
    api = api_as(bob)
    for method, path, body in _slug_routes(world):
        answers = []
        for slug in (other_team.slug, MADE_UP_SLUG):
            response = getattr(api, method)(path.replace("{slug}", slug), _fill(body, slug), format="json")
            assert response.status_code < 500
            answers.append(_answer(response, slug))
        assert answers[0] == answers[1], (method, path, answers)


def test_another_teams_id_answers_like_a_made_up_one(world, bob, other_team):
    api = api_as(bob)
    for method, path, body in _id_routes():
        answers = [_answer(getattr(api, method)(path.format(id=team_id), body, format="json"), team_id)
                   for team_id in (other_team.pk, MADE_UP_ID)]
        assert answers[0] == answers[1], (method, path, answers)


def test_a_profile_of_another_team_answers_like_a_made_up_one(world, bob):
    api = api_as(bob)
    answers = [_answer(api.post("/api/v1/workspaces/", {"name": "probe", "profile": name}, format="json"), name)
               for name in ("research-gpu", "no-such-profile")]
    assert answers[0] == answers[1] and answers[0][0] == 400


def test_pages_answer_another_team_like_a_made_up_one(world, bob, other_team):
    browser = Client()
    browser.force_login(bob)
    for path, real, made_up in [("/teams/{}/", other_team.slug, MADE_UP_SLUG), ("/costs/teams/{}/", other_team.pk, MADE_UP_ID)]:
        answers = [_answer(browser.get(path.format(value)), value) for value in (real, made_up)]
        assert answers[0] == answers[1] and answers[0][0] == 404, path


def test_scan_exceptions_of_other_teams_are_for_platform_admins_only(world, admin, bob, team, other_team):
    def grant(vulnerability, *, team=None, repository=None):
        image_services.scan_exception_create(vulnerability_id=vulnerability, justification="accepted risk", team=team,
                                             repository=repository, expires=timezone.now() + timedelta(days=7), actor=admin)

    theirs = make_image("teams/research/secret-project", tag="v1").repository
    grant("CVE-2026-0001")                                   # every team, every repository
    grant("CVE-2026-0002", team=team)                        # bob's team
    grant("CVE-2026-0003", repository=Repository.objects.get(name="users/bob/tools"))  # bob's own repository
    grant("CVE-2026-0004", team=other_team)                  # another team
    grant("CVE-2026-0005", repository=theirs)                # another team's repository (its name is news)

    def seen(user):
        results = api_as(user).get("/api/v1/images/exceptions/").json()["results"]
        return sorted(item["vulnerability_id"] for item in results)

    assert seen(bob) == ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"]
    assert seen(admin) == [f"CVE-2026-000{n}" for n in range(1, 6)]
    assert "secret-project" not in api_as(bob).get("/api/v1/images/exceptions/").content.decode()

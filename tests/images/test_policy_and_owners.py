"""Team policies (who may set them), who hears about new findings, and the catalog sync on the beat schedule."""

import pytest
from django.conf import settings

from images import services
from images.models import ScanPolicy
from tests.conftest import api_as, make_user
from tests.images.factories import make_image

pytestmark = pytest.mark.django_db


def test_team_admins_set_their_teams_policy_only(alice, bob, carol, team, other_team):
    body = {"block_threshold": "HIGH", "allow_unscanned": False}
    assert api_as(alice).put("/api/v1/images/policy/teams/data-science/", body, format="json").status_code == 200
    assert ScanPolicy.objects.get(team=team).block_threshold == "HIGH"
    assert api_as(bob).put("/api/v1/images/policy/teams/data-science/", body, format="json").status_code == 403  # member
    # another team: 404, the answer a made-up slug gets (tests/test_existence_does_not_leak.py)
    assert api_as(carol).put("/api/v1/images/policy/teams/data-science/", body, format="json").status_code == 404
    assert api_as(alice).put("/api/v1/images/policy/", body, format="json").status_code == 403  # the platform's
    bad = api_as(alice).put("/api/v1/images/policy/teams/data-science/", {"block_threshold": "SEVERE"}, format="json")
    assert bad.status_code == 400 and "block_threshold" in bad.json()["errors"]
    assert api_as(bob).get("/api/v1/images/policy/teams/data-science/").json()["block_threshold"] == "HIGH"


def test_owners_of_each_namespace(alice, bob, admin, team):
    make_user("dora", team=team)
    team_repo = make_image("teams/data-science/base", "1").repository
    user_repo = make_image("users/bob/tools", "1").repository
    platform_repo = make_image().repository
    assert services.image_owners(team_repo) == [alice]  # the team's admins, not its members
    assert services.image_owners(user_repo) == [bob]
    assert services.image_owners(platform_repo) == [admin]


def test_catalog_sync_runs_on_the_beat_schedule():
    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["image-catalog-sync"]
    assert entry["task"] in app.tasks and entry["schedule"].total_seconds() == settings.PLATFORM_REGISTRY_SYNC_SECONDS

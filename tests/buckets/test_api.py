"""The buckets API: scoped listings, links the client follows to the store itself, admin-only changes
with a 400 naming the field, and secrets only where they belong."""

import json

import pytest
import requests

from buckets import services
from buckets.models import Bucket, State
from portal.audit.models import AuditEvent
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(s3, alice, bob, carol, team, other_team):
    for t in (team, other_team):
        services.bucket_provision(bucket_id=services.bucket_ensure_team(team=t).pk)
    for user in (alice, bob, carol):
        services.identity_sync(user_id=user.pk)


def test_listing_shows_mine_and_my_teams(ready, alice, carol, team):
    names = {item["name"] for item in api_as(alice).get("/api/v1/buckets/").json()["results"]}
    assert names == {Bucket.objects.get(owner=alice).name, Bucket.objects.get(team=team).name}
    carols = Bucket.objects.get(owner=carol)
    assert api_as(alice).get(f"/api/v1/buckets/{carols.pk}/").status_code == 404
    detail = api_as(carol).get(f"/api/v1/buckets/{carols.pk}/").json()
    assert detail["state"] == State.READY and detail["kind"] == "personal" and detail["owner"] == "carol"


def test_upload_and_download_through_presigned_links(ready, alice, bob, team):
    bucket = Bucket.objects.get(team=team)
    link = api_as(alice).post(f"/api/v1/buckets/{bucket.pk}/upload-link/", {"key": "in/iris.csv"}, format="json").json()
    assert link["method"] == "PUT"
    assert requests.put(link["url"], data=b"a,b\n1,2\n", timeout=10).status_code == 200
    listing = api_as(bob).get(f"/api/v1/buckets/{bucket.pk}/objects/").json()
    assert listing["prefixes"] == ["in/"]
    listing = api_as(bob).get(f"/api/v1/buckets/{bucket.pk}/objects/", {"prefix": "in/"}).json()
    assert [item["key"] for item in listing["objects"]] == ["in/iris.csv"]
    link = api_as(bob).post(f"/api/v1/buckets/{bucket.pk}/download-link/", {"key": "in/iris.csv"}, format="json").json()
    assert requests.get(link["url"], timeout=10).content == b"a,b\n1,2\n"


def test_outsiders_and_admins_get_no_links_to_others_data(ready, alice, carol, admin, team):
    bucket = Bucket.objects.get(team=team)
    assert api_as(carol).post(f"/api/v1/buckets/{bucket.pk}/download-link/", {"key": "x"}, format="json").status_code == 404
    # a platform admin sees the bucket but cannot open its data
    assert api_as(admin).get(f"/api/v1/buckets/{bucket.pk}/").status_code == 200
    answer = api_as(admin).post(f"/api/v1/buckets/{bucket.pk}/download-link/", {"key": "x"}, format="json")
    assert answer.status_code == 400


@pytest.mark.parametrize("body, field", [
    ({"name": "Bad Name!"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "raw", "quota_bytes": -5}, "quota_bytes"),
    ({"name": "raw", "quota_bytes": "lots"}, "quota_bytes"),
    ({"name": "raw", "quota_bytes": 10**30}, "quota_bytes"),
    ({"name": "raw", "quota_bytes": True}, "quota_bytes"),
])
def test_bad_team_bucket_input_names_the_field(ready, admin, team, body, field):
    answer = api_as(admin).post(f"/api/v1/teams/{team.pk}/buckets/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"]


def test_admins_add_team_buckets_and_set_quotas(ready, admin, alice, team):
    assert api_as(admin).post("/api/v1/teams/999999/buckets/", {"name": "raw"}, format="json").status_code == 404
    assert api_as(alice).post(f"/api/v1/teams/{team.pk}/buckets/", {"name": "raw"}, format="json").status_code == 403
    answer = api_as(admin).post(f"/api/v1/teams/{team.pk}/buckets/", {"name": "raw", "quota_bytes": 2**30}, format="json")
    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert created["name"].endswith("-t-data-science-raw") and created["quota_bytes"] == 2**30
    again = api_as(admin).post(f"/api/v1/teams/{team.pk}/buckets/", {"name": "raw"}, format="json")
    assert again.status_code == 400 and "name" in again.json()["errors"]
    quota = api_as(admin).put(f"/api/v1/buckets/{created['id']}/quota/", {"quota_bytes": "nope"}, format="json")
    assert quota.status_code == 400 and "quota_bytes" in quota.json()["errors"]
    assert api_as(alice).put(f"/api/v1/buckets/{created['id']}/quota/", {"quota_bytes": None}, format="json").status_code == 403
    assert api_as(admin).put(f"/api/v1/buckets/{created['id']}/quota/", {"quota_bytes": None}, format="json").json()["quota_bytes"] is None
    names = [item["name"] for item in api_as(alice).get(f"/api/v1/teams/{team.pk}/buckets/").json()]
    assert created["name"] in names


def test_the_secret_is_shown_once_and_never_listed_or_audited(ready, alice, bob):
    credentials = api_as(alice).get("/api/v1/users/me/s3-credentials/").json()
    assert credentials["state"] == State.READY and credentials["access_key_id"]
    revealed = api_as(alice).post("/api/v1/users/me/s3-credentials/reveal/")
    assert revealed.status_code == 200 and revealed["Cache-Control"] == "no-store"
    secret = revealed.json()["secret_access_key"]
    assert api_as(alice).post("/api/v1/users/me/s3-credentials/reveal/").status_code == 400
    rotated = api_as(alice).post("/api/v1/users/me/s3-credentials/rotate/")
    assert rotated.status_code == 202 and rotated.json()["rotation_requested"] is True
    everything = [api_as(alice).get(path).content for path in (
        "/api/v1/buckets/", "/api/v1/users/me/s3-credentials/", "/api/v1/users/me/")]
    everything += [api_as(bob).get("/api/v1/users/me/s3-credentials/").content]
    everything += [json.dumps(list(AuditEvent.objects.values()), default=str).encode()]
    assert not any(secret.encode() in blob for blob in everything)
    assert AuditEvent.objects.filter(action="storage.key_revealed", actor_username="alice").exists()

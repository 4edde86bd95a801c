"""Personal access tokens: obtain, use, list, revoke; hashed, shown once, expiring."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.models import AccessToken, token_digest
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, api_as, token_for


def obtain(username, password, **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json")


def test_obtain_token_with_password_and_use_it(alice):
    response = obtain("alice", PASSWORD)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "scope", "token", "expires"} and body["scope"] == "write"
    me = api_as(token=body["token"]).get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


def test_token_is_stored_hashed_not_in_clear(alice):
    raw = obtain("alice", PASSWORD).json()["token"]
    stored = AccessToken.objects.get(user=alice)
    assert stored.digest == token_digest(raw)
    assert raw not in {stored.digest, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)


def test_token_creation_is_audited_without_the_secret(alice):
    raw = obtain("alice", PASSWORD).json()["token"]
    event = AuditEvent.objects.get(action="token.created")
    assert event.actor_username == "alice"
    assert event.ip_address == "127.0.0.1"
    assert raw not in str(event.data) and raw not in event.target_repr


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("nobody", PASSWORD), ("", "")])
def test_bad_credentials_are_refused(alice, username, password):
    response = obtain(username, password)
    assert response.status_code in (400, 401)
    assert "detail" in response.json() and "errors" in response.json()


def test_wrong_password_is_401_and_audited(alice):
    response = obtain("alice", "wrong")
    assert response.status_code == 401
    assert response.json()["detail"] == "Unable to log in with the provided username and password."
    assert AuditEvent.objects.filter(action="auth.login_failed", data__username="alice").exists()


def test_missing_fields_name_the_field(db):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"password": ["This field is required."]}


def test_inactive_user_cannot_obtain_or_use_tokens(alice):
    raw = token_for(alice)
    alice.is_active = False
    alice.save()
    assert obtain("alice", PASSWORD).status_code == 401
    assert api_as(token=raw).get("/api/v1/users/me/").status_code == 401


def test_token_obtain_is_rate_limited(alice, settings):
    settings.PLATFORM_LOGIN_RATE = "3/minute"
    codes = [obtain("alice", "wrong").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_expired_token_is_refused(alice):
    raw = token_for(alice)
    AccessToken.objects.filter(user=alice).update(expires=timezone.now() - timedelta(seconds=1))
    response = api_as(token=raw).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer dsw_not-a-real-token", "Bearer nonsense"])
def test_malformed_or_unknown_tokens_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/users/me/").status_code == 401


def test_unauthenticated_requests_are_401(db):
    for path in ["/api/v1/users/me/", "/api/v1/tokens/", "/api/v1/teams/"]:
        assert APIClient().get(path).status_code == 401, path


def test_create_list_and_revoke_tokens(alice):
    client = api_as(alice)
    created = client.post("/api/v1/tokens/", {"name": "nightly job", "expires_in_days": 7}, format="json")
    assert created.status_code == 201
    new_raw, new_id = created.json()["token"], created.json()["id"]
    listing = client.get("/api/v1/tokens/").json()
    assert listing["count"] == 2
    assert all("token" not in item and "digest" not in item for item in listing["results"])
    expires = AccessToken.objects.get(pk=new_id).expires
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)

    assert client.delete(f"/api/v1/tokens/{new_id}/").status_code == 204
    assert client.delete(f"/api/v1/tokens/{new_id}/").status_code == 204  # idempotent
    assert api_as(token=new_raw).get("/api/v1/users/me/").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
    assert client.get(f"/api/v1/tokens/{new_id}/").json()["state"] == "revoked"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
     ({"name": "x", "expires_in_days": 100000}, "expires_in_days"), ({"name": "x", "expires_in_days": "soon"}, "expires_in_days")],
)
def test_bad_token_input_names_the_field(alice, payload, field):
    response = api_as(alice).post("/api/v1/tokens/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_users_cannot_see_or_revoke_each_others_tokens(alice, bob):
    bob_raw = token_for(bob)
    bob_token = AccessToken.objects.get(user=bob)
    client = api_as(alice)
    assert client.get(f"/api/v1/tokens/{bob_token.id}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{bob_token.id}/").status_code == 404
    assert bob_token.id not in [item["id"] for item in client.get("/api/v1/tokens/").json()["results"]]
    assert api_as(token=bob_raw).get("/api/v1/users/me/").status_code == 200


def test_purge_drops_only_long_dead_tokens(alice):
    from portal.accounts.services import token_purge_expired

    token_for(alice)
    token_for(alice)
    old = AccessToken.objects.filter(user=alice).first()
    AccessToken.objects.filter(pk=old.pk).update(expires=timezone.now() - timedelta(days=91))
    assert token_purge_expired() == 1
    assert token_purge_expired() == 0
    assert AccessToken.objects.filter(user=alice).count() == 1

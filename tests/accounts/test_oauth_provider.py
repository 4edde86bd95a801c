"""The portal as OAuth 2 provider: only the hub's sign-in endpoints exist, no password grant, the
hub's `read` token reads the person's identity and nothing else, and dies with the account."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from oauth2_provider.models import AccessToken as OAuthAccessToken
from oauth2_provider.models import RefreshToken

from portal.accounts import services
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, api_as
from portal.processes.children import hub_oauth_client_ensure


@pytest.fixture
def hub_client(db):
    return hub_oauth_client_ensure()


def _basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _hub_credentials():
    return _basic(settings.PLATFORM_HUB_OAUTH_CLIENT_ID, settings.PLATFORM_HUB_OAUTH_CLIENT_SECRET)


def sign_in_through_the_hub(user, hub_client):
    """What the hub's GenericOAuthenticator does: authorization code with PKCE, then the token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = hub_client.redirect_uris
    browser = Client()
    browser.force_login(user)
    answer = browser.get("/o/authorize/", {
        "response_type": "code", "client_id": hub_client.client_id, "redirect_uri": redirect_uri, "scope": "read",
        "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"})
    assert answer.status_code == 302 and answer.url.startswith(redirect_uri), answer
    code = parse_qs(urlsplit(answer.url).query)["code"][0]
    token = Client().post("/o/token/", {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                         "code_verifier": verifier}, HTTP_AUTHORIZATION=_hub_credentials())
    assert token.status_code == 200, token.content
    return token.json()


@pytest.mark.parametrize("path", [
    "/o/applications/", "/o/applications/register/", "/o/applications/1/", "/o/authorized_tokens/",
    "/o/introspect/", "/o/register/", "/o/device-authorization/", "/o/device/", "/o/userinfo/",
    "/o/.well-known/openid-configuration", "/o/.well-known/jwks.json", "/o/.well-known/oauth-authorization-server",
])
def test_only_the_sign_in_endpoints_are_routed(client, bob, admin, path):
    for person in (bob, admin):
        client.force_login(person)
        assert client.get(path).status_code == 404
        assert client.post(path, {"name": "mine", "client_type": "public", "authorization_grant_type": "password",
                                  "redirect_uris": "https://evil.example/cb"}).status_code == 404


def test_the_password_grant_is_refused_before_the_password_is_looked_at(hub_client, alice):
    def grant(password):
        return Client().post("/o/token/", {"grant_type": "password", "username": "alice", "password": password,
                                            "scope": "read"}, HTTP_AUTHORIZATION=_hub_credentials())

    right, wrong = grant(PASSWORD), grant("not her password")
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json() == {"error": "unsupported_grant_type"}  # no yes/no oracle
    assert not AuditEvent.objects.filter(action__startswith="auth.login").exists()  # no password was checked
    assert not OAuthAccessToken.objects.exists()


def test_the_hubs_read_token_reads_the_identity_and_nothing_else(hub_client, bob, team):
    token = sign_in_through_the_hub(bob, hub_client)
    assert token["scope"] == "read"
    api = api_as(token=token["access_token"])
    me = api.get("/api/v1/users/me/")
    assert me.status_code == 200 and me.json()["username"] == "bob"
    refused = {
        ("patch", "/api/v1/users/me/"): {"first_name": "Mallory"},
        ("get", "/api/v1/teams/"): None, ("get", f"/api/v1/teams/{team.id}/members/"): None,
        ("get", "/api/v1/workspaces/"): None, ("get", "/api/v1/profiles/"): None, ("get", "/api/v1/images/"): None,
        ("get", "/api/v1/tokens/"): None, ("post", "/api/v1/tokens/"): {"name": "escalate"},
        ("get", "/api/v1/prices/"): None, ("get", "/api/v1/audit/"): None,
    }
    for (method, path), body in refused.items():
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["detail"] == "OAuth tokens of the platform's applications may not use this endpoint."


def test_a_deactivated_persons_oauth_tokens_stop_at_once(hub_client, bob, admin):
    token = sign_in_through_the_hub(bob, hub_client)
    api = api_as(token=token["access_token"])
    assert api.get("/api/v1/users/me/").status_code == 200
    services.user_set_active(user=bob, active=False, actor=admin)
    assert api.get("/api/v1/users/me/").status_code == 401
    assert not OAuthAccessToken.objects.filter(user=bob).exists() and not RefreshToken.objects.filter(user=bob).exists()
    refreshed = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                              HTTP_AUTHORIZATION=_hub_credentials())
    assert refreshed.status_code in (400, 401) and "access_token" not in refreshed.json()


def test_oauth_tokens_of_an_account_deactivated_behind_our_back_are_refused(hub_client, bob):
    token = sign_in_through_the_hub(bob, hub_client)
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)  # not through the service: nothing deleted
    assert OAuthAccessToken.objects.filter(user=bob).exists()
    assert api_as(token=token["access_token"]).get("/api/v1/users/me/").status_code == 401
    refreshed = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                              HTTP_AUTHORIZATION=_hub_credentials())
    assert "access_token" not in refreshed.json()


def test_failed_client_checks_at_the_token_endpoint_are_limited(hub_client, settings):
    settings.PLATFORM_LOGIN_RATE = "3/minute"
    wrong = _basic(settings.PLATFORM_HUB_OAUTH_CLIENT_ID, "guessed-secret")
    statuses = [Client().post("/o/token/", {"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"},
                              HTTP_AUTHORIZATION=wrong).status_code for _ in range(4)]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429

"""Single sign-on against a real OpenID Connect provider started by the test."""

from urllib.parse import urlsplit

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from portal.accounts.models import ExternalIdentity, User
from portal.audit.models import AuditEvent
from tests.conftest import make_user


@pytest.fixture(scope="session")
def oidc_provider():
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso(settings, oidc_provider):
    settings.PLATFORM_OIDC_ISSUER = oidc_provider
    settings.PLATFORM_OIDC_CLIENT_ID = "workspaces-portal"
    settings.PLATFORM_OIDC_CLIENT_SECRET = "portal-secret"
    return oidc_provider


def set_identity(issuer, sub, **claims):
    requests.put(f"{issuer}/users/{sub}", json=claims, timeout=10).raise_for_status()


def sign_in(client, issuer, sub, *, next_url=None):
    """Follow the whole redirect dance: portal → provider's consent form → portal callback."""
    start = client.get("/accounts/sso/login/", {"next": next_url} if next_url else {})
    assert start.status_code == 302 and start.url.startswith(f"{issuer}/oauth2/authorize")
    consent = requests.post(start.url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    callback = urlsplit(consent.headers["Location"])
    assert callback.path == "/accounts/sso/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_first_sign_in_creates_the_user(client, db, sso):
    set_identity(sso, "sub-dana", preferred_username="dana", email="dana@example.org", given_name="Dana")
    response = sign_in(client, sso, "sub-dana", next_url="/teams/")
    assert response.status_code == 302 and response.url == "/teams/"
    dana = User.objects.get(username="dana")
    assert dana.email == "dana@example.org" and dana.first_name == "Dana"
    assert not dana.has_usable_password()
    assert ExternalIdentity.objects.get(user=dana).subject == "sub-dana"
    assert client.get("/settings/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor_username="dana", data__method="sso").exists()


def test_next_sign_in_finds_the_same_user(client, db, sso):
    set_identity(sso, "sub-eve", preferred_username="eve")
    sign_in(client, sso, "sub-eve")
    client.logout()
    set_identity(sso, "sub-eve", preferred_username="eve-renamed")
    sign_in(client, sso, "sub-eve")
    assert list(User.objects.values_list("username", flat=True)) == ["eve"]


def test_sso_never_takes_over_a_local_account(client, db, sso):
    make_user("frank")
    set_identity(sso, "sub-mallory", preferred_username="frank")
    response = sign_in(client, sso, "sub-mallory")
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    assert not ExternalIdentity.objects.exists()


def test_denied_consent_shows_a_message(client, db, sso):
    start = client.get("/accounts/sso/login/")
    denied = requests.post(start.url, data={"action": "deny"}, allow_redirects=False, timeout=10)
    callback = urlsplit(denied.headers["Location"])
    response = client.get(f"{callback.path}?{callback.query}", follow=True)
    assert b"Single sign-on was refused" in response.content
    assert "_auth_user_id" not in client.session


def test_forged_callback_is_refused(client, db, sso):
    client.get("/accounts/sso/login/")
    response = client.get("/accounts/sso/callback/?code=forged&state=forged", follow=True)
    assert b"Single sign-on failed" in response.content
    assert "_auth_user_id" not in client.session


def test_without_sso_configured_the_button_is_absent(client, db):
    assert b"Sign in with" not in client.get("/accounts/login/").content
    assert client.get("/accounts/sso/login/").status_code == 302


def test_login_page_offers_sso_when_configured(client, db, sso):
    assert b"Sign in with single sign-on" in client.get("/accounts/login/").content


def test_unreachable_provider_is_a_clear_message(client, db, settings):
    settings.PLATFORM_OIDC_ISSUER = "http://127.0.0.1:9"
    settings.PLATFORM_OIDC_CLIENT_ID = "x"
    response = client.get("/accounts/sso/login/", follow=True)
    assert b"cannot be reached" in response.content

"""Brute force and abuse: every password check, reset request, token creation and failed token check
answers 429 past PLATFORM_LOGIN_RATE, and says when to retry.

In-process here (each test has its own cache, conftest.py); tests/test_rate_limits_across_workers.py
measures the same limit through two gunicorn workers sharing the database cache and Redis."""

import base64

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from portal.accounts.models import AccessToken
from portal.audit.models import AuditEvent
from portal.ratelimit import RateLimited, client_address, limit_give_back, limit_take, rate_parse
from tests.conftest import PASSWORD, api_as, make_user


@pytest.fixture(autouse=True)
def _three_per_minute(settings):
    settings.PLATFORM_LOGIN_RATE = "3/minute"


def login(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.mark.parametrize(("text", "count", "seconds"), [
    ("10/minute", 10, 60), ("10/m", 10, 60), ("5/s", 5, 1), ("100/hour", 100, 3600), (" 2 / day ", 2, 86400),
])
def test_rates_use_drf_notation(text, count, seconds):
    rate = rate_parse(text)
    assert (rate.count, rate.seconds) == (count, seconds)


@pytest.mark.parametrize("text", ["", "10", "0/minute", "ten/minute", "10/fortnight", "-1/s"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="is not a rate"):
        rate_parse(text)


def test_slots_run_out_then_one_given_back_is_free_again(db):
    slots = [limit_take(scope="t", key="k") for _ in range(3)]
    with pytest.raises(RateLimited) as refused:
        limit_take(scope="t", key="k")
    assert 1 <= refused.value.retry_after <= 60
    assert limit_take(scope="t", key="other")  # keys count separately
    limit_give_back(slots[:1])
    assert limit_take(scope="t", key="k")


def test_wrong_passwords_lock_the_login_and_the_page_says_when_to_retry(client, alice):
    assert [login(client, "alice", "wrong").status_code for _ in range(3)] == [200, 200, 200]
    refused = login(client, "alice", "wrong")
    assert refused.status_code == 429
    assert b"Too many sign-in attempts. Try again in" in refused.content
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert b'name="username"' in refused.content  # the form is still there
    right = login(client, "alice", PASSWORD)
    assert right.status_code == 429  # even the right password: the answer is no oracle
    assert "_auth_user_id" not in client.session


def test_successful_logins_do_not_count(client, alice):
    for _ in range(5):
        assert login(client, "alice", PASSWORD).status_code == 302
        client.post("/accounts/logout/")


def test_the_limit_is_per_username_whatever_the_address(client, alice):
    for index in range(3):
        login(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{index}")
    assert login(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77").status_code == 429
    assert login(client, "ALICE ", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.78").status_code == 429  # one person


def test_the_limit_is_per_address_whatever_the_username(client, alice, bob):
    for name in ["x1", "x2", "x3"]:
        login(client, name, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert login(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert login(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 302


def test_the_django_admin_login_is_limited_too(client, db):
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(3):
        assert client.post("/django-admin/login/", {"username": "root", "password": "wrong"}).status_code == 200
    refused = client.post("/django-admin/login/", {"username": "root", "password": PASSWORD})
    assert refused.status_code == 429 and b"Try again in" in refused.content


def test_token_obtain_shares_the_password_counter(alice):
    client = Client()
    for _ in range(3):
        login(client, "alice", "wrong")
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many attempts.") and response.json()["errors"] == {}
    assert int(response["Retry-After"]) >= 1


def test_registry_passwords_share_the_password_counter(client, alice):
    for _ in range(3):
        login(client, "alice", "wrong")
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    response = client.get("/api/v1/images/registry/token/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 429 and response.json()["errors"][0]["code"] == "TOOMANYREQUESTS"


def test_the_old_password_check_of_a_password_change_counts(client, alice):
    client.force_login(alice)
    change = {"new_password1": "another long passphrase", "new_password2": "another long passphrase"}
    for _ in range(3):
        assert client.post("/accounts/password/change/", {"old_password": "wrong", **change}).status_code == 200
    refused = client.post("/accounts/password/change/", {"old_password": PASSWORD, **change})
    assert refused.status_code == 429 and b"Try again in" in refused.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_the_current_password_check_of_an_email_change_counts(alice):
    api = api_as(alice)
    for _ in range(3):
        assert api.patch("/api/v1/users/me/", {"email": "a@x.example", "current_password": "wrong"}, format="json").status_code == 400
    response = api.patch("/api/v1/users/me/", {"email": "a@x.example", "current_password": PASSWORD}, format="json")
    assert response.status_code == 429


def test_password_resets_are_limited_per_address(client, alice):
    for _ in range(3):
        assert client.post("/accounts/password/reset/", {"email": "alice@example.org"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{_}").status_code == 302
    refused = client.post("/accounts/password/reset/", {"email": "ALICE@example.org"}, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert refused.status_code == 429 and b"Try again in" in refused.content
    assert AuditEvent.objects.filter(action="auth.password_reset_requested").count() == 3


def test_password_resets_are_limited_per_client(client, db):
    for index in range(3):
        assert client.post("/accounts/password/reset/", {"email": f"someone{index}@example.org"}).status_code == 302
    assert client.post("/accounts/password/reset/", {"email": "other@example.org"}).status_code == 429


def test_token_creation_is_limited_per_person(alice, bob, client):
    api = api_as(alice)  # itself the first of alice's tokens
    assert [api.post("/api/v1/tokens/", {"name": f"t{i}"}, format="json").status_code for i in range(3)] == [201, 201, 429]
    client.force_login(alice)
    page = client.post("/settings/tokens/", {"name": "one more", "expires_in_days": 30})
    assert page.status_code == 429 and b"Try again in" in page.content
    assert AccessToken.objects.filter(user=alice).count() == 3
    assert api_as(bob).post("/api/v1/tokens/", {"name": "bob's"}, format="json").status_code == 201


def test_failed_token_checks_are_limited_but_valid_tokens_still_work(alice):
    good = api_as(alice)
    statuses = [api_as(token="dsw_not-a-real-token").get("/api/v1/users/me/").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert api_as(token="this-is-no-oauth-token").get("/api/v1/users/me/").status_code == 429
    assert api_as(token="rbt_no-such-robot").post("/api/v1/images/reports/", {}, format="json").status_code == 429
    assert good.get("/api/v1/users/me/").status_code == 200  # nobody can lock others out with bad tokens


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("127.0.0.1", "", "127.0.0.1"),                                  # the proxy itself, or a direct local call
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),                   # through the embedded proxy
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),          # the client's own header is ignored
    ("127.0.0.1", ",198.51.100.7", "198.51.100.7"),                  # the proxy's leading comma
    ("127.0.0.1", "not-an-address, 127.0.0.1", "127.0.0.1"),         # made up: no client named
    ("198.51.100.7", "6.6.6.6", "198.51.100.7"),                     # not a trusted proxy: its header is ignored
    ("::1", "2001:db8::5", "2001:db8::5"),
])
def test_client_address_trusts_only_trusted_proxies(settings, remote, forwarded, expected):
    settings.PLATFORM_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected

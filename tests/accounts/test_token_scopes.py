"""Personal access tokens carry a scope: `write` (the default) does what its owner may, `read` only reads.
Chosen at creation in the API and the UI, shown in lists; every API view enforces it."""

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from portal.accounts.models import AccessToken
from portal.accounts.permissions import TokenScopes
from portal.accounts.services import token_create
from tests.conftest import PASSWORD, api_as


def read_only(user):
    return api_as(token=token_create(user=user, name="dashboard", scope="read")[1])


def test_a_read_token_reads(alice, team):
    api = read_only(alice)
    for path in ["/api/v1/users/me/", "/api/v1/teams/", f"/api/v1/teams/{team.id}/members/", "/api/v1/workspaces/",
                 "/api/v1/tokens/", "/api/v1/images/", "/api/v1/profiles/"]:
        assert api.get(path).status_code == 200, path
    assert api.head("/api/v1/users/me/").status_code == 200


def test_a_read_token_is_refused_on_every_write(alice, team):
    api = read_only(alice)
    token = AccessToken.objects.get(user=alice)
    writes = [
        ("post", "/api/v1/tokens/", {"name": "a write token from a read one"}),
        ("delete", f"/api/v1/tokens/{token.id}/", None),
        ("patch", "/api/v1/users/me/", {"first_name": "Mallory"}),
        ("patch", f"/api/v1/teams/{team.id}/", {"description": "defaced"}),
        ("post", f"/api/v1/teams/{team.id}/members/", {"username": "alice"}),
        ("post", "/api/v1/workspaces/", {"name": "miner", "profile": "small"}),
        ("put", "/api/v1/images/policy/teams/data-science/", {"block_threshold": ""}),
    ]
    for method, path, body in writes:
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert "read-only (scope 'read')" in response.json()["detail"]
    assert AccessToken.objects.filter(user=alice).count() == 1 and token.revoked is None


def test_a_read_token_is_refused_on_admin_writes_too(admin):
    api = read_only(admin)
    assert api.get("/api/v1/users/").status_code == 200
    assert api.post("/api/v1/users/", {"username": "dana", "password": "a-long-enough-passphrase"}, format="json").status_code == 403
    assert api.post("/api/v1/teams/", {"name": "Shadow"}, format="json").status_code == 403


def test_tokens_are_write_by_default_and_the_scope_is_chosen_at_creation(alice):
    default = api_as(alice).post("/api/v1/tokens/", {"name": "laptop"}, format="json").json()
    assert default["scope"] == "write"
    chosen = api_as(alice).post("/api/v1/tokens/", {"name": "dashboard", "scope": "read"}, format="json").json()
    assert chosen["scope"] == "read"
    assert api_as(token=chosen["token"]).post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 403
    listed = {item["name"]: item["scope"] for item in api_as(alice).get("/api/v1/tokens/").json()["results"]}
    assert listed == {"test": "write", "laptop": "write", "dashboard": "read"}
    bad = api_as(alice).post("/api/v1/tokens/", {"name": "x", "scope": "admin"}, format="json")
    assert bad.status_code == 400 and "scope" in bad.json()["errors"]


def test_obtaining_a_token_with_a_password_can_ask_for_read(alice):
    from rest_framework.test import APIClient

    body = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD, "scope": "read"},
                            format="json").json()
    assert body["scope"] == "read"
    assert AccessToken.objects.get(pk=body["id"]).scope == "read"


def test_the_settings_page_creates_and_lists_scoped_tokens(client, alice):
    client.force_login(alice)
    client.post("/settings/tokens/", {"name": "grafana", "expires_in_days": 30, "scope": "read"})
    client.post("/settings/tokens/", {"name": "pipeline", "expires_in_days": 30})
    assert dict(AccessToken.objects.filter(user=alice).values_list("name", "scope")) == {"grafana": "read", "pipeline": "write"}
    page = client.get("/settings/tokens/").content.decode()
    assert "Read only" in page and "Read and write" in page


def _views(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), getattr(pattern.callback, "cls", None)


def test_every_api_view_that_takes_credentials_checks_token_scopes():
    """A view that sets its own permission_classes must keep TokenScopes (or a subclass) among them."""
    checked = 0
    for route, view in _views():
        if view is None or not issubclass(view, APIView) or not view().get_authenticators():
            continue
        assert any(issubclass(permission, TokenScopes) for permission in view.permission_classes), route
        checked += 1
    assert checked > 30

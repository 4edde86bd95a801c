"""Push and pull permissions per namespace, enforced by a real registry with the portal's tokens."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from images import services
from portal.accounts.services import token_create
from images.models import RobotAccount
from tests.conftest import PASSWORD, make_user, token_for
from tests.images.oci import build_layout, push

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layout(tmp_path):
    path = tmp_path / "layout"
    build_layout(path, tag="2026.11.23-4f2a9c1", labels={"org.opencontainers.image.title": "Test"})
    return path


def push_as(registry, layout, repository, username, password):
    return push(layout, "2026.11.23-4f2a9c1", f"{registry.host}/{repository}:2026.11.23-4f2a9c1", username=username, password=password)


def test_users_push_only_where_their_role_allows(registry, layout, alice, bob, carol, admin):
    allowed = [
        ("alice", "users/alice/tools"),
        ("alice", "teams/data-science/base"),  # alice is a team admin of data-science
        ("admin", "platform/python"),
    ]
    refused = [
        ("alice", "users/bob/tools"),
        ("alice", "platform/python"),
        ("bob", "teams/data-science/base"),  # a member, not a team admin
        ("carol", "teams/data-science/base"),  # another team
        ("bob", "library/anything"),  # outside the namespaces
    ]
    for username, repository in allowed:
        result = push_as(registry, layout, repository, username, PASSWORD)
        assert result.returncode == 0, (username, repository, result.stderr)
    for username, repository in refused:
        result = push_as(registry, layout, repository, username, PASSWORD)
        assert result.returncode != 0, (username, repository)
        assert "denied" in result.stderr.lower() or "unauthorized" in result.stderr.lower(), result.stderr


def test_personal_access_token_works_and_wrong_password_is_refused(registry, layout, alice):
    assert push_as(registry, layout, "users/alice/tools", "alice", token_for(alice)).returncode == 0
    result = push_as(registry, layout, "users/alice/tools", "alice", "wrong password")
    assert result.returncode != 0


def test_a_read_only_token_pulls_but_cannot_push(registry, layout, live_server, alice):
    _, read_only = token_create(user=alice, name="ci pull", scope="read")
    result = push_as(registry, layout, "users/alice/tools", "alice", read_only)
    assert result.returncode != 0 and ("denied" in result.stderr.lower() or "unauthorized" in result.stderr.lower())
    assert push_as(registry, layout, "users/alice/tools", "alice", token_for(alice)).returncode == 0
    token = requests.get(f"{live_server.url}/api/v1/images/registry/token/",
                         params={"service": "workspaces-registry", "scope": "repository:users/alice/tools:pull,push"},
                         auth=("alice", read_only), timeout=10).json()["token"]
    tags = requests.get(f"{registry.url}/v2/users/alice/tools/tags/list", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert tags.status_code == 200 and tags.json()["tags"] == ["2026.11.23-4f2a9c1"]


def test_robot_pushes_within_its_scopes_until_revoked_or_expired(registry, layout, admin):
    robot, secret = services.robot_create(name="ci", scopes=[{"repository": "platform/python*", "actions": ["push", "pull"]}],
                                          days=30, actor=admin)
    assert push_as(registry, layout, "platform/python", "robot$ci", secret).returncode == 0
    assert push_as(registry, layout, "platform/r-base", "robot$ci", secret).returncode != 0
    assert push_as(registry, layout, "platform/python", "robot$other", secret).returncode != 0

    RobotAccount.objects.filter(pk=robot.pk).update(expires=timezone.now() - timedelta(minutes=1))
    assert push_as(registry, layout, "platform/python", "robot$ci", secret).returncode != 0
    RobotAccount.objects.filter(pk=robot.pk).update(expires=timezone.now() + timedelta(days=1))
    assert push_as(registry, layout, "platform/python", "robot$ci", secret).returncode == 0
    services.robot_revoke(robot=robot, actor=admin)
    assert push_as(registry, layout, "platform/python", "robot$ci", secret).returncode != 0


def test_pulls_follow_the_namespaces(registry, layout, live_server, alice, bob, admin):
    assert push_as(registry, layout, "users/alice/tools", "alice", PASSWORD).returncode == 0
    assert push_as(registry, layout, "platform/python", "admin", PASSWORD).returncode == 0

    def pull_status(username, repository):
        token = requests.get(f"{live_server.url}/api/v1/images/registry/token/",
                             params={"service": "workspaces-registry", "scope": f"repository:{repository}:pull"},
                             auth=(username, PASSWORD), timeout=10).json()["token"]
        return requests.get(f"{registry.url}/v2/{repository}/tags/list", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code

    assert pull_status("bob", "platform/python") == 200
    assert pull_status("alice", "users/alice/tools") == 200
    assert pull_status("bob", "users/alice/tools") == 401


def test_token_endpoint_refuses_bad_credentials_and_grants_nothing_to_anonymous(live_server, db):
    make_user("dave")
    url = f"{live_server.url}/api/v1/images/registry/token/"
    bad = requests.get(url, params={"scope": "repository:users/dave/x:push"}, auth=("dave", "nope"), timeout=10)
    assert bad.status_code == 401 and "Basic" in bad.headers["WWW-Authenticate"]
    wrong_service = requests.get(url, params={"service": "elsewhere"}, timeout=10)
    assert wrong_service.status_code == 400
    anonymous = requests.get(url, params={"scope": "repository:platform/python:pull,push"}, timeout=10)
    assert anonymous.status_code == 200
    import jwt

    claims = jwt.decode(anonymous.json()["token"], options={"verify_signature": False})
    assert claims["access"] == [] and claims["aud"] == "workspaces-registry"


def test_wrong_passwords_are_rate_limited(live_server, settings, db):
    settings.PLATFORM_LOGIN_RATE = "3/minute"
    make_user("erin")
    url = f"{live_server.url}/api/v1/images/registry/token/"
    statuses = [requests.get(url, auth=("erin", "guess"), timeout=10).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert requests.get(url, auth=("erin", PASSWORD), timeout=10).status_code == 429  # even the right one, for a while

"""The web shell through Django's test client: every page, forms, CSRF, messages and scoping."""

import pytest
from django.test import Client

from portal.accounts.models import AccessToken, Membership, Team
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, make_user

PAGES = ["/workspaces/", "/images/", "/teams/", "/costs/", "/settings/", "/settings/tokens/"]


@pytest.mark.parametrize("path", PAGES + ["/manage/", "/manage/users/", "/manage/audit/", "/"])
def test_pages_need_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_with_navigation(client, bob, path):
    client.force_login(bob)
    response = client.get(path)
    assert response.status_code == 200
    for label in [b"Workspaces", b"Images", b"Teams", b"Costs", b"Settings"]:
        assert label in response.content
    assert b">Admin<" not in response.content


def test_admin_area_is_for_platform_admins(client, bob, admin):
    client.force_login(bob)
    for path in ["/manage/", "/manage/users/", "/manage/teams/"]:
        assert client.get(path).status_code == 302
    client.force_login(admin)
    response = client.get("/manage/")
    assert response.status_code == 200 and b"Audit log" in response.content


def test_django_admin_is_for_superusers(client, admin, db):
    client.force_login(admin)  # staff but not superuser: sees nothing to change
    assert b"You don" in client.get("/django-admin/").content
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert b"Teams" in client.get("/django-admin/").content


def test_login_and_logout(client, alice):
    page = client.get("/accounts/login/")
    assert b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert b"You are signed out" in client.post("/accounts/logout/").content
    assert client.get("/settings/").status_code == 302


def test_wrong_password_shows_an_error(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200 and b"Please enter a correct username and password" in response.content


def test_forms_enforce_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/settings/tokens/", {"name": "x", "expires_in_days": 30}).status_code == 403
    assert not AccessToken.objects.exists()


def test_token_shown_once_then_revoked(client, alice):
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "laptop", "expires_in_days": 30}, follow=True)
    assert b"Copy it now" in response.content
    raw = response.context["new_token"]["secret"]
    assert raw.encode() in response.content
    assert raw.encode() not in client.get("/settings/tokens/").content  # gone on the next view
    token = AccessToken.objects.get(user=alice)
    response = client.post(f"/settings/tokens/{token.id}/revoke/", follow=True)
    assert b"was revoked" in response.content
    token.refresh_from_db()
    assert token.revoked is not None


def test_token_form_errors_name_the_field(client, alice):
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "", "expires_in_days": 9999})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "expires_in_days"}


def test_cannot_revoke_someone_elses_token(client, alice, bob):
    from portal.accounts.services import token_create

    token, _ = token_create(user=bob, name="bob's")
    client.force_login(alice)
    assert client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked is None


def test_team_admin_adds_changes_and_removes_members(client, alice, bob, team):
    make_user("dave")
    client.force_login(alice)
    response = client.post("/teams/data-science/", {"add-username": "dave", "add-role": "member"}, follow=True)
    assert b"dave joined Data Science" in response.content
    response = client.post("/teams/data-science/members/dave/role/", {"role": "admin"}, follow=True)
    assert b"dave is now team admin" in response.content
    response = client.post("/teams/data-science/members/bob/remove/", follow=True)
    assert b"bob was removed" in response.content
    assert set(Membership.objects.filter(team=team).values_list("user__username", flat=True)) == {"alice", "dave"}


def test_add_member_errors_are_shown(client, alice, bob, team):
    client.force_login(alice)
    response = client.post("/teams/data-science/", {"add-username": "ghost", "add-role": "member"})
    assert b"No user named" in response.content


def test_members_and_outsiders_cannot_manage(client, alice, bob, carol, team):
    client.force_login(bob)
    page = client.get("/teams/data-science/")
    assert page.status_code == 200 and b"Add a member" not in page.content
    assert client.post("/teams/data-science/", {"add-username": "carol", "add-role": "admin"}).status_code == 403
    assert client.post("/teams/data-science/members/alice/remove/").status_code == 403
    client.force_login(carol)
    assert client.get("/teams/data-science/").status_code == 404
    assert client.post("/teams/data-science/members/bob/remove/").status_code == 404
    assert Membership.objects.filter(team=team).count() == 2


def test_last_admin_removal_is_explained(client, alice, team):
    client.force_login(alice)
    response = client.post("/teams/data-science/members/alice/remove/", follow=True)
    assert b"at least one team admin" in response.content


def test_admin_creates_team_and_user(client, admin):
    client.force_login(admin)
    response = client.post("/manage/teams/", {"name": "Vision", "description": ""}, follow=True)
    assert b"Team Vision was created" in response.content
    response = client.post("/manage/users/", {"username": "gina", "email": "", "password": "gina's long passphrase"}, follow=True)
    assert b"User gina was created" in response.content
    response = client.post("/manage/users/", {"username": "gina", "password": "x"})
    assert b"is taken" in response.content


def test_team_delete_needs_the_slug_typed(client, admin, team):
    client.force_login(admin)
    response = client.post("/manage/teams/data-science/delete/", {"confirm": "wrong"}, follow=True)
    assert b"to confirm deleting it" in response.content and Team.objects.exists()
    client.post("/manage/teams/data-science/delete/", {"confirm": "data-science"})
    assert not Team.objects.exists()
    assert AuditEvent.objects.filter(action="team.deleted").exists()


def test_profile_update(client, bob):
    client.force_login(bob)
    response = client.post("/settings/", {"first_name": "Bob", "last_name": "B", "email": "bob@x.example"}, follow=True)
    assert b"This is not your current password" in response.content  # the address is where reset links go
    bob.refresh_from_db()
    assert bob.email == "bob@example.org" and bob.first_name == ""
    response = client.post("/settings/", {"first_name": "Bob", "last_name": "B", "email": "bob@x.example",
                                          "current_password": PASSWORD}, follow=True)
    assert b"Your profile was saved" in response.content
    bob.refresh_from_db()
    assert (bob.email, bob.first_name) == ("bob@x.example", "Bob")
    assert AuditEvent.objects.filter(action="user.email_changed", actor_username="bob").exists()
    response = client.post("/settings/", {"first_name": "Robert", "last_name": "B", "email": "bob@x.example"}, follow=True)
    assert b"Your profile was saved" in response.content  # names alone need no password


def test_html_404_for_pages_and_json_for_api(client, bob):
    client.force_login(bob)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and b"Not found" in response.content


def test_health_endpoint(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}

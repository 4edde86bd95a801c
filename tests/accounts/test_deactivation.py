"""Deactivating a person ends everything they hold at once: personal tokens, sessions, OAuth tokens
(tests/accounts/test_oauth_provider.py); and an account deactivated any other way is refused too."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from portal.accounts.models import AccessToken
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, api_as, make_user, token_for


@pytest.fixture
def bob_signed_in(bob):
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    assert browser.get("/settings/").status_code == 200
    return browser


def _locked_out(bob, token, browser):
    assert api_as(token=token).get("/api/v1/users/me/").status_code == 401
    assert browser.get("/settings/").status_code == 302  # back to the login page
    assert browser.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 200


def test_an_admin_deactivates_through_the_api(admin, bob, bob_signed_in):
    token = token_for(bob)
    response = api_as(admin).patch(f"/api/v1/users/{bob.id}/", {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    _locked_out(bob, token, bob_signed_in)
    assert not AccessToken.objects.filter(user=bob, revoked__isnull=True).exists()
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(bob.pk)]
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.actor_username == "admin" and event.data["tokens"] == 1 and event.data["sessions"] == 1

    again = api_as(admin).patch(f"/api/v1/users/{bob.id}/", {"is_active": True}, format="json")
    assert again.json()["is_active"] is True
    assert api_as(token=token).get("/api/v1/users/me/").status_code == 401  # revoked tokens stay revoked
    assert Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_only_platform_admins_deactivate_and_not_themselves(admin, alice, bob):
    assert api_as(alice).patch(f"/api/v1/users/{bob.id}/", {"is_active": False}, format="json").status_code == 403
    assert api_as(alice).get(f"/api/v1/users/{bob.id}/").status_code == 403
    response = api_as(admin).patch(f"/api/v1/users/{admin.id}/", {"is_active": False}, format="json")
    assert response.status_code == 400 and "is_active" in response.json()["errors"]
    assert api_as(admin).patch("/api/v1/users/999999/", {"is_active": False}, format="json").status_code == 404


def test_an_admin_deactivates_in_the_admin_area(client, admin, bob, bob_signed_in):
    token = token_for(bob)
    client.force_login(admin)
    page = client.post(f"/manage/users/{bob.id}/active/", {"active": "false"}, follow=True)
    assert b"deactivated: their tokens and sessions ended" in page.content
    _locked_out(bob, token, bob_signed_in)


def test_a_superuser_deactivates_in_the_django_admin(client, bob, bob_signed_in):
    root = make_user("root", is_staff=True, is_superuser=True)
    token = token_for(bob)
    client.force_login(root)
    form = client.get(f"/django-admin/accounts/user/{bob.id}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and not isinstance(value, (list, tuple))}
    data.update(username="bob", email=bob.email, date_joined_0="2026-01-01", date_joined_1="00:00:00", is_active="")
    response = client.post(f"/django-admin/accounts/user/{bob.id}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    bob.refresh_from_db()
    assert not bob.is_active
    _locked_out(bob, token, bob_signed_in)
    assert AuditEvent.objects.filter(action="user.deactivated", actor_username="root").exists()


def test_an_account_deactivated_behind_our_back_is_refused_everywhere(bob, bob_signed_in):
    token = token_for(bob)
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)  # no service: nothing revoked
    _locked_out(bob, token, bob_signed_in)


def test_a_deactivated_persons_workspaces_are_stopped_by_the_janitor(admin, bob, team, settings,
                                                                     django_capture_on_commit_callbacks):
    from portal.accounts.services import user_set_active
    from workspaces.models import Profile, Workspace
    from workspaces.reconciler import workspace_reconcile_all

    settings.PLATFORM_HUB_API_URL = "http://127.0.0.1:9/hub/api"  # no hub needed to decide to stop
    profile = Profile.objects.create(name="Small", cpu="0.5", memory_bytes=2**30)
    running = Workspace.objects.create(owner=bob, team=team, name="analysis", profile=profile, image="local:default",
                                       desired_state="running", observed_state="running", generation=1)
    with django_capture_on_commit_callbacks() as queued:
        user_set_active(user=bob, active=False, actor=admin)
    assert len(queued) == 1  # the janitor, named (workspaces build on accounts, not the reverse)
    workspace_reconcile_all()
    running.refresh_from_db()
    assert running.desired_state == "stopped" and running.stop_reason == "its owner's account was deactivated"
    assert running.events.get(kind="stop_requested").message == "its owner's account was deactivated"

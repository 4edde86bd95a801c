"""The audit log: append-only, written with the change, visible to platform admins only."""

import pytest
from django.db import DatabaseError, connection, transaction

from portal.accounts import services
from portal.audit.models import AppendOnlyError, AuditEvent
from tests.conftest import PASSWORD, api_as


def test_events_cannot_be_changed_or_deleted(alice):
    event = AuditEvent.objects.create(action="test.event")
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="tampered")


def test_the_database_refuses_changes_too(db):
    event = AuditEvent.objects.create(action="test.event")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s", [event.id])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.id])


def test_a_failed_change_leaves_no_event(alice, bob, team):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.membership_add(team=team, user=bob, actor=alice)  # bob is a member already
    assert not AuditEvent.objects.filter(action="membership.added").exists()


def test_logins_are_audited_with_address(client, alice):
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3").status_code == 302
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username", "ip_address"))
    assert actions == [("auth.login", "alice", "10.1.2.3"), ("auth.logout", "alice", "127.0.0.1"), ("auth.login_failed", "", "127.0.0.1")]


def test_only_platform_admins_read_the_log_over_the_api(alice, admin):
    assert api_as(alice).get("/api/v1/audit/").status_code == 403  # api_as made alice a token
    body = api_as(admin).get("/api/v1/audit/?action=token.&actor=alice").json()
    assert body["count"] == 1 and body["results"][0]["action"] == "token.created"
    assert body["results"][0]["actor_username"] == "alice"
    assert api_as(admin).get("/api/v1/audit/?actor=nobody").json()["count"] == 0


def test_only_platform_admins_see_the_log_page(client, alice, admin):
    client.force_login(alice)
    assert client.get("/manage/audit/").status_code == 302
    client.force_login(admin)
    services.token_create(user=alice, name="x")
    page = client.get("/manage/audit/?action=token.")
    assert page.status_code == 200 and b"token.created" in page.content

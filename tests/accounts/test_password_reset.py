"""Password reset and invitations by e-mail: sent by a real Celery worker to a real SMTP server."""

import re

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from tests.conftest import api_as


def _link(message):
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.get_payload()).group(1)


def test_password_reset_by_email(client, alice, celery_worker, smtp_sink):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    assert response.status_code == 302
    [message] = smtp_sink.wait(1)
    assert message["To"] == "alice@example.org"
    assert "Reset your" in message["Subject"]
    form_url = client.get(_link(message)).url  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a brand new passphrase")
    assert AuditEvent.objects.filter(action="auth.password_reset", actor_username="alice").exists()


def test_unknown_address_sends_nothing_and_reveals_nothing(client, alice, celery_worker, smtp_sink):
    response = client.post("/accounts/password/reset/", {"email": "stranger@example.org"})
    assert response.status_code == 302 and response.url == "/accounts/password/reset/sent/"
    client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    messages = smtp_sink.wait(1)
    assert [message["To"] for message in messages] == ["alice@example.org"]


def test_invited_user_sets_a_password_from_the_email(client, admin, celery_worker, smtp_sink):
    response = api_as(admin).post("/api/v1/users/", {"username": "dana", "email": "dana@example.org"}, format="json")
    assert response.status_code == 201
    assert not User.objects.get(username="dana").has_usable_password()
    [message] = smtp_sink.wait(1)
    assert "account is ready" in message["Subject"] and "dana" in message.get_payload()
    form_url = client.get(_link(message)).url
    client.post(form_url, {"new_password1": "dana's own passphrase", "new_password2": "dana's own passphrase"})
    assert User.objects.get(username="dana").check_password("dana's own passphrase")


def test_password_change_is_audited(client, alice):
    from tests.conftest import PASSWORD

    client.force_login(alice)
    response = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": "another long passphrase", "new_password2": "another long passphrase"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed", actor_username="alice").exists()


def test_weak_new_password_is_refused_with_the_reason(client, alice):
    from tests.conftest import PASSWORD

    client.force_login(alice)
    response = client.post("/accounts/password/change/", {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    assert b"too short" in response.content

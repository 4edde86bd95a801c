"""The image catalog's pages: browse and search, lifecycle forms, robots (secret once), policy and exceptions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from images.models import ImageTag, PackageRecord, RobotAccount, ScanException, ScanPolicy
from portal.audit.models import AuditEvent
from tests.images.factories import make_image

pytestmark = pytest.mark.django_db


def test_catalog_page_searches_packages_and_hides_what_is_not_yours(client, bob, alice):
    python = make_image(title="Python data science")
    PackageRecord.objects.create(manifest=python.manifest, name="pandas", version="2.2.3", type="python")
    make_image("platform/r-base", "2026.11.23-bbbbbbb", title="R")
    make_image("users/alice/secret-tools", "dev")
    client.force_login(bob)
    page = client.get("/images/").content.decode()
    assert "platform/python:2026.11.23-4f2a9c1" in page and "platform/r-base" in page and "local:default" in page
    assert "secret-tools" not in page
    assert '<option value="" selected>' not in page and '<option value="">any</option>' in page  # no status filter by default
    found = client.get("/images/?package=pandas").content.decode()
    assert "platform/python" in found and "platform/r-base" not in found and "pandas 2.2.3" in found  # key libraries
    detail = client.get(f"/images/{python.pk}/?package=pan").content.decode()
    assert "pandas" in detail and "2.2.3" in detail and "Lifecycle" not in detail  # members cannot manage


def test_admin_approves_and_deprecates_from_the_detail_page(client, admin):
    old = make_image(tag="2026.10.01-aaaaaaa")
    new = make_image(status=ImageTag.Status.NEW)
    client.force_login(admin)
    assert "Approve" in client.get(f"/images/{new.pk}/").content.decode()
    client.post(f"/images/{new.pk}/approve/", {"all_teams": "on", "recommended": "on"})
    client.post(f"/images/{old.pk}/deprecate/", {"replacement": new.pk, "message": "Use the new build"})
    old.refresh_from_db(), new.refresh_from_db()
    assert new.status == "approved" and new.recommended and old.status == "deprecated" and old.replacement == new
    page = client.get(f"/images/{old.pk}/").content.decode()
    assert "Use the new build" in page and new.reference in page
    refused = client.post(f"/images/{new.pk}/approve/", {}, follow=True)  # neither all teams nor a team picked
    assert "Pick the teams" in refused.content.decode()


def test_robot_secret_is_shown_once_and_revoking_is_audited(client, admin, bob):
    client.force_login(bob)
    assert client.get("/images/robots/").status_code in (302, 403)
    client.force_login(admin)
    page = client.post("/images/robots/", {"name": "ci", "scopes": "platform/python*: push, pull", "days": 30}).content.decode()
    robot = RobotAccount.objects.get(name="ci")
    assert robot.scopes == [{"repository": "platform/python*", "actions": ["pull", "push"]}]
    secret = page.split('data-field="secret">')[1].split("<")[0]
    assert secret.startswith("rbt_") and secret not in client.get("/images/robots/").content.decode()
    client.post(f"/images/robots/{robot.pk}/revoke/")
    robot.refresh_from_db()
    assert robot.revoked is not None
    assert {"robot.created", "robot.revoked"} <= set(AuditEvent.objects.values_list("action", flat=True))


def test_policy_and_exceptions_pages(client, admin, team):
    client.force_login(admin)
    client.post("/images/policy/", {"form": "policy", "block_threshold": "HIGH", "allow_unscanned": "on"})
    client.post(f"/images/policy/?team={team.slug}", {"form": "policy", "block_threshold": "MEDIUM"})
    assert ScanPolicy.objects.get(team=None).block_threshold == "HIGH"
    assert ScanPolicy.objects.get(team=team).block_threshold == "MEDIUM"
    expires = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    client.post("/images/policy/", {"form": "exception", "vulnerability_id": "CVE-2026-1111", "justification": "not reachable",
                                    "expires": expires})
    exception = ScanException.objects.get()
    assert exception.active and "CVE-2026-1111" in client.get("/images/policy/").content.decode()
    past = client.post("/images/policy/", {"form": "exception", "vulnerability_id": "CVE-2026-2222", "justification": "x",
                                           "expires": "2020-01-01 00:00"})
    assert "must be in the future" in past.content.decode()
    client.post(f"/images/policy/exceptions/{exception.pk}/revoke/")
    exception.refresh_from_db()
    assert not exception.active

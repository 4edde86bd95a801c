"""Lifecycle through the API: approve (tag pattern enforced), deprecate with a replacement, retire; every
change audited; each caller sees only what is theirs to see."""

import pytest

from images.models import ImageTag
from images.selectors import launch_environment_for
from portal.audit.models import AuditEvent
from tests.conftest import api_as
from tests.images.factories import make_image

pytestmark = pytest.mark.django_db
Status = ImageTag.Status


def test_admin_approves_a_ci_tag_for_some_teams_and_it_is_audited(admin, team, other_team):
    entry = make_image(status=Status.NEW)
    response = api_as(admin).post(f"/api/v1/images/{entry.pk}/approve/", {"all_teams": False, "teams": ["research"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved" and response.json()["teams"] == ["research"]
    event = AuditEvent.objects.get(action="image.approved", target_id=str(entry.pk))
    assert event.actor_username == "admin" and event.data["teams"] == ["research"]


def test_unmanaged_tags_cannot_be_approved(admin):
    entry = make_image(tag="latest", status=Status.NEW, managed=False)
    response = api_as(admin).post(f"/api/v1/images/{entry.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    assert "CI tag pattern" in response.json()["errors"]["tag"][0]


def test_tag_pattern_is_checked_under_platform_only(settings):
    from images.services import tag_is_managed

    assert tag_is_managed("platform/python", "2026.11.23-4f2a9c1")
    assert tag_is_managed("platform/python", "2026.11.23.2-4f2a9c1e")
    for bad in ("latest", "2026.11.23", "v1.0", "2026.11.23-XYZ1234", "2026-11-23-4f2a9c1"):
        assert not tag_is_managed("platform/python", bad), bad
    assert tag_is_managed("users/alice/tools", "latest")
    settings.PLATFORM_IMAGE_TAG_PATTERN = r"^build-\d+$"
    assert tag_is_managed("platform/python", "build-42") and not tag_is_managed("platform/python", "2026.11.23-4f2a9c1")


def test_who_may_curate_what(admin, alice, bob, carol):
    platform_entry = make_image(status=Status.NEW)
    team_entry = make_image("teams/data-science/base", "1.0", status=Status.NEW)
    personal = make_image("users/alice/tools", "dev", status=Status.NEW)
    assert api_as(alice).post(f"/api/v1/images/{platform_entry.pk}/approve/", {}, format="json").status_code == 404  # not visible yet
    assert api_as(alice).post(f"/api/v1/images/{team_entry.pk}/approve/", {}, format="json").status_code == 200  # team admin
    assert api_as(bob).post(f"/api/v1/images/{team_entry.pk}/retire/").status_code == 403  # member: sees it, cannot manage
    assert api_as(carol).get(f"/api/v1/images/{team_entry.pk}/").status_code == 404  # another team
    assert api_as(bob).get(f"/api/v1/images/{personal.pk}/").status_code == 404  # someone else's namespace
    assert api_as(alice).get(f"/api/v1/images/{personal.pk}/").status_code == 200


def test_deprecate_needs_an_approved_replacement_then_retire(admin, bob):
    old = make_image(tag="2026.10.01-aaaaaaa")
    new = make_image(tag="2026.11.23-4f2a9c1", status=Status.NEW)
    client = api_as(admin)
    refused = client.post(f"/api/v1/images/{old.pk}/deprecate/", {"replacement": new.reference}, format="json")
    assert refused.status_code == 400 and "replacement" in refused.json()["errors"]
    client.post(f"/api/v1/images/{new.pk}/approve/", {"recommended": True}, format="json")
    done = client.post(f"/api/v1/images/{old.pk}/deprecate/", {"replacement": new.reference, "message": "Python 3.10 is end of life"},
                       format="json")
    assert done.status_code == 200 and done.json()["replacement"] == new.reference
    assert api_as(bob).get(f"/api/v1/images/{old.pk}/").json()["deprecation_message"] == "Python 3.10 is end of life"

    assert client.post(f"/api/v1/images/{old.pk}/retire/").status_code == 200
    assert api_as(bob).get(f"/api/v1/images/{old.pk}/").status_code == 404  # hidden
    assert [e["reference"] for e in api_as(bob).get("/api/v1/images/?namespace=platform").json()["results"]] == [new.reference]
    pinned = f"127.0.0.1:5000/platform/python@{old.manifest.digest}"
    assert launch_environment_for(pinned) == {"kind": "image", "reference": pinned}  # still resolvable
    assert {e.action for e in AuditEvent.objects.all()} >= {"image.approved", "image.deprecated", "image.retired"}


def test_list_filters_and_detail(admin, bob):
    from images.models import PackageRecord

    python = make_image(title="Python data science")
    PackageRecord.objects.create(manifest=python.manifest, name="numpy", version="2.1.0", type="python")
    make_image("platform/r-base", "2026.11.23-bbbbbbb")
    make_image("platform/new-one", "2026.11.23-ccccccc", status=Status.NEW)
    client = api_as(bob)
    assert [e["repository"] for e in client.get("/api/v1/images/?package=NumPy").json()["results"]] == ["platform/python"]
    assert client.get("/api/v1/images/?package=numpy==1.0").json()["results"] == []
    assert client.get("/api/v1/images/?status=new").json()["results"] == []  # members see approved entries only
    assert len(api_as(admin).get("/api/v1/images/?status=new").json()["results"]) == 1
    hidden = make_image(tag="2026.11.24-ddddddd", status=Status.NEW)  # same repository, not approved
    detail = client.get(f"/api/v1/images/{python.pk}/").json()
    assert hidden.manifest.digest not in str(detail)
    assert detail["packages"] == [{"name": "numpy", "version": "2.1.0", "type": "python"}]
    assert detail["key_packages"] == {"numpy": "2.1.0"}
    assert detail["digests"][0]["digest"] == python.manifest.digest and detail["scan"]["scanned"] is False
    assert detail["pinned_reference"].endswith(f"platform/python@{python.manifest.digest}")

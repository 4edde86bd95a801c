"""Launching from the catalog: only images the caller may use, badges, refusals with reasons, digest pinning."""

import pytest

from images.models import ImageTag, ScanPolicy
from tests.conftest import api_as
from tests.images.factories import make_image, trivy_report
from workspaces.launch import launch_spec_for
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registry(settings):
    settings.PLATFORM_REGISTRY_URL = "http://127.0.0.1:5000"
    settings.PLATFORM_REGISTRY_HOST = "127.0.0.1:5000"


@pytest.fixture
def open_policy(db):
    return ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)


def launch(user, image, profile):
    return api_as(user).post("/api/v1/workspaces/", {"name": "ws", "profile": profile.name, "image": image}, format="json")


def test_launch_by_tag_stores_the_digest(alice, small, open_policy):
    entry = make_image()
    response = launch(alice, "platform/python:2026.11.23-4f2a9c1", small)
    assert response.status_code == 202, response.json()
    pinned = f"127.0.0.1:5000/platform/python@{entry.manifest.digest}"
    assert response.json()["image"] == pinned
    spec = launch_spec_for(Workspace.objects.get())
    assert spec["environment"] == {"kind": "image", "reference": pinned}


def test_the_default_is_the_recommended_entry_else_the_local_environment(alice, bob, small, open_policy):
    assert launch(alice, "", small).json()["image"] == "local:default"
    entry = make_image(recommended=True)
    assert launch(bob, "", small).json()["image"].endswith(entry.manifest.digest)


def test_unknown_new_and_other_teams_images_are_refused_on_field_image(alice, small, open_policy, other_team):
    make_image("platform/new", status=ImageTag.Status.NEW)
    research = make_image("platform/research", all_teams=False)
    research.teams.set([other_team])
    make_image("users/bob/tools", "dev")
    for reference in ("platform/nope:1", "platform/new:2026.11.23-4f2a9c1", "platform/research:2026.11.23-4f2a9c1",
                      "users/bob/tools:dev", "ubuntu:latest"):
        response = launch(alice, reference, small)
        assert response.status_code == 400, reference
        assert "Unknown image" in response.json()["errors"]["image"][0]


def test_deprecated_redirects_to_its_replacement(alice, admin, small, open_policy):
    from images import services

    old = make_image(tag="2026.10.01-aaaaaaa")
    new = make_image()
    services.image_deprecate(entry=old, actor=admin, replacement=new, message="3.10 is end of life")
    response = launch(alice, old.reference, small)
    assert response.status_code == 202 and response.json()["image"].endswith(new.manifest.digest)
    choices = {c["reference"]: c for c in api_as(alice).get("/api/v1/images/choices/").json()["results"]}
    assert choices[old.reference]["deprecated"] and choices[old.reference]["replacement"] == new.reference
    assert choices[old.reference]["message"] == "3.10 is end of life"
    # Its own findings do not matter: it launches the replacement, which carries its own badges.
    services.report_attach(digest=old.manifest.digest, principal=admin, report=trivy_report(("CVE-2026-0009", "zlib", "CRITICAL")))
    choices = {c["reference"]: c for c in api_as(alice).get("/api/v1/images/choices/").json()["results"]}
    assert not choices[old.reference]["blocked"]


def test_scan_gate_blocks_and_a_time_boxed_exception_lets_it_through(alice, admin, small, team):
    from datetime import timedelta

    from django.utils import timezone

    from images import services

    ScanPolicy.objects.create(team=None, block_threshold="HIGH", allow_unscanned=False)
    entry = make_image()
    unscanned = launch(alice, entry.reference, small)
    assert unscanned.status_code == 400 and "not scanned" in unscanned.json()["errors"]["image"][0]

    services.report_attach(digest=entry.manifest.digest, principal=admin,
                           report=trivy_report(("CVE-2026-0001", "openssl", "HIGH"), ("CVE-2026-0002", "zlib", "LOW")))
    blocked = launch(alice, entry.reference, small)
    assert blocked.status_code == 400 and "CVE-2026-0001" in blocked.json()["errors"]["image"][0]
    choice = next(c for c in api_as(alice).get("/api/v1/images/choices/").json()["results"] if c["id"] == entry.pk)
    assert choice["blocked"] and "CVE-2026-0001" in choice["blocked_reasons"][0]

    exception = services.scan_exception_create(vulnerability_id="CVE-2026-0001", justification="not reachable",
                                               expires=timezone.now() + timedelta(days=1), actor=admin)
    assert launch(alice, entry.reference, small).status_code == 202

    # Expired: blocks again (the next launch; the running workspace is left alone).
    type(exception).objects.filter(pk=exception.pk).update(expires=timezone.now() - timedelta(seconds=1))
    again = api_as(alice).post("/api/v1/workspaces/", {"name": "ws2", "profile": small.name, "image": entry.reference}, format="json")
    assert again.status_code == 400
    assert Workspace.objects.get(name="ws").desired_state == "running"


def test_a_team_policy_tightens_the_platform_policy(alice, admin, small, team):
    from images import services

    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)
    entry = make_image()
    services.report_attach(digest=entry.manifest.digest, principal=admin, report=trivy_report(("CVE-2026-0003", "zlib", "MEDIUM")))
    assert launch(alice, entry.reference, small).status_code == 202
    ScanPolicy.objects.create(team=team, block_threshold="MEDIUM")
    response = api_as(alice).post("/api/v1/workspaces/", {"name": "ws2", "profile": small.name, "image": entry.reference}, format="json")
    assert response.status_code == 400 and "medium" in response.json()["errors"]["image"][0]


def test_personal_images_need_no_approval_or_scan_but_only_for_their_owner(alice, small):
    entry = make_image("users/alice/tools", "dev", status=ImageTag.Status.NEW)
    assert launch(alice, "users/alice/tools:dev", small).json()["image"].endswith(entry.manifest.digest)


def test_a_repushed_tag_is_blocked_until_approved_again(alice, admin, small, open_policy):
    from images import services

    entry = make_image()
    ImageTag.objects.filter(pk=entry.pk).update(digest_changed=True, previous_digest="sha256:" + "0" * 64)
    response = launch(alice, entry.reference, small)
    assert response.status_code == 400 and "re-pushed" in response.json()["errors"]["image"][0]
    entry.refresh_from_db()
    services.image_approve(entry=entry, actor=admin)
    assert launch(alice, entry.reference, small).status_code == 202


def test_without_a_registry_only_local_environments_are_offered(alice, small, settings, open_policy):
    settings.PLATFORM_REGISTRY_URL = ""
    make_image()
    references = [c["reference"] for c in api_as(alice).get("/api/v1/images/choices/").json()["results"]]
    assert references == ["local:default"]


def test_launch_form_shows_badges(client, alice, admin, small, open_policy):
    from images import services

    old = make_image(tag="2026.10.01-aaaaaaa")
    new = make_image(title="Python 3.12")
    services.image_approve(entry=new, actor=admin, recommended=True)
    services.image_deprecate(entry=old, actor=admin, replacement=new, message="Moving to 3.12")
    client.force_login(alice)
    page = client.get("/workspaces/").content.decode()
    assert f'{new.reference} — Python 3.12 <span class="badge badge-active">recommended</span>' in page
    assert f'<span class="badge">deprecated → {new.reference}</span> <small class="muted">Moving to 3.12</small>' in page
    response = client.post("/workspaces/", {"name": "from-form", "profile": small.pk, "image": old.reference})
    assert response.status_code == 302
    assert Workspace.objects.get(name="from-form").image.endswith(new.manifest.digest)

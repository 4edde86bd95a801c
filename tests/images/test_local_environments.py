"""Local environments: catalog entries for a host Python, through the same approval flow; on one machine a
launch from an approved local entry runs, and an image entry that cannot run fails with the reason."""

import sys

import pytest

from images.models import ImageTag, ScanPolicy
from tests.conftest import api_as
from tests.images.factories import make_image

pytestmark = pytest.mark.django_db


def choices_of(user):
    return [c["reference"] for c in api_as(user).get("/api/v1/images/choices/").json()["results"]]


def test_a_local_environment_goes_through_approval(admin, alice, small):
    client = api_as(admin)
    assert api_as(alice).post("/api/v1/images/local/", {"name": "py311", "python": sys.executable}, format="json").status_code == 403
    bad = client.post("/api/v1/images/local/", {"name": "broken", "python": "/nonexistent/python"}, format="json")
    assert bad.status_code == 400 and "not an executable" in bad.json()["errors"]["python"][0]
    relative = client.post("/api/v1/images/local/", {"name": "rel", "python": "python3"}, format="json")
    assert relative.status_code == 400 and "absolute path" in relative.json()["errors"]["python"][0]

    created = client.post("/api/v1/images/local/", {"name": "py311", "python": sys.executable}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "new" and created.json()["reference"] == "local:py311"
    assert "local:py311" not in choices_of(alice)
    refused = api_as(alice).post("/api/v1/workspaces/", {"name": "ws", "profile": "Small", "image": "local:py311"}, format="json")
    assert refused.status_code == 400 and "image" in refused.json()["errors"]

    client.post(f"/api/v1/images/{created.json()['id']}/approve/", {}, format="json")
    assert "local:py311" in choices_of(alice)
    launched = api_as(alice).post("/api/v1/workspaces/", {"name": "ws", "profile": "Small", "image": "local:py311"}, format="json")
    assert launched.status_code == 202 and launched.json()["image"] == "local:py311"
    from workspaces.launch import launch_spec_for
    from workspaces.models import Workspace

    assert launch_spec_for(Workspace.objects.get(name="ws"))["environment"] == {"kind": "local", "python": sys.executable}


@pytest.mark.hub
@pytest.mark.django_db(transaction=True)
def test_on_one_machine_local_entries_run_and_image_entries_are_refused_with_the_reason(hub, celery_worker, admin, alice, team,
                                                                                       small, settings):
    from images import services
    from tests.workspaces.test_hub_lifecycle import wait_for_status

    entry = services.local_environment_save(name="platform-python", python=sys.executable, actor=admin)
    services.image_approve(entry=entry, actor=admin)
    settings.PLATFORM_REGISTRY_URL, settings.PLATFORM_REGISTRY_HOST = "http://127.0.0.1:5000", "127.0.0.1:5000"
    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)
    image = make_image(status=ImageTag.Status.APPROVED)

    client = api_as(alice)
    local = client.post("/api/v1/workspaces/", {"name": "local", "profile": "Small", "image": "local:platform-python"}, format="json")
    running, _ = wait_for_status(client, local.json()["id"], "running")
    assert running["image"] == "local:platform-python"

    oci = client.post("/api/v1/workspaces/", {"name": "oci", "profile": "Small", "image": image.reference}, format="json")
    assert oci.status_code == 202 and oci.json()["image"] == f"127.0.0.1:5000/platform/python@{image.manifest.digest}"
    failed, _ = wait_for_status(client, oci.json()["id"], "failed")
    # Without podman + runc the spawner refuses; with them it tries, and there is no registry at :5000.
    from spawner.containers import detect_runtime

    expected = "container runtime" if detect_runtime("auto")[0] is None else "Could not pull image"
    assert expected in failed["status_message"], failed["status_message"]

"""Catalog sync against a real registry: pagination, OCI labels, digest changes, the push webhook."""

import time

import pytest
import requests
from django.conf import settings

from images import services
from images.models import ImageTag, Repository
from tests.conftest import PASSWORD
from tests.images.oci import build_layout, push

pytestmark = pytest.mark.django_db(transaction=True)
TAG = "2026.11.23-4f2a9c1"
LABELS = {
    "org.opencontainers.image.title": "Python 3.11 data science",
    "org.opencontainers.image.description": "pandas, scikit-learn, JupyterLab",
    "org.opencontainers.image.source": "https://git.example.org/images/python",
    "org.opencontainers.image.revision": "4f2a9c1",
    "org.opencontainers.image.created": "2026-11-23T10:00:00Z",
}


def push_image(registry, tmp_path, repository, tag=TAG, *, labels=None, content=b"v1", username="admin"):
    layout = tmp_path / f"layout-{repository.replace('/', '_')}-{tag}-{content.hex()}"
    digest = build_layout(layout, tag=tag, labels=labels, files={"etc/version": content})
    result = push(layout, tag, f"{registry.host}/{repository}:{tag}", username=username, password=PASSWORD)
    assert result.returncode == 0, result.stderr
    return digest


def test_sync_follows_pagination_and_reads_oci_labels(registry, tmp_path, admin, alice):
    digest = push_image(registry, tmp_path, "platform/python", labels=LABELS)
    push_image(registry, tmp_path, "platform/python", "2026.11.24-abcdef1", content=b"v2")
    push_image(registry, tmp_path, "platform/python", "latest", content=b"v3")
    push_image(registry, tmp_path, "platform/r-base")
    push_image(registry, tmp_path, "users/alice/tools", username="alice")

    names = services.catalog_sync(page_size=1)  # one repository and one tag per page: every page is followed

    assert names == ["platform/python", "platform/r-base", "users/alice/tools"]
    python = Repository.objects.get(name="platform/python")
    assert sorted(python.tags.values_list("tag", flat=True)) == ["2026.11.23-4f2a9c1", "2026.11.24-abcdef1", "latest"]
    entry = python.tags.get(tag=TAG)
    assert entry.manifest.digest == digest and entry.status == ImageTag.Status.NEW and entry.managed
    assert entry.manifest.title == LABELS["org.opencontainers.image.title"]
    assert entry.manifest.description == LABELS["org.opencontainers.image.description"]
    assert entry.manifest.source == LABELS["org.opencontainers.image.source"]
    assert entry.manifest.revision == "4f2a9c1" and entry.manifest.image_created == "2026-11-23T10:00:00Z"
    assert entry.manifest.size_bytes > 0
    assert not python.tags.get(tag="latest").managed  # not the CI pattern: listed as unmanaged
    alice_repo = Repository.objects.get(name="users/alice/tools")
    assert alice_repo.namespace == "user" and alice_repo.owner == alice

    assert services.catalog_sync(page_size=1) == names  # idempotent
    assert ImageTag.objects.filter(repository__name="platform/python").count() == 3


def test_a_repushed_tag_is_flagged_with_its_previous_digest(registry, tmp_path, admin):
    first = push_image(registry, tmp_path, "platform/python", content=b"first")
    services.catalog_sync()
    second = push_image(registry, tmp_path, "platform/python", content=b"second")
    services.catalog_sync()
    entry = ImageTag.objects.get(repository__name="platform/python", tag=TAG)
    assert entry.digest_changed and entry.previous_digest == first and entry.manifest.digest == second
    from portal.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="image.digest_changed", target_id=str(entry.pk)).exists()


def test_registry_push_notification_syncs_through_the_webhook(registry, tmp_path, admin, celery_worker):
    digest = push_image(registry, tmp_path, "platform/python", labels=LABELS)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entry = ImageTag.objects.filter(repository__name="platform/python", tag=TAG).select_related("manifest").first()
        if entry is not None and entry.manifest is not None:
            break
        time.sleep(0.2)
    assert entry is not None and entry.manifest.digest == digest


def test_webhook_requires_the_token_and_a_wellformed_envelope(live_server, db):
    url = f"{live_server.url}/api/v1/images/registry/events/"
    envelope = {"events": [{"action": "push", "target": {"repository": "platform/python", "tag": TAG}}]}
    assert requests.post(url, json=envelope, timeout=10).status_code == 401
    assert requests.post(url, json=envelope, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    good = {"Authorization": f"Bearer {settings.PLATFORM_REGISTRY_WEBHOOK_TOKEN}"}
    malformed = requests.post(url, data=b"{not json", headers=good, timeout=10)
    assert malformed.status_code == 400 and "Malformed" in malformed.json()["detail"]
    assert requests.post(url, json={"events": "nope"}, headers=good, timeout=10).status_code == 400
    assert requests.post(url, json={"events": [{"action": "push", "target": "x"}]}, headers=good, timeout=10).status_code == 400
    # Pulls are not news for the catalog (a push is covered end to end above).
    pull = {"events": [{"action": "pull", "target": {"repository": "platform/python"}}]}
    accepted = requests.post(url, json=pull, headers=good, timeout=10)
    assert accepted.status_code == 200 and accepted.json() == {"queued": []}

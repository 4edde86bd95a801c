"""The catalog list and the launch choices cost the same number of queries for 2 entries as for 8."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from images import services
from images.models import ScanPolicy
from tests.conftest import api_as
from tests.images.factories import make_image, trivy_report

pytestmark = pytest.mark.django_db


def add_scanned_images(count, admin, start):
    from images.models import PackageRecord

    for number in range(start, start + count):
        entry = make_image(f"platform/image-{number}")
        PackageRecord.objects.create(manifest=entry.manifest, name="pandas", version=f"2.{number}")
        services.report_attach(digest=entry.manifest.digest, principal=admin, report=trivy_report((f"CVE-2026-{number}", "zlib", "LOW")))


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/images/", "/api/v1/images/choices/", "/images/", "/workspaces/"])
def test_no_query_per_entry(url, admin, alice, settings, client):
    settings.PLATFORM_REGISTRY_URL = "http://127.0.0.1:5000"
    ScanPolicy.objects.create(team=None, block_threshold="HIGH")
    add_scanned_images(2, admin, 0)
    if url.startswith("/api/"):
        caller = api_as(alice)
    else:
        client.force_login(alice)
        caller = client
    queries(caller, url)  # warm up: the first request also marks the token used
    few = queries(caller, url)
    add_scanned_images(6, admin, 10)
    assert queries(caller, url) == few

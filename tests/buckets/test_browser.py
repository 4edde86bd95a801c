"""A real browser on the Data page: alice uploads a CSV straight to the store (a form post to a
presigned policy, no script) and sees it listed; with the store down the page says why."""

import pytest

from buckets import services
from buckets.models import Bucket
from tests.costs.test_browser import sign_in
from tests.conftest import free_port
from tests.web.test_browser import browser, page  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


def test_alice_uploads_a_csv_on_the_data_page(page, live_server, s3, alice, team, tmp_path):  # noqa: F811
    services.bucket_provision(bucket_id=services.bucket_ensure_team(team=team).pk)
    services.identity_sync(user_id=alice.pk)
    mine = Bucket.objects.get(owner=alice)
    sign_in(page, live_server, "alice", "/data/")
    assert mine.name in page.locator("#buckets").inner_text()
    assert page.locator("#access-key-id").inner_text().strip()
    page.get_by_role("link", name=mine.name).click()
    csv = tmp_path / "iris.csv"
    csv.write_text("species,petals\nsetosa,3\n")
    page.get_by_label("File").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    page.locator("#uploaded").wait_for()
    assert "iris.csv" in page.locator("#objects").inner_text()
    assert services.storage().bucket_usage(mine.name).objects == 1
    assert 'pd.read_csv("s3://' + mine.name in page.locator("#snippets").inner_text()


def test_the_data_page_says_why_when_the_store_is_down(page, live_server, s3, settings, alice, team):  # noqa: F811
    services.identity_sync(user_id=alice.pk)
    mine = Bucket.objects.get(owner=alice)
    settings.PLATFORM_S3_ENDPOINT_URL = settings.PLATFORM_S3_PUBLIC_URL = f"http://127.0.0.1:{free_port()}"
    sign_in(page, live_server, "alice", f"/data/buckets/{mine.pk}/")
    assert "unreachable" in page.locator("#storage-unavailable").inner_text()

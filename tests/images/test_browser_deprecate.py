"""In a real browser: an admin deprecates an image with a replacement; a data scientist sees the badge and the
message in the launch form, picks the old image and gets a workspace pinned to the replacement's digest."""

import re

import pytest

from images.models import ScanPolicy
from tests.conftest import PASSWORD
from tests.images.factories import make_image
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_deprecate_and_redirect_in_the_launch_form(browser, live_server, settings, admin, alice, small):  # noqa: F811
    settings.PLATFORM_REGISTRY_URL = "http://127.0.0.1:5000"
    settings.PLATFORM_REGISTRY_HOST = "127.0.0.1:5000"
    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)
    old = make_image(tag="2026.10.01-aaaaaaa", title="Python 3.10")
    new = make_image(tag="2026.11.23-4f2a9c1", title="Python 3.12")

    admin_context = browser.new_context()
    page = admin_context.new_page()
    sign_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/images/{old.pk}/")
    page.get_by_label("Replacement").select_option(label=new.reference)
    page.get_by_label("Message").fill("Python 3.10 is end of life: please move to 3.12")
    page.get_by_role("button", name="Deprecate").click()
    page.get_by_text("deprecated", exact=False).first.wait_for()
    admin_context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/workspaces/")
    old_option = page.get_by_label(re.compile(re.escape(old.reference)))
    label_text = page.locator(f"label:has(input[value='{old.reference}'])").inner_text()
    assert f"deprecated → {new.reference}" in label_text and "end of life" in label_text
    old_option.check()
    page.get_by_label("Name").fill("legacy")
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(re.compile(r".*/workspaces/\d+/$"))
    assert new.manifest.digest in page.content()
    assert Workspace.objects.get(name="legacy").image == f"127.0.0.1:5000/platform/python@{new.manifest.digest}"
    context.close()

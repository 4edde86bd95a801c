"""A real browser (Debian's Chromium driven by Playwright): log in, create a token, use it, log out."""

import shutil

import pytest
import requests

from tests.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def test_log_in_create_token_log_out(page, live_server, alice):
    page.goto(f"{live_server.url}/settings/tokens/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/settings/tokens/")

    page.get_by_label("Name").fill("notebook laptop")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("Copy it now").first.wait_for()
    token = page.get_by_test_id("new-token").input_value()
    assert token.startswith("dsw_")

    me = requests.get(f"{live_server.url}/api/v1/users/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["username"] == "alice"

    page.reload()
    assert page.get_by_test_id("new-token").count() == 0  # shown once only
    assert page.get_by_role("cell", name="notebook laptop").is_visible()

    page.on("dialog", lambda dialog: dialog.accept())  # the "Revoke?" confirmation
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("was revoked").wait_for()
    assert requests.get(f"{live_server.url}/api/v1/users/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are signed out").wait_for()
    page.goto(f"{live_server.url}/teams/")
    assert "/accounts/login/" in page.url


def test_cancelled_confirmation_keeps_the_token(page, live_server, alice):
    from portal.accounts.models import AccessToken
    from portal.accounts.services import token_create

    token_create(user=alice, name="keep me")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/settings/tokens/")
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert AccessToken.objects.get(name="keep me").revoked is None


def test_navigation_collapses_on_a_phone(browser, live_server, bob):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/workspaces/")
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()
    page.locator("label.nav-toggle-label").click()
    assert nav.is_visible()
    page.screenshot(path=str(live_server_screenshot_dir() / "phone-nav.png"))
    context.close()


def live_server_screenshot_dir():
    from django.conf import settings

    path = settings.PLATFORM_DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path

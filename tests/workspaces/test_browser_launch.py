"""In a real browser, through the one public origin: launch from the UI, watch progress, land in
JupyterLab without a second password; another user cannot open it, nor start servers on the hub."""

import re

import pytest

from tests.conftest import PASSWORD
from tests.lab_steps import first_cell_output
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = [pytest.mark.hub, pytest.mark.browser]


@pytest.fixture
def hub_sso(hub, transactional_db):
    from portal.processes.children import hub_oauth_client_ensure

    hub_oauth_client_ensure()
    return hub


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/workspaces/")


def run_a_cell(page):
    """New notebook from the launcher, one cell, Shift+Enter: the kernel really runs it."""
    assert first_cell_output(page) == "42"


def test_launch_watch_progress_open_jupyterlab(browser, hub_sso, celery_worker, alice, bob, team, small):  # noqa: F811
    base = hub_sso.public_url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base, "alice")
    page.get_by_label("Name").fill("analysis")
    page.get_by_label("Open JupyterLab when it is ready").uncheck()  # to watch the page; test_lab.py lets it open
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(re.compile(r".*/workspaces/\d+/$"))
    progress = page.get_by_role("progressbar", name="Start-up progress")
    assert progress.is_visible()  # the bar is shown while it starts, fed without reloads
    open_link = page.get_by_role("link", name="Open JupyterLab")
    open_link.wait_for(state="visible", timeout=120_000)
    assert not progress.is_visible(), progress.evaluate("e => e.outerHTML + getComputedStyle(e).display")
    workspace_url = open_link.get_attribute("href")

    open_link.click()
    page.wait_for_url(re.compile(r".*/user/alice/ws-\d+/lab.*"), timeout=60_000)
    page.wait_for_selector("#jp-main-dock-panel, .jp-LabShell", timeout=60_000)
    assert "/accounts/login/" not in page.url
    run_a_cell(page)
    # The lab (and anything a workspace serves) is on its owner's own origin, never the portal's: a page
    # there cannot read the portal with the person's session (the browser blocks it: no CORS for it).
    assert page.evaluate("() => location.origin") == hub_sso.server_url("alice", "x").split("/user/")[0]
    assert page.evaluate("() => location.origin") != base
    stolen = page.evaluate("""portal => fetch(portal + "/api/v1/users/me/", {credentials: "include"})
        .then(answer => answer.text()).catch(() => "blocked")""", base)
    assert stolen == "blocked"

    other = browser.new_context()
    intruder = other.new_page()
    sign_in(intruder, base, "bob")
    response = intruder.goto(workspace_url)
    intruder.wait_for_load_state()
    assert "/user/alice/" not in intruder.url or (response is not None and response.status == 403)
    assert "JupyterLab" not in intruder.title()
    spawn = intruder.goto(f"{base}/hub/spawn/bob/sneaky")
    assert spawn is not None and spawn.status == 403
    other.close()
    context.close()

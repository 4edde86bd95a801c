"""In Chromium, through the one public origin: alice publishes a notebook that carries script payloads from the
portal's file picker and shares it with bob, who views it: nothing in it runs (no dialog, no global, no request);
then alice shares her running workspace live with bob, who opens it with his own sign-in, until she revokes it."""

import re

import pytest

from tests.conftest import api_as, docs_screenshot
from tests.projects.test_browser import hub_sso  # noqa: F401  (the hub with the portal's sign-in)
from tests.sharing.helpers import html_output, notebook_bytes, put_files
from tests.sharing.test_publish_share_and_copy import launch
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from tests.workspaces.test_browser_launch import sign_in

pytestmark = [pytest.mark.hub, pytest.mark.browser]

PAYLOADS = notebook_bytes(
    "print('harmless')",
    "display(HTML(...))",
    outputs={
        0: html_output("<h2 id='visible-heading'>Quarterly churn</h2>"),
        1: html_output("<script>window.__xss = 'script'; alert('script'); fetch('/xss-beacon-script')</script>"
                       "<img src='x' onerror=\"window.top.__xss = 'onerror'; alert('onerror'); "
                       "new Image().src = '/xss-beacon-img'\">"
                       "<svg onload=\"alert('svg')\"></svg><a href=\"javascript:alert('link')\">click</a>"),
    },
)


def watch(page, dialogs, beacons):
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: beacons.append(request.url) if "xss-beacon" in request.url else None)


def test_publish_a_hostile_notebook_view_it_safely_and_share_a_workspace_live(browser, hub_sso, celery_worker, alice, bob, small):  # noqa: F811
    base = hub_sso.public_url
    workspace = launch(api_as(alice), "report")
    put_files(workspace, {"reports/xss.ipynb": PAYLOADS, "reports/second.ipynb": notebook_bytes("print('second')")})
    dialogs, beacons = [], []

    context = browser.new_context()
    page = context.new_page()
    watch(page, dialogs, beacons)
    sign_in(page, base, "alice")
    page.get_by_role("link", name="Shared", exact=True).click()
    page.get_by_role("link", name="Publish a notebook").click()
    page.get_by_role("link", name="reports/").click()
    row = page.locator("#files li[data-path='reports/xss.ipynb']")
    row.get_by_label("Message").fill("Q3 figures")
    row.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r".*/shares/\d+/$"))
    for _ in range(100):  # the snapshot is Celery's; the page says so until the version exists
        if page.locator("#rendered").count():
            break
        page.wait_for_timeout(300)
        page.reload()
    frame = page.frame_locator("#rendered")
    frame.get_by_text("Quarterly churn").wait_for()
    assert page.locator("#versions tr[data-version='1']").inner_text().count("Q3 figures") == 1
    page.get_by_label("Person (username)").first.fill("bob")
    page.locator("#grant-form").get_by_role("button", name="Share").click()
    page.locator("#grants li", has_text="bob (view)").wait_for()
    docs_screenshot(page, "sharing-notebook")

    bob_context = browser.new_context()
    bob_page = bob_context.new_page()
    watch(bob_page, dialogs, beacons)
    sign_in(bob_page, base, "bob")
    bob_page.goto(f"{base}/shares/")
    bob_page.locator("#shared-with-me").get_by_role("link", name="xss").click()
    bob_page.frame_locator("#rendered").get_by_text("Quarterly churn").wait_for()
    bob_page.wait_for_timeout(500)  # give any payload the chance to run before we look

    # Nothing ran: no dialog, no global in the portal's page, no request the payloads would make.
    for viewer in (page, bob_page):
        assert viewer.evaluate("() => window.__xss === undefined")
        assert viewer.evaluate("() => document.querySelector('#rendered').getAttribute('sandbox')") == ""
    assert dialogs == [] and beacons == []

    # From inside JupyterLab: Share… opens the portal's publish page with the notebook in front chosen.
    lab = context.new_page()  # a tab of its own: the lab asks before it is left (beforeunload)
    lab.goto(f"{workspace.lab_url}/tree/reports/second.ipynb")
    lab.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    with context.expect_page() as opened:
        lab.locator("#dsw-share").get_by_role("button", name="Share…").click()
    portal = opened.value
    portal.wait_for_load_state()
    assert "/shares/publish/" in portal.url and "path=reports%2Fsecond.ipynb" in portal.url
    portal.get_by_role("button", name="Publish this notebook").click()
    portal.wait_for_url(re.compile(r".*/shares/\d+/$"))
    assert portal.locator("h1").inner_text() == "second"
    portal.close()
    lab.close()

    # Live: bob opens alice's running JupyterLab with his own sign-in, until she revokes it.
    page.goto(f"{base}/shares/")
    live = page.locator("#live-shares form").last
    live.get_by_label("Person (username)").fill("bob")
    live.get_by_role("button", name="Share live").click()
    page.locator("#live-shares li", has_text="report → bob").wait_for()
    bob_page.goto(f"{base}/shares/")
    bob_page.locator("#shared-with-me").get_by_role("link", name="alice/report").click()
    # The hub asks bob once whether alice's server may know who he is (its consent page for servers one does not own).
    authorize = bob_page.get_by_role("button", name="Authorize")
    bob_page.locator("#jp-main-dock-panel, .jp-LabShell").or_(authorize).first.wait_for(timeout=60_000)
    if authorize.count():
        authorize.click()
    bob_page.wait_for_url(re.compile(r".*/user/alice/ws-\d+/lab.*"), timeout=60_000)
    bob_page.wait_for_selector("#jp-main-dock-panel, .jp-LabShell", timeout=60_000)

    # Asked as a browser navigation (the server checks XSRF on scripted requests, which is not what we test here).
    probe = bob_context.new_page()
    status_url = workspace.lab_url.replace("/lab", "/api/status")
    assert probe.goto(status_url).status == 200

    page.locator("#live-shares li", has_text="report → bob").get_by_role("button", name="Revoke").click()
    page.get_by_text("The live share has ended").wait_for()
    statuses = []
    for _ in range(50):  # the server trusts the hub's last word for a second
        statuses.append(probe.goto(status_url).status)
        if statuses[-1] != 200:
            break
        probe.wait_for_timeout(200)
    assert statuses[-1] == 403, statuses
    context.close()
    bob_context.close()

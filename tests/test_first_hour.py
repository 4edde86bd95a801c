"""The first hour on a fresh platform, in Chromium through the real hub (issue 15): `ensure_admin` (as
`make run` calls it) makes the admin, a team and sizes; the admin signs in, lands on what to do next,
sets prices and a budget of "500.00 EUR", and launches a workspace from the starter size without
creating anything first; JupyterLab opens named after it, with the way back to the portal.

DOCS_SCREENSHOTS=docs/images writes the user guide's screenshots."""

import io
import re

import pytest
from django.core.management import call_command

from costs.models import Budget, PriceSheet
from portal.accounts.models import Team
from tests.conftest import PASSWORD, docs_screenshot
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from tests.workspaces.test_browser_launch import hub_sso  # noqa: F401  (a fixture)
from workspaces.models import Profile, Workspace

pytestmark = [pytest.mark.hub, pytest.mark.browser]


def test_a_fresh_platform_launches_without_an_admin_step(browser, hub_sso, celery_worker, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PLATFORM_ADMIN_USER", "admin")
    monkeypatch.setenv("PLATFORM_ADMIN_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "Ready to launch" in out.getvalue()
    assert Team.objects.filter(starter=True).count() == 1 and Profile.objects.filter(starter=True, name="Small").exists()

    base = hub_sso.public_url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/welcome/")
    assert page.locator("[data-step]").count() == 5
    docs_screenshot(page, "first-hour-welcome")

    # Prices and a budget, typed as money.
    page.locator("[data-step=prices] a").click()
    page.get_by_label("CPU core-hour (EUR)").fill("0.10")
    page.get_by_label("GiB of memory per hour (EUR)").fill("0.05")
    page.get_by_label("GiB of disk per month (EUR)").fill("0.73")
    page.get_by_role("button", name="Save prices").click()
    page.get_by_text("The new prices were saved").wait_for()
    assert PriceSheet.objects.get().cpu_core_hour == 10
    page.goto(f"{base}/welcome/")
    page.locator("[data-step=budget] a").click()
    page.get_by_label("Amount (EUR)").first.fill("500.00")
    page.get_by_label("Action").select_option("block_launches")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("was saved").wait_for()
    assert Budget.objects.get().amount == 50000
    assert page.locator("#budget-status [data-field=limit]").inner_text() == "500.00 EUR"
    docs_screenshot(page.locator("section.card", has_text="Change the budget"), "first-hour-budget")

    # Launch from the starter size: the form shows the hourly price and the hours the budget pays for.
    page.goto(f"{base}/welcome/")
    page.locator("[data-step=launch] a").click()
    size = page.get_by_label("Size")
    assert re.search(r"Small — 1 CPU · 2 GiB RAM · 10 GiB disk · 0\.21 EUR/h · 2380\.9 h left in My team's budget",
                     size.inner_text()), size.inner_text()
    page.get_by_label("Name").fill("first-steps")
    docs_screenshot(page, "first-hour-launch")
    page.get_by_role("button", name="Launch").click()
    # The progress page opens JupyterLab by itself once the server answers.
    page.wait_for_url(re.compile(r".*/user/admin/ws-\d+/lab.*"), timeout=120_000)
    workspace = Workspace.objects.get(name="first-steps")
    assert workspace.profile.starter and workspace.team.starter
    page.locator(".jp-LauncherCard").first.wait_for(timeout=60_000)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)
    assert page.title().endswith("first-steps · Small")
    docs_screenshot(page, "first-hour-jupyterlab")
    page.locator("#dsw-portal-link a").click()
    page.wait_for_url(f"{base}/workspaces/{workspace.pk}/")
    context.close()

"""A real browser: a platform admin sets a team's budget in the UI, a team admin sees the charts."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from costs.metering import metering_run
from costs.models import Budget
from tests.conftest import PASSWORD
from tests.costs.conftest import event, make_workspace
from tests.web.test_browser import browser, page  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


def sign_in(page, live_server, username, path):  # noqa: F811
    page.goto(f"{live_server.url}{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}{path}")


def test_admin_sets_a_budget_and_the_team_admin_sees_spend(page, live_server, admin, alice, bob, team, small, prices, tmp_path):  # noqa: F811
    workspace = make_workspace(bob, team, small, name="churn")
    event(workspace, "running", timezone.now() - timedelta(hours=3))
    metering_run()

    sign_in(page, live_server, "admin", f"/costs/teams/{team.id}/")
    page.get_by_label("Amount (EUR)").first.fill("1,250.50")
    page.get_by_label("Action").select_option("block_launches")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("was saved").wait_for()
    assert Budget.objects.get(team=team).amount == 125050
    assert page.locator("#budget-status [data-field=limit]").inner_text() == "1,250.50 EUR"
    assert page.get_by_label("Amount (EUR)").first.input_value() == "1,250.50"  # read back as typed
    page.context.clear_cookies()

    sign_in(page, live_server, "alice", f"/costs/teams/{team.id}/")
    assert page.locator("svg polyline").count() == 1
    assert "bob" in page.locator("section", has_text="By user").inner_text()
    assert "churn" in page.locator("#workspace-costs").inner_text()
    page.screenshot(path=str(os.environ.get("COSTS_SCREENSHOT", tmp_path / "costs.png")), full_page=True)

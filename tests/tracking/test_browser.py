"""In Chromium: /mlflow/ with the portal's session only (sign in once, at the portal); MLflow's UI lists the
experiments of one's projects, opens the compare view from the project page, and shows another team nothing."""

import re
import secrets

import pytest

from projects.models import Project
from tests.conftest import PASSWORD, docs_screenshot
from tests.tracking.helpers import client_as, log_runs
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_at_mlflow(page, base, username):
    """Open MLflow: the portal asks for the sign-in, then sends the person back to MLflow."""
    page.goto(f"{base}/mlflow/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/mlflow/.*"), timeout=90_000)


def test_mlflow_ui_with_the_portal_session(browser, live_server, settings, monkeypatch, tracking, churn, alice, carol,  # noqa: F811
                                           other_team):
    settings.PLATFORM_PUBLIC_URL = live_server.url
    theirs = Project.objects.create(team=other_team, name="Secret", slug=f"secret-{secrets.token_hex(3)}")
    experiment_id, run_ids = log_runs(client_as(monkeypatch, live_server, alice), str(churn),
                                      [("baseline", {"rmse": 0.31}), ("tuned", {"rmse": 0.25})])
    log_runs(client_as(monkeypatch, live_server, carol, workspace_id=2), str(theirs), [("hidden", {"acc": 0.9})])

    context = browser.new_context()
    context.set_default_timeout(90_000)  # a loaded machine: MLflow's pages are heavy
    page = context.new_page()
    sign_in_at_mlflow(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/mlflow/#/experiments")
    page.get_by_text(str(churn), exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text(str(theirs)).count() == 0
    page.goto(f"{live_server.url}/mlflow/#/experiments/{experiment_id}/runs")
    page.get_by_text("tuned").first.wait_for(timeout=60_000)  # the experiment's page (REST and GraphQL reads)
    docs_screenshot(page, "tracking-mlflow")

    page.goto(f"{live_server.url}/projects/{churn.pk}/")
    page.get_by_role("link", name="Compare runs").click()
    page.wait_for_url(re.compile(r".*/mlflow/#/compare-runs\?.*"), timeout=90_000)
    page.get_by_text("tuned").first.wait_for(timeout=60_000)
    page.get_by_text("baseline").first.wait_for(timeout=60_000)
    context.close()

    context = browser.new_context()
    context.set_default_timeout(90_000)  # a loaded machine: MLflow's pages are heavy
    page = context.new_page()
    sign_in_at_mlflow(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/mlflow/#/experiments")
    page.get_by_text(str(theirs), exact=True).first.wait_for(timeout=60_000)
    assert page.get_by_text(str(churn)).count() == 0
    page.goto(f"{live_server.url}/mlflow/#/experiments/{experiment_id}")
    # The UI asks for the experiment; the platform answers that there is none.
    page.get_by_text(re.compile("error", re.IGNORECASE)).first.wait_for(timeout=60_000)
    docs_screenshot(page, "tracking-carol")
    assert page.get_by_text("tuned").count() == 0 and page.get_by_text("baseline").count() == 0
    context.close()

"""In Chromium, through the one public origin: create a project, launch a workspace in it (its files arrive
in the home), and read the project's cost page."""

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from costs.metering import metering_run
from tests.conftest import docs_screenshot
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from tests.workspaces.test_browser_launch import sign_in
from workspaces.models import Workspace, WorkspaceEvent

pytestmark = [pytest.mark.hub, pytest.mark.browser]


@pytest.fixture
def hub_sso(hub, transactional_db):
    from portal.processes.children import hub_oauth_client_ensure

    hub_oauth_client_ensure()
    return hub


def test_create_a_project_launch_in_it_and_read_its_costs(browser, hub_sso, celery_worker, alice, team, small, prices):  # noqa: F811
    base = hub_sso.public_url
    page = browser.new_context().new_page()
    sign_in(page, base, "alice")

    page.get_by_role("link", name="Projects").click()
    page.get_by_label("Name").fill("Churn model")
    page.get_by_label("Description").fill("Which customers leave, and why.")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r".*/projects/\d+/$"))
    assert page.locator("#timeline li[aria-current=step]").inner_text().startswith("Define")
    docs_screenshot(page, "projects-detail")

    page.get_by_role("link", name="Launch a workspace in it").click()
    assert page.get_by_label("Project", exact=True).input_value() != ""  # the project is chosen already
    page.get_by_label("Name").fill("churn")
    page.get_by_label("Open JupyterLab when it is ready").uncheck()  # the project's pages come next, not the lab
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(re.compile(r".*/workspaces/\d+/$"))
    page.get_by_role("link", name="Open JupyterLab").wait_for(state="visible", timeout=120_000)
    workspace = Workspace.objects.get(name="churn")
    assert workspace.project.slug == "churn-model"
    deadline = time.monotonic() + 60
    while not workspace.events.filter(kind__in=["project_files", "project_files_failed"]).exists():
        assert time.monotonic() < deadline, "the project's files never came"
        time.sleep(0.3)
    files = workspace.events.get(kind__in=["project_files", "project_files_failed"])
    assert files.kind == WorkspaceEvent.Kind.PROJECT_FILES, files.message

    # Two minutes of use, as the janitor would have seen them (billing stops at its last sighting, less the hub's
    # poll interval: a sighting made just after the start would leave nothing to bill yet).
    later = timezone.now() + timedelta(minutes=2)
    Workspace.objects.filter(pk=workspace.pk).update(
        last_seen_alive=later + timedelta(seconds=settings.PLATFORM_SPAWNER_POLL_INTERVAL))
    metering_run(now=later)
    page.get_by_role("link", name="Churn model").click()
    page.get_by_role("link", name="This project's costs").click()
    page.wait_for_url(re.compile(r".*/costs/projects/\d+/$"))
    assert page.locator("#workspace-costs").get_by_role("cell", name="churn", exact=True).is_visible()
    assert "EUR" in page.locator("#project-cost-status").inner_text()
    docs_screenshot(page, "projects-costs")

"""A quiet, branded JupyterLab (issue 15): local workspaces' servers get workspaces/lab through the
launch spec. Checked on a real `jupyter lab` started with the spec's environment, then end to end in
Chromium through the real hub: no news prompt, the workspace in the tab's title, a way back to the
portal, and the idle-cull and budget warnings inside the lab with a working "Keep running"."""

import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from costs.alerts import budget_check, budget_stop_for
from costs.services import budget_set
from tests.conftest import api_as, docs_screenshot, free_port
from tests.costs.conftest import spend
from tests.workspaces.test_browser_launch import hub_sso, sign_in  # noqa: F401  (hub_sso: a fixture)
from tests.workspaces.test_hub_lifecycle import wait_for_status
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from workspaces.culling_services import workspace_cull_sweep
from workspaces.lab import CONFIG_DIR, EXTENSION_NAME
from workspaces.lab_static import lab_extensions_url, lab_static_url
from workspaces.models import Profile, Workspace

NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"


def spec_env(settings, workspace_id):
    hub = APIClient()
    hub.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.PLATFORM_HUB_API_TOKEN}")
    return hub.get(f"/api/internal/launch-spec/?user=alice&server=ws-{workspace_id}").json()["env"]


def test_local_servers_get_the_lab_config_through_the_launch_spec(alice, team, small, settings):
    workspace_id = api_as(alice).post("/api/v1/workspaces/", {"name": "churn", "profile": "Small"}, format="json").json()["id"]
    env = spec_env(settings, workspace_id)
    assert env["JUPYTER_CONFIG_PATH"] == str(CONFIG_DIR) and Path(env["JUPYTER_CONFIG_PATH"]).is_dir()
    assert (env["PLATFORM_WORKSPACE_NAME"], env["PLATFORM_WORKSPACE_SIZE"]) == ("churn", "Small")
    assert env["PLATFORM_LAB_STATIC_URL"] == lab_static_url() != ""  # this Python's JupyterLab, at one address
    assert json.loads(env["PLATFORM_LAB_EXTENSIONS"])["url"] == lab_extensions_url() != ""  # and its extensions


def test_image_workspaces_get_the_lab_config_at_the_container_path_and_no_host_path(alice, team, small, settings):
    from spawner.spec import CONTAINER_LAB_DIR
    from workspaces.launch import launch_spec_for

    workspace = Workspace.objects.create(owner=alice, team=team, profile=small, name="img",
                                         image="127.0.0.1:8005/platform/python@sha256:" + "a" * 64)
    env = launch_spec_for(workspace)["env"]
    # Where the spawner mounts (or the image copies) workspaces/lab; the host's checkout means nothing in a container.
    assert env["JUPYTER_CONFIG_PATH"] == f"{CONTAINER_LAB_DIR}/config"
    assert not any(str(CONFIG_DIR.parent) in value for value in env.values())
    assert (env["PLATFORM_WORKSPACE_NAME"], env["PLATFORM_WORKSPACE_SIZE"]) == ("img", "Small")
    assert "PLATFORM_LAB_STATIC_URL" not in env  # the image's own JupyterLab serves its own bundle
    assert "PLATFORM_LAB_EXTENSIONS" not in env  # and its own extensions


def start_lab(tmp_path, platform=True, extra_env=None, args=()):
    """A real `jupyter lab` with the environment a workspace's server gets (no hub needed), or, with
    ``platform`` False, a plain one for comparison."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env.update({"HOME": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter")})
    if platform:
        env.update({"JUPYTER_CONFIG_PATH": str(CONFIG_DIR), "PLATFORM_WORKSPACE_NAME": "churn-model",
                    "PLATFORM_WORKSPACE_SIZE": "Small"})
    env.update(extra_env or {})
    process = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
                                "--ServerApp.ip=127.0.0.1", "--ServerApp.token=t0ken", f"--ServerApp.root_dir={tmp_path}",
                                # a port taken meanwhile fails here, never serves from the next port (where another
                                # test's lab, with the same token, may answer)
                                "--ServerApp.port_retries=0",
                                *args],
                               env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=(tmp_path / ".lab.log").open("w"))  # a file: a pipe nobody reads could fill
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/status?token=t0ken", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    return base, process


@pytest.fixture
def lab_server(tmp_path):
    base, process = start_lab(tmp_path)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_lab_is_named_after_the_workspace_quiet_and_has_the_extension(lab_server):
    page = requests.get(f"{lab_server}/lab?token=t0ken", timeout=20).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert config["appName"] == "churn-model · Small"  # the tab reads "<document> - churn-model · Small"
    assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]  # no news, no update check
    extension = next(e for e in config["federated_extensions"] if e["name"] == EXTENSION_NAME)
    script = requests.get(f"{lab_server}/lab/extensions/{EXTENSION_NAME}/{extension['load']}?token=t0ken", timeout=10)
    assert script.status_code == 200 and f'var NAME = "{EXTENSION_NAME}"' in script.text


@pytest.mark.browser
@pytest.mark.parametrize("platform", [False, True])
def test_no_news_prompt_where_a_plain_jupyterlab_asks(browser, tmp_path, platform):  # noqa: F811
    """The plain lab asks within seconds of opening (so this check can fail); the platform's does not."""
    base, process = start_lab(tmp_path, platform=platform)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}/lab?token=t0ken")
        page.locator(".jp-LauncherCard").first.wait_for(timeout=60_000)
        prompt = page.get_by_text(NEWS_PROMPT)
        if platform:
            page.wait_for_timeout(5000)  # as long as the plain lab needed, and more
            assert prompt.count() == 0 and page.title() == "churn-model · Small"
            assert page.locator("#dsw-portal-link").count() == 0  # no hub server name: the extension stays out of the way
        else:
            prompt.wait_for(timeout=5000)
            assert page.title() == "JupyterLab"
    finally:
        context.close()
        process.terminate()
        process.wait(timeout=20)


# --- End to end: Chromium, the real hub, a real server --------------------------------------------

@pytest.mark.hub
@pytest.mark.browser
def test_jupyterlab_is_quiet_branded_and_warns_inside(browser, hub_sso, celery_worker, settings, admin, alice, team):  # noqa: F811
    settings.PLATFORM_CULL_WARNING_MINUTES = 10
    settings.PLATFORM_CULL_EXTENSION_MINUTES = 60
    Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30,
                           idle_timeout_minutes=30, max_age_hours=0)
    base = hub_sso.public_url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, base, "alice")
    page.get_by_label("Name").fill("churn-model")
    page.get_by_role("button", name="Launch").click()
    # The progress page opens the lab by itself ("Open JupyterLab when it is ready" is ticked by default).
    page.wait_for_url(re.compile(r".*/user/alice/ws-\d+/lab.*"), timeout=120_000)
    workspace_id = Workspace.objects.get(name="churn-model").pk
    page.locator(".jp-LauncherCard").first.wait_for(timeout=60_000)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)

    assert page.title().endswith("churn-model · Small"), page.title()
    back = page.locator("#dsw-portal-link a")
    # The lab is on alice's own origin; the portal is another one, reached by its full address.
    assert back.is_visible() and back.get_attribute("href") == f"{base}/workspaces/{workspace_id}/"
    page.wait_for_timeout(3000)  # the news prompt, when enabled, comes once the lab is restored
    assert page.get_by_text(NEWS_PROMPT).count() == 0
    assert not page.locator("#dsw-stop-warning").is_visible()

    # Back from the lab (past the entries JupyterLab adds itself) is the workspace's page, and it stays there:
    # it opened the lab once, as asked.
    for _ in range(5):
        page.go_back()
        if page.url.startswith(base):
            break
    page.wait_for_url(f"{base}/workspaces/{workspace_id}/")
    page.get_by_role("link", name="Open JupyterLab").wait_for(state="visible")
    page.wait_for_timeout(1000)
    assert page.url == f"{base}/workspaces/{workspace_id}/"
    page.go_forward()
    page.wait_for_url(re.compile(r".*/user/alice/ws-\d+/lab.*"))

    # Idle for (nearly) 30 minutes, as far as the sweep can tell: the warning appears inside the lab.
    result = workspace_cull_sweep(now=timezone.now() + timedelta(minutes=25))
    assert result.warned == 1, vars(result)
    page.reload()
    warning = page.locator("#dsw-stop-warning")
    warning.wait_for(state="visible", timeout=60_000)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)
    assert "churn-model stops at" in warning.inner_text() and "idle for 30 min" in warning.inner_text()
    docs_screenshot(page, "jupyterlab-idle-warning")
    warning.get_by_role("button", name="Keep running").click()
    warning.wait_for(state="hidden", timeout=30_000)
    workspace = Workspace.objects.get(pk=workspace_id)
    assert workspace.kept_running and workspace.events.filter(kind="kept_running", actor_username="alice").exists()

    # The team's budget runs out under stop_workspaces: that warning shows inside the lab too.
    budget = budget_set(team=team, actor=admin, amount=100, action="stop_workspaces", grace_minutes=30)
    spend(team, 100, timezone.now())
    budget_check(budget=budget)
    assert budget_stop_for(team_id=team.pk) is not None
    page.reload()
    warning.wait_for(state="visible", timeout=60_000)
    assert "budget is used up" in warning.inner_text()
    assert wait_for_status(api_as(alice), workspace_id, "running")[0]["budget_stop"]["deadline"]
    context.close()

"""Custom images built from a workspace folder, with real parts: the recipe is read from alice's running server,
buildah builds it (in a user namespace) FROM an approved catalog image pulled from a real registry, syft lists what
is inside, skopeo pushes it as a per-build robot, and the catalog syncs it. Alice launches it in a podman container
and imports the package; bob sees nothing of it until it is proposed to the team and a team admin approves it; a
requirements.txt that does not resolve fails the build in its pip step with pip's own error, and pushes nothing."""

import base64
import json
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from builds.models import ImageBuild
from images import services as image_services
from images.models import ImageTag, PackageRecord, ScanPolicy
from images.selectors import launch_resolve
from tests.conftest import PASSWORD, api_as
from tests.images.oci import push
from tests.kernels import run_in_kernel
from tests.sharing.helpers import put_files
from tests.web.test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from workspaces.hub import hub_client

TAG = "2026.12.03-5e1f0a2"
EXTRA = "tabulate==0.9.0"  # small, pure Python, not in the base


@pytest.fixture(scope="session")
def builder_base_layout(tmp_path_factory):
    """A Jupyter image of this host's files with pip in it: something to build on, without the network."""
    from spawner.containers import detect_runtime
    from tests.images.jupyter_image import build_jupyter_layout

    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed: make install-test installs it (scripts/runtime-deps.sh)")
    runtime, why_not = detect_runtime("auto")
    if runtime is None:
        pytest.skip(f"podman with runc cannot run here: {why_not}")
    layout = tmp_path_factory.mktemp("builder-base")
    digest, _ = build_jupyter_layout(layout, tag=TAG, with_pip=True)
    return layout, digest


def _wait_for_build(client, build_id, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = client.get(f"/api/v1/images/builds/{build_id}/").json()
        if build["state"] not in ("queued", "running"):
            return build
        time.sleep(1)
    pytest.fail(f"build {build_id} did not finish: {ImageBuild.objects.get(pk=build_id).log[-2000:]}")


def _launch(client, name, image):
    from tests.workspaces.test_hub_lifecycle import wait_for_status

    created = client.post("/api/v1/workspaces/", {"name": name, "profile": "Small", "image": image}, format="json")
    assert created.status_code == 202, created.json()
    running, _ = wait_for_status(client, created.json()["id"], "running", timeout=240)
    return created.json()["id"], running


def _kernel(username, workspace_id, code):
    hub = hub_client()
    server = f"ws-{workspace_id}"
    state = hub.server_state(username, server)
    token_id, token = hub.server_token(username, server, note="test")
    url = f"{hub.servers_url}{state.url.rstrip('/')}" if state.url.startswith("/") else state.url.rstrip("/")
    try:
        # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(run_in_kernel, url, token, code).result()
    finally:
        hub.token_revoke(username, token_id)


@pytest.mark.hub
@pytest.mark.django_db(transaction=True)
def test_a_custom_image_from_a_workspace_folder(hub, celery_worker, registry, builder_base_layout, admin, alice, bob,  # noqa: F811
                                                 small, settings, tmp_path, browser, live_server):
    from workspaces.models import Workspace

    settings.PLATFORM_BUILD_DIR = tmp_path / "builds"  # its own image store: nothing shared with make run or a worker
    layout, base_digest = builder_base_layout
    pushed = push(layout, TAG, f"{registry.host}/platform/jupyter:{TAG}", username="admin", password=PASSWORD)
    assert pushed.returncode == 0, pushed.stderr
    image_services.catalog_sync()
    base = ImageTag.objects.get(repository__name="platform/jupyter", tag=TAG)
    image_services.image_approve(entry=base, actor=admin)
    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)
    # The hub pulls workspace images with a pull-only robot (platform and people's own images).
    robot, secret = image_services.robot_create(name="hub-pull", actor=admin, days=1, scopes=[
        {"repository": "platform/*", "actions": ["pull"]}, {"repository": "users/*", "actions": ["pull"]},
        {"repository": "teams/*", "actions": ["pull"]}])
    auth_file = hub.log_path.parent / "registry-auth.json"
    auth_file.write_text(json.dumps({"auths": {registry.host: {"auth": base64.b64encode(f"robot${robot.name}:{secret}".encode()).decode()}}}))
    auth_file.chmod(0o600)

    alice_api, bob_api = api_as(alice), api_as(bob)
    workspace_id, _ = _launch(alice_api, "lab", "local:default")
    workspace = Workspace.objects.select_related("owner").get(pk=workspace_id)
    put_files(workspace, {"env/requirements.txt": f"{EXTRA}\n".encode(), "notes/readme.md": b"no recipe here",
                          "broken/requirements.txt": b"dsw-no-such-package-anywhere==0.0.1\n",
                          "post/requirements.txt": f"{EXTRA}\n".encode(), "post/postBuild": b"echo making notes\nexit 7\n"})
    container_workspace = None
    try:
        # Bad input: a 400 naming the field, nothing queued.
        request = {"workspace": workspace_id, "folder": "env", "base": base.reference, "name": "my-env"}
        for change, field, words in [({"name": "My Env"}, "name", "lower-case"), ({"base": "platform/nope:1"}, "base", "unknown image"),
                                     ({"folder": "../etc"}, "folder", "inside the workspace"),
                                     ({"folder": "notes"}, "folder", "requirements.txt or an environment.yml"),
                                     ({"folder": "missing"}, "folder", "no folder missing"),
                                     ({"team": "research"}, "team", "only an admin of that team")]:
            answer = alice_api.post("/api/v1/images/builds/", {**request, **change}, format="json")
            assert answer.status_code == 400 and words in answer.json()["errors"][field][0].lower(), answer.json()
        assert bob_api.post("/api/v1/images/builds/", {**request, "workspace": workspace_id}, format="json").status_code == 400
        assert not ImageBuild.objects.exists()

        answer = alice_api.post("/api/v1/images/builds/", request, format="json")
        assert answer.status_code == 202, answer.json()
        queued = answer.json()
        assert queued["repository"] == "users/alice/my-env" and queued["base"] == f"{registry.host}/platform/jupyter@{base_digest}"
        assert bob_api.get(f"/api/v1/images/builds/{queued['id']}/").status_code == 404  # only its owner sees a build
        build = _wait_for_build(alice_api, queued["id"])
        assert build["state"] == "succeeded", ImageBuild.objects.get(pk=queued["id"]).log[-3000:]
        log = alice_api.get(f"/api/v1/images/builds/{queued['id']}/log/").json()
        assert "Successfully installed tabulate-0.9.0" in log["text"] and log["done"]
        assert [line for line in log["text"].splitlines() if line.startswith("==> ")][:6] == [
            "==> build", "==> export", "==> sbom", "==> push", f"==> done: users/alice/my-env:{build['tag']} ({build['digest']})"][:6]

        # In the catalog, with its SBOM listing the package; its robot is revoked.
        entry = ImageTag.objects.get(pk=build["image"])
        assert entry.reference == f"users/alice/my-env:{build['tag']}" and entry.manifest.digest == build["digest"]
        assert PackageRecord.objects.filter(manifest=entry.manifest, name="tabulate", version="0.9.0").exists()
        found = alice_api.get("/api/v1/images/", {"package": "tabulate"}).json()["results"]
        assert [item["reference"] for item in found] == [entry.reference]
        assert bob_api.get("/api/v1/images/", {"package": "tabulate"}).json()["results"] == []
        assert not ImageTag.objects.get(pk=base.pk).repository.manifests.filter(packages__name="tabulate").exists()
        from images.models import RobotAccount
        assert RobotAccount.objects.get(name=f"build-{build['id']}").revoked is not None

        # The same from the portal's pages, in Chromium: the form, then the build page following the log live.
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/?next=/images/builds/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/images/builds/")
        form = page.locator("#build-form")
        form.get_by_label("Folder").fill("env")
        form.get_by_label("Base image").select_option(base.reference)
        form.get_by_label("Name", exact=True).fill("from-the-page")
        form.get_by_role("button", name="Build").click()
        page.wait_for_url(re.compile(r".*/images/builds/\d+/$"))
        page.locator("#build-log", has_text="==> build").wait_for(timeout=120_000)  # streamed while it runs
        page.get_by_role("link", name="Launch a workspace with it").wait_for(timeout=300_000)  # reloaded when done
        assert page.locator("[data-field=state]").inner_text() == "succeeded" and "==> push" in page.locator("#build-log").inner_text()
        context.close()

        # Alice launches it at once (podman) and imports the package in a cell.
        container_workspace, running = _launch(alice_api, "custom", entry.reference)
        assert running["image"] == f"{registry.host}/users/alice/my-env@{build['digest']}"
        outcome, out = _kernel("alice", container_workspace, "import tabulate; print('tabulate', tabulate.__version__)")
        assert outcome == "ok" and "tabulate 0.9.0" in out, out

        # Bob may not launch it; proposed to the team it waits, new, until a team admin (alice) approves it.
        with pytest.raises(Exception, match="not available to you"):
            launch_resolve(user=bob, team=workspace.team, reference=entry.reference)
        proposed = alice_api.post(f"/api/v1/images/builds/{build['id']}/propose/", {"team": workspace.team.slug}, format="json")
        assert proposed.status_code == 202, proposed.json()
        team_entry = _wait_for_entry(f"teams/{workspace.team.slug}/my-env", build["tag"])
        assert team_entry.status == "new" and team_entry.manifest.digest == build["digest"]
        # The registry's push notification may sync the entry before the proposal copies its packages: wait for them.
        deadline = time.monotonic() + 60
        while not PackageRecord.objects.filter(manifest=team_entry.manifest, name="tabulate").exists():
            assert time.monotonic() < deadline, "the proposal never copied the SBOM's packages"
            time.sleep(0.5)
        with pytest.raises(Exception, match="not available to you"):
            launch_resolve(user=bob, team=workspace.team, reference=team_entry.reference)
        assert bob_api.get("/api/v1/images/", {"package": "tabulate"}).json()["results"] == []  # not even listed
        assert bob_api.get(f"/api/v1/images/{team_entry.pk}/").status_code == 404
        assert alice_api.post(f"/api/v1/images/{team_entry.pk}/approve/", {}, format="json").status_code == 200
        assert [item["reference"] for item in bob_api.get("/api/v1/images/", {"package": "tabulate"}).json()["results"]] == [
            team_entry.reference]
        chosen, pinned = launch_resolve(user=bob, team=workspace.team, reference=team_entry.reference)
        assert chosen.pk == team_entry.pk and pinned.endswith(build["digest"])

        # A requirement that does not resolve: the pip step fails with pip's error; nothing is pushed.
        answer = alice_api.post("/api/v1/images/builds/", {**request, "folder": "broken", "name": "broken"}, format="json")
        broken = _wait_for_build(alice_api, answer.json()["id"])
        assert broken["state"] == "failed" and broken["step"] == "build", broken
        assert broken["error"].startswith("The build step failed: pip install -r requirements.txt"), broken["error"]
        broken_log = alice_api.get(f"/api/v1/images/builds/{broken['id']}/log/").json()["text"]
        assert "No matching distribution found for dsw-no-such-package-anywhere" in broken_log
        # A postBuild that fails: named as the step, its output in the log.
        answer = alice_api.post("/api/v1/images/builds/", {**request, "folder": "post", "name": "post"}, format="json")
        post = _wait_for_build(alice_api, answer.json()["id"])
        assert post["state"] == "failed" and post["error"].startswith("The build step failed: postBuild: exit status"), post
        assert "making notes" in alice_api.get(f"/api/v1/images/builds/{post['id']}/log/").json()["text"]
        image_services.catalog_sync()
        assert not ImageTag.objects.filter(repository__name__in=["users/alice/broken", "users/alice/post"]).exists()
        assert requests.get(f"{registry.url}/v2/users/alice/broken/tags/list", timeout=5).status_code in (401, 404)
    finally:
        for ws in (workspace_id, container_workspace):
            if ws:
                alice_api.delete(f"/api/v1/workspaces/{ws}/")
        for name in subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True,
                                   text=True).stdout.split():
            if container_workspace and name.startswith(f"dsw-ws-{container_workspace}-"):
                subprocess.run(["podman", "rm", "--force", name], capture_output=True)
        auth_file.unlink(missing_ok=True)


def _wait_for_entry(repository, tag, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = ImageTag.objects.filter(repository__name=repository, tag=tag).select_related("manifest").first()
        if entry is not None and entry.manifest is not None:
            return entry
        time.sleep(0.5)
    pytest.fail(f"{repository}:{tag} never reached the catalog")

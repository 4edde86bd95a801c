"""Image builds without a hub: the recipe's rules, the Containerfile made from it, the step a failure names, the
curated order, who may build where, cancelling, abandoned builds, the API's 404s and log offsets, and the tool
runner's time limit and cancel (real processes, killed with their children)."""

import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from builds import recipes, services
from builds.builder import Builder, Cancelled, StepFailed, layout_manifest
from builds.models import ImageBuild
from tests.conftest import api_as, make_user
from tests.images.oci import build_layout
from workspaces.server_files import home_relative_folder


def test_a_recipe_needs_requirements_or_an_environment_and_stays_small():
    assert recipes.recipe_problems({"requirements.txt": "pandas\n"}) == []
    assert recipes.recipe_problems({"environment.yml": "dependencies: [numpy]\n", "postBuild": "echo hi\n"}) == []
    assert "needs a requirements.txt" in recipes.recipe_problems({"postBuild": "echo hi"})[0]
    assert any("larger than" in p for p in recipes.recipe_problems({"requirements.txt": "x" * (recipes.RECIPE_MAX_BYTES + 1)}))
    assert any("not a text file" in p for p in recipes.recipe_problems({"requirements.txt": "a\x00b"}))


def test_the_containerfile_runs_each_recipe_file_in_exec_form_and_quotes_labels():
    text = recipes.custom_containerfile(base_reference="127.0.0.1:5000/platform/py@sha256:" + "a" * 64,
                                        files={"postBuild": "x", "requirements.txt": "y"}, build_args=["PIP_CERT"],
                                        labels={"org.opencontainers.image.source": 'ws:~/a"b\nRUN evil'})
    lines = text.splitlines()
    assert lines[:4] == ["FROM 127.0.0.1:5000/platform/py@sha256:" + "a" * 64, "ARG PIP_CERT", "USER root",
                         "COPY recipe/ /tmp/dsw-build/"]
    runs = [line for line in lines if line.startswith("RUN ")]
    assert runs[0].startswith('RUN ["python3", "-m", "pip", "install"') and runs[0].endswith('"/tmp/dsw-build/requirements.txt"]')
    assert runs[1] == 'RUN ["/bin/sh", "-e", "/tmp/dsw-build/postBuild"]'  # after the packages it may use
    assert "USER 1000:100" in lines
    assert not any(line.startswith("RUN evil") for line in lines)  # a label cannot start an instruction
    assert lines[-1] == 'LABEL "org.opencontainers.image.source"="ws:~/a\\"b\\nRUN evil"'


def test_the_failed_step_is_named_from_buildahs_step_lines():
    log = ["STEP 1/5: FROM x", "STEP 4/5: RUN [\"python3\", \"-m\", \"pip\", \"install\", \"-r\", \"/tmp/dsw-build/requirements.txt\"]",
           "ERROR: No matching distribution"]
    assert recipes.failed_step(log) == "pip install -r requirements.txt"
    assert recipes.failed_step(["STEP 5/6: RUN [\"/bin/sh\", \"-e\", \"/tmp/dsw-build/postBuild\"]", "boom"]) == "postBuild"
    assert recipes.failed_step(["STEP 1/2: FROM nowhere:1", "Error: pull"]) == "FROM nowhere:1"
    assert recipes.failed_step(["no steps"]) == ""


def test_curated_definitions_build_parents_first():
    assert set(recipes.curated_names()) >= {"minimal", "scipy", "pytorch", "pytorch-cuda"}
    assert recipes.curated_order(["pytorch"]) == ["minimal", "scipy", "pytorch"]
    assert recipes.curated_order(["scipy", "minimal", "pytorch-cuda"]) == ["minimal", "scipy", "pytorch-cuda"]
    with pytest.raises(ValueError, match="unknown image definition 'tensorflow'"):
        recipes.curated_order(["tensorflow"])
    for name in recipes.curated_names():
        text = (recipes.DEFINITIONS_DIR / name / "Containerfile").read_text()
        assert "ARG BASE" in text and "FROM ${BASE}" in text and "USER 1000:100" in text
        pins = [word for line in text.splitlines() if "pip install" in line or line.strip().startswith('"')
                for word in line.split() if word.startswith('"') and "==" in word]
        assert pins and all("==" in pin for pin in pins), name  # every package pinned
    # A change to a parent reaches its children's digests (and so their tags).
    assert services.curated_digest("scipy") != services.curated_digest("minimal")


@pytest.mark.django_db
def test_who_may_build_where(alice, bob, team):
    assert services._target_repository(actor=alice, name="my-env", team_slug="") == ("users/alice/my-env", None)
    assert services._target_repository(actor=alice, name="my-env", team_slug=team.slug) == (f"teams/{team.slug}/my-env", team)
    with pytest.raises(ValidationError, match="Only an admin of that team"):
        services._target_repository(actor=bob, name="my-env", team_slug=team.slug)  # a member, not an admin
    for name in ("My-Env", "-x", "a/b", "x" * 61, ""):
        with pytest.raises(ValidationError) as caught:
            services._target_repository(actor=alice, name=name, team_slug="")
        assert "name" in caught.value.message_dict
    for folder in ("../x", "~/x", "a/../../b", "a\\b", "env\nRUN x"):
        with pytest.raises(ValidationError, match="inside the workspace"):
            home_relative_folder(folder, field="folder")
    assert home_relative_folder("/env/", field="folder") == "env"


@pytest.mark.django_db
def test_builds_are_limited_per_person_and_cancel_and_abandon_cleanly(alice, settings):
    settings.PLATFORM_BUILD_MAX_PER_PERSON = 2
    queued = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/a")
    running = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/b", state="running",
                                        started=timezone.now() - timedelta(hours=5))
    with pytest.raises(ValidationError, match="2 builds queued or running"):
        services._check_concurrency(alice)
    assert services.build_cancel(actor=alice, build=queued).state == "cancelled"
    services._check_concurrency(alice)  # one left: room again
    assert services.build_cancel(actor=alice, build=running).cancel_requested  # the worker stops it within a second
    assert services.build_run(build_id=queued.pk) is None  # a cancelled build never runs
    settings.PLATFORM_BUILD_TIMEOUT_SECONDS = 1800
    assert services.builds_abandoned_fail() == 1  # started 5 h ago: its worker is gone
    running.refresh_from_db()
    assert running.state == "failed" and "ask for the build again" in running.error


@pytest.mark.django_db
def test_the_api_shows_a_build_to_its_owner_only_and_reads_the_log_from_an_offset(alice, bob, admin):
    build = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/a", tag="2026.12.03.1-abcdef123456",
                                      log="line one\nline two\n")
    alice_api = api_as(alice)
    assert alice_api.get(f"/api/v1/images/builds/{build.pk}/").json()["reference"] == "users/alice/a:2026.12.03.1-abcdef123456"
    assert api_as(admin).get(f"/api/v1/images/builds/{build.pk}/").status_code == 200
    for path in ("", "log/"):
        assert api_as(bob).get(f"/api/v1/images/builds/{build.pk}/{path}").status_code == 404
    assert api_as(bob).post(f"/api/v1/images/builds/{build.pk}/cancel/").status_code == 404
    assert api_as(bob).get("/api/v1/images/builds/").json()["results"] == []
    first = alice_api.get(f"/api/v1/images/builds/{build.pk}/log/").json()
    assert first["text"] == "line one\nline two\n" and first["offset"] == 18 and not first["done"]
    assert alice_api.get(f"/api/v1/images/builds/{build.pk}/log/", {"offset": 9}).json()["text"] == "line two\n"
    assert alice_api.get(f"/api/v1/images/builds/{build.pk}/log/", {"offset": 999}).json()["text"] == first["text"]
    assert alice_api.post(f"/api/v1/images/builds/{build.pk}/cancel/").json()["state"] == "cancelled"
    proposed = alice_api.post(f"/api/v1/images/builds/{build.pk}/propose/", {"team": "data-science"}, format="json")
    assert proposed.status_code == 400 and "finished custom build" in proposed.json()["errors"]["detail"][0]


@pytest.mark.django_db
def test_without_a_registry_builds_are_refused_with_the_reason(alice, client, settings):
    settings.PLATFORM_REGISTRY_URL = ""
    answer = api_as(alice).post("/api/v1/images/builds/", {"workspace": 1, "base": "x", "name": "a"}, format="json")
    assert answer.status_code == 400 and "no image registry" in answer.json()["errors"]["detail"][0]
    client.force_login(alice)
    page = client.get("/images/builds/")
    assert page.status_code == 200 and b"no image registry" in page.content


def test_the_runner_kills_a_step_past_its_time_or_cancelled_with_its_children(tmp_path):
    builder = Builder(storage_root=tmp_path)
    marker = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {marker}; echo started; wait"
    lines = []
    started = time.monotonic()
    with pytest.raises(StepFailed, match="time limit"):
        builder.run(["sh", "-c", script], log=lines.append, timeout=2)
    assert time.monotonic() - started < 20 and lines == ["started"]
    assert not _alive(int(marker.read_text()))  # the child went too
    with pytest.raises(Cancelled):
        builder.run(["sh", "-c", "sleep 60"], log=lines.append, timeout=60, should_cancel=lambda: True)
    with pytest.raises(StepFailed, match="exit status 3"):
        builder.run([sys.executable, "-c", "print('x'); raise SystemExit(3)"], log=lines.append, timeout=30)
    assert builder.run(["echo", "ok"], log=lambda line: None, timeout=30) == ["ok"]


def _alive(pid):
    """Running (a killed orphan may stay a zombie until this container's init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_a_layouts_digest_and_size_are_read_from_its_manifest(tmp_path):
    digest = build_layout(tmp_path / "layout", tag="image")
    found, size = layout_manifest(tmp_path / "layout")
    blobs = Path(tmp_path / "layout" / "blobs" / "sha256")
    assert found == digest and size == sum(p.stat().st_size for p in blobs.iterdir()) - (blobs / digest[7:]).stat().st_size


@pytest.mark.django_db
def test_the_build_page_shows_its_log_and_follows_it_only_while_it_runs(alice, bob, client):
    build = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/a", tag="2026.12.03.1-abcdef123456",
                                      state="running", step="build", log="STEP 1/5: FROM x\n", files={"requirements.txt": "x"},
                                      workspace_name="lab", folder="env")
    client.force_login(alice)
    page = client.get(f"/images/builds/{build.pk}/").content.decode()
    assert "STEP 1/5: FROM x" in page and 'data-state="running"' in page and "web/builds.js" in page
    assert "Cancel build" in page and "lab: ~/env (requirements.txt)" in page
    assert client.post(f"/images/builds/{build.pk}/cancel/").status_code == 302
    assert ImageBuild.objects.get(pk=build.pk).cancel_requested
    client.force_login(bob)
    assert client.get(f"/images/builds/{build.pk}/").status_code == 404
    assert client.post(f"/images/builds/{build.pk}/cancel/").status_code == 404


def test_the_build_store_is_sealed_private_but_its_image_layers_keep_their_modes(settings, tmp_path):
    import os

    from portal.processes.state import state_dir_prepare, state_dir_problems

    data = tmp_path / "var"
    settings.PLATFORM_DATA_DIR, settings.PLATFORM_BUILD_DIR = data, data / "builds"
    settings.PLATFORM_WORKSPACES_DIR, settings.PLATFORM_HOMES_DIR = data / "workspaces", data / "homes"
    state_dir_prepare()
    layer = data / "builds" / "storage" / "root" / "vfs" / "dir" / "abc" / "usr" / "bin"
    layer.mkdir(parents=True, mode=0o755)
    (layer / "python3").write_text("#!")
    (layer / "python3").chmod(0o755)
    os.chown(layer.parent, 1_000_000, 1_000_000)  # root inside a build, uid-mapped
    assert state_dir_problems() == []  # unreachable: the store's folder is the platform's, 0700
    (data / "builds").chmod(0o755)
    assert state_dir_problems() == [f"{data / 'builds'} is mode 0755; it must be at most 0700"]

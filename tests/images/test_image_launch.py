"""Image environments on one machine: a catalog image pinned by digest runs in a podman (runc) container,
reached by the hub on 127.0.0.1 like a local server, with the workspace's home mounted."""

import base64
import json
import pwd
import subprocess

import pytest
import requests

from images.models import ImageTag, ScanPolicy
from spawner.containers import (ContainerRuntime, container_outcome, detect_runtime, env_file_text, pull_command,
                                remove_command, run_command, stop_command)
from tests.conftest import PASSWORD, api_as
from tests.images.oci import push

RUNTIME = ContainerRuntime(podman="/usr/bin/podman", oci_runtime="/usr/sbin/runc", limits=True)
DIGEST = "sha256:" + "ab" * 32
TAG = "2026.11.23-4f2a9c1"  # the CI tag pattern: only such tags can be approved
REFERENCE = f"127.0.0.1:5000/platform/jupyter@{DIGEST}"


def test_run_command_is_detached_on_the_host_network_with_the_home_limits_and_an_env_file():
    command = run_command(RUNTIME, name="dsw-ws-7-abc", reference=REFERENCE, user="1001:1001", home="/srv/ws/ws-7",
                          home_inside="/home/jovyan", env_file="/tmp/env.list", memory_bytes=2**30, cpu=1.5,
                          args=["--allow-root"])
    assert command == [
        "/usr/bin/podman", "--runtime", "/usr/sbin/runc", "run", "--detach", "--name", "dsw-ws-7-abc",
        "--network", "host", "--pull", "never", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
        "--user", "1001:1001", "--cap-drop", "all", "--security-opt", "no-new-privileges", "--volume", "/srv/ws/ws-7:/home/jovyan", "--workdir", "/home/jovyan",
        "--env-file", "/tmp/env.list", "--memory", "1073741824", "--memory-swap", "1073741824", "--cpus", "1.5",
        REFERENCE, "jupyterhub-singleuser", "--allow-root"]


def test_run_command_mounts_the_lab_config_read_only():
    command = run_command(RUNTIME, name="n", reference=REFERENCE, user="1001:1001", home="/srv/ws/ws-7",
                          home_inside="/home/jovyan", env_file="/tmp/env.list", memory_bytes=2**30, cpu=1,
                          read_only=[("/opt/checkout/workspaces/lab", "/opt/dsw/lab")])
    at = command.index("/opt/checkout/workspaces/lab:/opt/dsw/lab:ro")
    assert command[at - 1] == "--volume" and at < command.index(REFERENCE)


def test_without_cgroup_limits_the_run_command_asks_for_none():
    unlimited = ContainerRuntime(podman="podman", oci_runtime="runc", limits=False, note="no cgroups")
    command = run_command(unlimited, name="n", reference=REFERENCE, user="0:0", home="/h", home_inside="/home/jovyan",
                          env_file="/e", memory_bytes=2**30, cpu=1.0)
    assert "--memory" not in command and "--memory-swap" not in command and "--cpus" not in command
    assert command[-2:] == [REFERENCE, "jupyterhub-singleuser"]


def test_pull_uses_the_auth_file_and_skips_tls_only_for_loopback_or_listed_registries():
    assert pull_command(RUNTIME, REFERENCE, auth_file="/etc/dsw/auth.json") == [
        "/usr/bin/podman", "--runtime", "/usr/sbin/runc", "pull", "--quiet", "--authfile=/etc/dsw/auth.json",
        "--tls-verify=false", REFERENCE]
    remote = f"registry.example.org/platform/jupyter@{DIGEST}"
    assert pull_command(RUNTIME, remote) == ["/usr/bin/podman", "--runtime", "/usr/sbin/runc", "pull", "--quiet", remote]
    assert pull_command(RUNTIME, remote, insecure=["registry.example.org"])[-2] == "--tls-verify=false"


def test_stop_and_remove_are_idempotent_commands():
    assert stop_command(RUNTIME, "dsw-k") == ["/usr/bin/podman", "--runtime", "/usr/sbin/runc", "stop", "--ignore",
                                              "--time", "10", "dsw-k"]
    assert remove_command(RUNTIME, "dsw-k") == ["/usr/bin/podman", "--runtime", "/usr/sbin/runc", "rm", "--force",
                                                "--ignore", "dsw-k"]


def test_env_file_refuses_line_breaks():
    assert env_file_text({"B": "2", "A": "x=y"}) == "A=x=y\nB=2\n"
    with pytest.raises(ValueError, match="EVIL"):
        env_file_text({"EVIL": "1\nJUPYTERHUB_API_TOKEN=stolen"})


def test_container_outcome_reads_podmans_state():
    assert container_outcome(None) == (0, False)  # gone
    assert container_outcome({"Status": "running", "ExitCode": 0, "OOMKilled": False}) == (None, False)
    assert container_outcome({"Status": "exited", "ExitCode": 137, "OOMKilled": True}) == (137, True)
    assert container_outcome({"Status": "exited", "ExitCode": 1, "OOMKilled": False}) == (1, False)


def test_runtime_none_refuses_with_the_reason():
    runtime, why_not = detect_runtime("none")
    assert runtime is None and "container_runtime = 'none'" in why_not


@pytest.fixture(scope="session")
def jupyter_layout(tmp_path_factory):
    """The Jupyter image's OCI layout, built once per test session from this host's files."""
    from tests.images.jupyter_image import build_jupyter_layout

    runtime, why_not = detect_runtime("auto")
    if runtime is None:
        pytest.skip(f"podman with runc cannot run here: {why_not}")
    layout = tmp_path_factory.mktemp("jupyter-image")
    digest, _ = build_jupyter_layout(layout, tag=TAG)
    return layout, digest


def _containers_of(workspace_id):
    listed = subprocess.run(["podman", "ps", "--all", "--filter", f"name=^dsw-ws-{workspace_id}-", "--format", "{{.Names}}"],
                            capture_output=True, text=True, check=True)
    return listed.stdout.split()


@pytest.mark.hub
@pytest.mark.django_db(transaction=True)
def test_a_catalog_image_runs_in_a_container_and_keeps_its_home(hub, celery_worker, registry, jupyter_layout, admin,
                                                               alice, team, small, settings):
    from images import services
    from spawner.spec import CONTAINER_LAB_DIR

    # Storage on (the in-memory back end: alice has no key yet), so the spec carries her buckets listing.
    settings.PLATFORM_S3_BACKEND = "fake"
    from tests.workspaces.test_hub_lifecycle import server_status, wait_for_status

    layout, digest = jupyter_layout
    pushed = push(layout, TAG, f"{registry.host}/platform/jupyter:{TAG}", username="admin", password=PASSWORD)
    assert pushed.returncode == 0, pushed.stderr
    services.catalog_sync()
    entry = ImageTag.objects.get(repository__name="platform/jupyter", tag=TAG)
    assert entry.manifest.digest == digest
    services.image_approve(entry=entry, actor=admin)
    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)

    # The hub pulls with a robot's pull-only credential, from its auth file.
    robot, secret = services.robot_create(name="hub-pull", scopes=[{"repository": "platform/*", "actions": ["pull"]}],
                                          days=1, actor=admin)
    auth = base64.b64encode(f"robot${robot.name}:{secret}".encode()).decode()
    auth_file = hub.log_path.parent / "registry-auth.json"
    auth_file.write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    auth_file.chmod(0o600)

    client = api_as(alice)
    created = client.post("/api/v1/workspaces/", {"name": "oci", "profile": "Small", "image": entry.reference},
                          format="json")
    assert created.status_code == 202, created.json()
    workspace_id = created.json()["id"]
    try:
        running, _ = wait_for_status(client, workspace_id, "running", timeout=180)
        assert running["image"] == f"{registry.host}/platform/jupyter@{digest}"
        assert f"Pulling image {running['image']}" in hub.log_path.read_text()  # a progress stage (and logged)
        [name] = _containers_of(workspace_id)
        limits = json.loads(subprocess.run(["podman", "container", "inspect", "--format", "{{json .HostConfig}}", name],
                                           capture_output=True, text=True, check=True).stdout)
        assert limits["Memory"] == small.memory_bytes and limits["NanoCpus"] == 500_000_000
        mounts = json.loads(subprocess.run(["podman", "container", "inspect", "--format", "{{json .Mounts}}", name],
                                           capture_output=True, text=True, check=True).stdout)
        [lab] = [mount for mount in mounts if mount["Destination"] == CONTAINER_LAB_DIR]
        assert lab["RW"] is False  # the platform's lab configuration: readable, never writable, from the workspace
        status = server_status(hub, settings, running)
        assert status.status_code == 200, status.text

        contents = hub.server_url("alice", f"ws-{workspace_id}", "api/contents/notes.txt")
        token = {"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}
        saved = requests.put(contents, json={"type": "file", "format": "text", "content": "kept"}, headers=token, timeout=10)
        assert saved.status_code in (200, 201), saved.text
        home = hub.log_path.parent / "workspaces" / f"ws-{workspace_id}"
        assert (home / "notes.txt").read_text() == "kept"  # written through the mount...
        assert (home / "notes.txt").stat().st_uid == pwd.getpwnam(hub.account("alice")).pw_uid  # ...as the owner's account
        # The lab configuration ran inside the container: the person's buckets listing is in her home, hers.
        listing = home / ".platform" / "buckets.json"
        assert "buckets" in json.loads(listing.read_text())
        assert listing.stat().st_uid == pwd.getpwnam(hub.account("alice")).pw_uid

        client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
        wait_for_status(client, workspace_id, "stopped")
        assert _containers_of(workspace_id) == []
        client.post(f"/api/v1/workspaces/{workspace_id}/start/")
        wait_for_status(client, workspace_id, "running", timeout=180)
        assert requests.get(contents, headers=token, timeout=10).json()["content"] == "kept"
        assert len(_containers_of(workspace_id)) == 1
        client.post(f"/api/v1/workspaces/{workspace_id}/stop/")
        wait_for_status(client, workspace_id, "stopped")
        assert _containers_of(workspace_id) == []
    finally:
        for name in _containers_of(workspace_id):
            subprocess.run(["podman", "rm", "--force", name], capture_output=True)
        auth_file.unlink(missing_ok=True)


@pytest.mark.hub
@pytest.mark.django_db(transaction=True)
def test_without_a_pull_credential_the_launch_fails_with_the_registrys_reason(hub, celery_worker, registry, jupyter_layout,
                                                                            admin, alice, team, small):
    from images import services
    from tests.workspaces.test_hub_lifecycle import wait_for_status

    layout, _ = jupyter_layout
    # podman pull always asks the registry, even for a digest it already stores: no credential, no image.
    pushed = push(layout, TAG, f"{registry.host}/platform/private:{TAG}", username="admin", password=PASSWORD)
    assert pushed.returncode == 0, pushed.stderr
    services.catalog_sync()
    entry = ImageTag.objects.get(repository__name="platform/private", tag=TAG)
    services.image_approve(entry=entry, actor=admin)
    ScanPolicy.objects.create(team=None, block_threshold="CRITICAL", allow_unscanned=True)
    client = api_as(alice)
    workspace_id = client.post("/api/v1/workspaces/", {"name": "nocreds", "profile": "Small", "image": entry.reference},
                               format="json").json()["id"]
    failed, _ = wait_for_status(client, workspace_id, "failed", timeout=120)
    assert "Could not pull image" in failed["status_message"], failed["status_message"]
    assert _containers_of(workspace_id) == []


@pytest.fixture
def local_image(jupyter_layout):
    """The Jupyter image in podman's own storage under a test name (for containers started by hand)."""
    layout, _ = jupyter_layout
    name = f"localhost/dsw-test-jupyter:{TAG}"
    copied = subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:{TAG}", f"containers-storage:{name}"],
                            capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    yield name
    subprocess.run(["podman", "untag", name], capture_output=True)  # the image itself may serve another test


def _run_by_hand(image, name, *command, memory="256m", cwd=None):
    # conmon writes a file named `oom` into its working directory when the OOM killer strikes: not the checkout.
    started = subprocess.run(["podman", "--runtime", "runc", "run", "--detach", "--name", name, "--network", "host",
                              "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--memory", memory,
                              "--memory-swap", memory, image, *command], capture_output=True, text=True, cwd=cwd)
    assert started.returncode == 0, started.stderr


def _spawner_after_a_hub_restart(tmp_path, key):
    from tests.spawner.test_local import make_spawner

    spawner = make_spawner("http://127.0.0.1:9", tmp_path, isolation="single-user", gpu_devices=[])
    spawner.load_state({"resources": {"key": key, "mechanism": "rlimit", "gpus": [], "container": True}})
    return spawner


def _exists(name):
    return subprocess.run(["podman", "container", "exists", name]).returncode == 0


def test_a_restarted_hub_finds_its_running_container_and_stop_removes_it(local_image, tmp_path):
    import asyncio

    key = f"ws-7-restart-{tmp_path.name[-6:]}"
    _run_by_hand(local_image, f"dsw-{key}", "python3", "-c", "import time; time.sleep(300)")
    try:
        spawner = _spawner_after_a_hub_restart(tmp_path, key)
        assert asyncio.run(spawner.poll()) is None  # still running: the hub keeps the server
        asyncio.run(spawner.stop())
        assert not _exists(f"dsw-{key}") and spawner.resource_key == ""
    finally:
        subprocess.run(["podman", "rm", "--force", "--ignore", f"dsw-{key}"], capture_output=True)


def test_a_container_killed_for_memory_ends_with_out_of_memory_and_is_removed(local_image, tmp_path):
    import asyncio

    key = f"ws-7-oom-{tmp_path.name[-6:]}"
    _run_by_hand(local_image, f"dsw-{key}", "python3", "-c", "b = bytearray(512 * 2**20); b[::4096] = b'x' * len(b[::4096])",
                 memory="64m", cwd=tmp_path)
    try:
        subprocess.run(["podman", "wait", f"dsw-{key}"], capture_output=True, timeout=60)
        spawner = _spawner_after_a_hub_restart(tmp_path, key)
        state = json.loads(subprocess.run(["podman", "container", "inspect", "--format", "{{json .State}}", f"dsw-{key}"],
                                          capture_output=True, text=True, check=True).stdout)
        assert asyncio.run(spawner.poll()) == 137  # SIGKILL, by the OOM killer
        # Whether podman noticed the OOM kill depends on the host (conmon watching the memory cgroup).
        assert spawner.exit_reason == ("out of memory" if state["OOMKilled"] else "exit status 137")
        assert not _exists(f"dsw-{key}") and spawner.resource_key == ""  # released by the poll
    finally:
        subprocess.run(["podman", "rm", "--force", "--ignore", f"dsw-{key}"], capture_output=True)

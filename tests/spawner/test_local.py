"""PortalLocalSpawner without a hub: a real HTTP portal stand-in, real processes, real limits and accounts.

The "python" in these launch specs is a small shell script standing in for a Jupyter server: it
records who and where it runs, then sleeps (or exhausts its memory), so each test can look at
what the spawner really did. The hub tests in tests/workspaces run a real single-user server.
"""

import asyncio
import json
import os
import pwd
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from spawner.accounts import account_name
from spawner.gpus import GpuInventory
from spawner.local import OUT_OF_MEMORY, LaunchError, PortalLocalSpawner
from spawner.resources import detect_limiter
from spawner.storage import can_loop_mount
from tests.ports import free_port_block
from tests.stub_portal import Portal

TOKEN = "s3cret-token"
RECORDING_SERVER = """#!/bin/sh
{ id -u; pwd; echo "$HOME"; echo "$USER"; echo "CUDA=$CUDA_VISIBLE_DEVICES"; echo "WORKSPACE=$PLATFORM_WORKSPACE_ID";
  echo "PATH=$PATH"; echo "ARGS=$*"; cat /proc/self/cgroup; } > "$HOME/started.txt.partial"
mv "$HOME/started.txt.partial" "$HOME/started.txt"
exec sleep 120
"""
# Listens on the port the spawner chose only after a second, like a server that takes time to start.
SLOW_HTTP_SERVER = f"""#!/bin/sh
exec {sys.executable} -c "
import http.server, os, time, urllib.parse
time.sleep(1)
url = urllib.parse.urlsplit(os.environ['JUPYTERHUB_SERVICE_URL'])
open(os.path.join(os.environ['HOME'], 'listening-since'), 'w').write(repr(time.monotonic()))
http.server.HTTPServer((url.hostname, url.port), http.server.BaseHTTPRequestHandler).serve_forever()
"
"""
MEMORY_HOG_SERVER = f"""#!/bin/sh
exec {sys.executable} -c "chunks = [bytearray(10 * 2**20) for _ in range(100)]"
"""


@pytest.fixture
def portal():
    running = Portal()
    yield running
    running.close()


def launch_spec(*, python="/usr/bin/python3", owner="alice", workspace_id=7, **changes):
    return {"workspace_id": workspace_id, "generation": 1, "owner": owner, "team": "data-science", "profile": "Small",
            "server_name": f"ws-{workspace_id}", "cpu": 0.5,
            "memory_bytes": 256 * 2**20, "gpus": 0, "gpu_type": "", "disk_bytes": 0,
            "environment": {"kind": "local", "python": python},
            "env": {"PLATFORM_WORKSPACE_ID": str(workspace_id)}, "idle_timeout_seconds": 0, **changes}


def make_spawner(portal_url, state_dir, *, user="alice", server="ws-7", **config):
    """The spawner as JupyterHub builds it, with minimal stand-ins for the hub's own objects."""
    return PortalLocalSpawner(
        user=SimpleNamespace(name=user, url=f"/user/{user}/"),
        orm_spawner=SimpleNamespace(name=server, server=None),
        hub=SimpleNamespace(public_host="", api_url="http://127.0.0.1:9/hub/api", base_url="/hub/"),
        portal_url=portal_url, portal_token=TOKEN, state_dir=str(state_dir), **{"ready_timeout": 0, **config})


def stand_in_server(directory, script):
    """The script as `<directory>/env/bin/python`: like a real environment, its folder is what the
    server's private mount namespace keeps visible."""
    path = directory / "env" / "bin" / "python"
    path.parent.mkdir(parents=True)
    for folder in (directory / "env", path.parent):
        folder.chmod(0o755)
    path.write_text(script)
    path.chmod(0o755)
    return str(path)


def is_mount_point(path):
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        return any(line.split()[4] == str(path) for line in mounts)


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


# --- load_launch_spec ------------------------------------------------------------------------

def test_launch_spec_is_fetched_with_the_token(portal, tmp_path):
    portal.serve(launch_spec())
    spec = asyncio.run(make_spawner(portal.url, tmp_path, user="al ice+1").load_launch_spec())
    assert spec.workspace_id == 7 and spec.env == {"PLATFORM_WORKSPACE_ID": "7"}
    path, authorization = portal.requests[-1]
    assert urlparse(path).path == "/api/internal/launch-spec/"
    assert parse_qs(urlparse(path).query) == {"user": ["al ice+1"], "server": ["ws-7"]}
    assert authorization == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status, body, message", [
    (404, b'{"detail": "No workspace should run as this server."}', "The portal knows no workspace that should run as server 'ws-7' of 'alice'."),
    (403, b'{"detail": "nope"}', "The portal refused the launch spec request (HTTP 403)."),
    (500, b"<html>oops</html>", "The portal refused the launch spec request (HTTP 500)."),
    (200, b"<html>not json</html>", "The portal sent an unusable launch spec: Expecting value"),
    (200, json.dumps({**launch_spec(), "cpu": "lots"}).encode(), "The portal sent an unusable launch spec: cpu: must be a number"),
])
def test_launch_spec_failures_say_what_went_wrong(portal, tmp_path, status, body, message):
    portal.status, portal.body = status, body
    with pytest.raises(LaunchError) as caught:
        asyncio.run(make_spawner(portal.url, tmp_path).load_launch_spec())
    assert caught.value.jupyterhub_message.startswith(message)


def test_unreachable_portal_is_reported_as_such(portal, tmp_path):
    url = portal.url
    portal.server.shutdown()
    portal.server.server_close()  # nothing listens there any more
    with pytest.raises(LaunchError, match=f"The portal is unreachable at {url}"):
        asyncio.run(make_spawner(url, tmp_path).load_launch_spec())


def test_portal_token_defaults_to_the_service_token_in_the_environment(monkeypatch):
    monkeypatch.setenv("PLATFORM_HUB_API_TOKEN", "from-env")
    assert PortalLocalSpawner().portal_token == "from-env"


# --- refusals before anything starts -----------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"gpus": 2, "gpu_type": "h100"}, "needs 2 × h100 GPUs, this host has no GPUs"),
    ({"cpu": 4096.0}, "needs 4096 CPU cores, this host has"),
    ({"memory_bytes": 2**50}, "needs 1048576.0 GiB of memory, this host has"),
    ({"environment": {"kind": "local", "python": "/nonexistent/bin/python"}},
     "needs the Python at /nonexistent/bin/python, which is not an executable on this host"),
])
def test_start_refuses_what_the_host_can_never_run(portal, tmp_path, changes, message):
    portal.serve(launch_spec(**changes))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[])
    with pytest.raises(LaunchError) as caught:
        asyncio.run(spawner.start())
    assert caught.value.jupyterhub_message.startswith("This workspace needs")
    assert message in caught.value.jupyterhub_message
    assert spawner.proc is None and spawner.resource_key == ""
    assert not (tmp_path / "gpus.json").exists()


IMAGE = {"kind": "image", "reference": "registry.example.org/lab@sha256:" + "0" * 64}


def test_image_environments_are_refused_without_a_container_runtime(portal, tmp_path):
    portal.serve(launch_spec(environment=IMAGE))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", container_runtime="none")
    with pytest.raises(LaunchError) as caught:
        asyncio.run(spawner.start())
    assert caught.value.jupyterhub_message == (
        f"This workspace needs a container runtime for image {IMAGE['reference']}, but this hub runs workspaces as "
        "local processes (container launches are turned off on this hub (container_runtime = 'none')).")
    assert spawner.resource_key == "" and not spawner.container_launch


def test_image_environments_with_gpus_are_refused_before_any_pull(portal, tmp_path):
    from spawner.containers import detect_runtime

    if detect_runtime("auto")[0] is None:
        pytest.skip("podman with runc cannot run here: image environments are refused before the GPU check")
    portal.serve(launch_spec(environment=IMAGE, gpus=1, gpu_type="h100"))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[{"index": "0", "type": "h100"}])
    with pytest.raises(LaunchError, match="needs GPUs inside a container, which this hub does not pass through yet"):
        asyncio.run(spawner.start())
    assert not any("Pulling" in event["message"] for event in spawner._progress_events)


def test_start_refuses_a_spec_for_another_server(portal, tmp_path):
    portal.serve(launch_spec(workspace_id=8))
    with pytest.raises(LaunchError, match="is for server 'ws-8', not 'ws-7'"):
        asyncio.run(make_spawner(portal.url, tmp_path, isolation="single-user").start())


def test_per_user_isolation_needs_root(portal, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("runs as root here, where per-user isolation is possible")
    portal.serve(launch_spec())
    with pytest.raises(LaunchError, match="needs the hub to run as root"):
        asyncio.run(make_spawner(portal.url, tmp_path, isolation="per-user").start())


def test_busy_gpus_refuse_the_second_workspace_and_free_up_on_stop(portal, tmp_path):
    script = stand_in_server(tmp_path, RECORDING_SERVER)
    devices = [{"index": "0", "type": "h100"}]
    first = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=devices)
    second = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=devices, server="ws-8")

    async def scenario():
        portal.serve(launch_spec(python=script, gpus=1, gpu_type="h100"))
        await first.start()
        portal.serve(launch_spec(python=script, gpus=1, workspace_id=8))
        with pytest.raises(LaunchError) as caught:
            await second.start()
        assert caught.value.jupyterhub_message == "This workspace needs 1 GPU, 0 free of 1."
        assert second.proc is None
        await first.stop(now=True)
        await second.start()
        await second.stop(now=True)

    asyncio.run(scenario())
    assert first.gpu_indices == [] and second.gpu_indices == []


# --- real launches ----------------------------------------------------------------------------

def test_single_user_mode_runs_as_the_hub_account_with_its_resources(portal, tmp_path):
    script = stand_in_server(tmp_path, RECORDING_SERVER)
    portal.serve(launch_spec(python=script, gpus=1, gpu_type="h100"))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user",
                           gpu_devices=[{"index": "0", "type": "a100"}, {"index": "3", "type": "h100"}])

    async def scenario():
        ip, port = await spawner.start()
        try:
            home = Path(spawner.notebook_dir)
            record = await asyncio.to_thread(wait_for, home / "started.txt")
            events = [event async for event in spawner.progress()]  # not pending: replays what happened
            return ip, port, home, record, events, spawner.resource_key, spawner.limiter_mechanism
        finally:
            await spawner.stop()

    ip, port, home, record, events, key, mechanism = asyncio.run(scenario())
    uid, cwd, home_env, user, cuda, workspace, _, args, *cgroups = record.splitlines()
    assert ip == "127.0.0.1" and port > 0
    assert home == tmp_path / "workspaces" / "ws-7"  # the workspace's own home
    assert (int(uid), cwd, home_env) == (os.getuid(), str(home), str(home))
    assert user == pwd.getpwuid(os.getuid()).pw_name
    assert (cuda, workspace) == ("CUDA=3", "WORKSPACE=7")
    assert args == ("ARGS=-m jupyterhub.singleuser --allow-root" if os.geteuid() == 0 else "ARGS=-m jupyterhub.singleuser")
    assert [event["progress"] for event in events] == [10, 30, 50, 60, 80]
    assert f"{mechanism}:" in events[1]["message"] and "1 × h100 GPU" in events[1]["message"]
    if mechanism != "rlimit":
        assert any(line.endswith(f"/dsw-{key}") for line in cgroups), cgroups
        assert not any(directory.exists() for directory in detect_limiter(mechanism=mechanism).group_dirs(key))
    assert spawner.resource_key == "" and spawner.get_state() == {}
    assert GpuInventory(tmp_path / "gpus.json", []).allocate("other", 0) == []


def test_per_user_mode_runs_as_the_owners_account_inside_its_group(portal, portal_users, cgroup_limiter, shared_dir):
    owner = portal_users("alice")
    script = stand_in_server(shared_dir, RECORDING_SERVER)
    portal.serve(launch_spec(python=script, owner=owner, disk_bytes=64 * 2**20))
    spawner = make_spawner(portal.url, shared_dir / "state", home_root=str(shared_dir / "homes"),
                           workspace_root=str(shared_dir / "workspaces"))  # the state folder itself is private

    async def scenario():
        await spawner.start()
        try:
            record = await asyncio.to_thread(wait_for, Path(spawner.notebook_dir) / "started.txt")
            return record, spawner.resource_key, is_mount_point(spawner.notebook_dir), os.stat(spawner.notebook_dir)
        finally:
            await spawner.stop(now=True)

    record, key, mounted, home = asyncio.run(scenario())
    assert mounted == can_loop_mount()  # as root with loop devices, the 64 MiB disk is its own file system
    assert not is_mount_point(spawner.notebook_dir)  # released at stop
    account = pwd.getpwnam(account_name(owner))
    uid, cwd, home_env, user, cuda, _, _, args, *cgroups = record.splitlines()
    assert int(uid) == account.pw_uid
    assert cwd == home_env == spawner.notebook_dir == str(shared_dir / "workspaces" / "ws-7")
    assert home.st_uid == account.pw_uid and home.st_mode & 0o777 == 0o700
    assert user == account.pw_name
    assert cuda == "CUDA="  # no GPU visible at all
    assert args == "ARGS=-m jupyterhub.singleuser"  # not root, so no --allow-root
    assert any(line.endswith(f"/dsw-{key}") for line in cgroups), cgroups
    assert not any(directory.exists() for directory in cgroup_limiter.group_dirs(key))


def test_out_of_memory_is_reported_and_a_restarted_hub_releases_everything(portal, cgroup_limiter, tmp_path):
    script = stand_in_server(tmp_path, MEMORY_HOG_SERVER)
    portal.serve(launch_spec(python=script, gpus=1))
    devices = [{"index": "0", "type": "h100"}]
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=devices)
    asyncio.run(spawner.start())
    key, state = spawner.resource_key, spawner.get_state()
    assert state["resources"] == {"key": key, "mechanism": cgroup_limiter.mechanism, "gpus": ["0"], "oom_kills_reported": 0}
    spawner.proc.wait(timeout=60)  # the kernel kills it; nobody reaps it but us

    # A restarted hub knows only the saved state (the pid is gone, so poll reports it stopped).
    restarted = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=devices)
    restarted.load_state(state)
    assert asyncio.run(restarted.poll()) == 0
    assert restarted.exit_reason == OUT_OF_MEMORY
    assert restarted.resource_key == "" and restarted.get_state() == {}
    assert not any(directory.exists() for directory in cgroup_limiter.group_dirs(key))
    assert GpuInventory(tmp_path / "gpus.json", devices).allocate("someone-else", 1) == ["0"]
    assert asyncio.run(spawner.poll()) is not None  # the original is released too, without errors


def test_a_hub_without_path_still_gives_the_server_one(portal, tmp_path, monkeypatch):
    script = stand_in_server(tmp_path, RECORDING_SERVER)
    portal.serve(launch_spec(python=script))
    monkeypatch.delenv("PATH")
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[])

    async def scenario():
        await spawner.start()
        try:
            return await asyncio.to_thread(wait_for, Path(spawner.notebook_dir) / "started.txt")
        finally:
            await spawner.stop(now=True)

    assert f"PATH={tmp_path}/env/bin:/usr/local/bin:/usr/bin:/bin" in asyncio.run(scenario()).splitlines()


def test_delete_forever_removes_the_home_only_when_the_portal_says_so(portal, tmp_path):
    script = stand_in_server(tmp_path, RECORDING_SERVER)
    portal.serve(launch_spec(python=script))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[])

    async def start_and_stop():
        await spawner.start()
        await asyncio.to_thread(wait_for, Path(spawner.notebook_dir) / "started.txt")
        await spawner.stop(now=True)

    asyncio.run(start_and_stop())
    home = Path(spawner.notebook_dir)
    portal.status, portal.body = 200, b'{"delete_home": false}'
    asyncio.run(spawner.delete_forever())
    assert (home / "started.txt").exists()
    portal.status, portal.body = 500, b"{}"  # a portal that cannot answer: keep everything
    asyncio.run(spawner.delete_forever())
    assert (home / "started.txt").exists()
    portal.status, portal.body = 200, b'{"delete_home": true}'
    asyncio.run(spawner.delete_forever())
    assert not home.exists()
    assert portal.requests[-1][0] == "/api/internal/storage/?user=alice&server=ws-7"


def test_start_returns_as_soon_as_the_server_answers(portal, tmp_path):
    script = stand_in_server(tmp_path, SLOW_HTTP_SERVER)
    portal.serve(launch_spec(python=script))
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[], ready_timeout=30)

    async def scenario():
        ip, port = await spawner.start()
        returned = time.monotonic()
        try:
            listening_since = float((Path(spawner.notebook_dir) / "listening-since").read_text())
            return returned, listening_since
        finally:
            await spawner.stop(now=True)

    returned, listening_since = asyncio.run(scenario())
    assert returned >= listening_since  # not before it listens (the hub's first check then succeeds)


def test_a_restarted_hub_releases_a_container_server_that_is_gone(portal, tmp_path):
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=[{"index": "0", "type": "h100"}])
    key = "ws-7-abcdef-000000"
    spawner._gpu_inventory().allocate(key, 1, "h100")
    spawner.load_state({"resources": {"key": key, "mechanism": "rlimit", "gpus": ["0"], "container": True}})
    assert spawner.container_launch and spawner.get_state()["resources"]["container"] is True
    assert asyncio.run(spawner.poll()) == 0  # no container dsw-<key> exists any more
    assert spawner.resource_key == "" and not spawner.container_launch
    assert spawner._gpu_inventory().allocate("ws-8-abcdef-000000", 1, "h100") == ["0"]  # its GPU is free again


def test_a_start_frees_what_an_interrupted_start_of_the_same_workspace_left(portal, cgroup_limiter, tmp_path):
    script = stand_in_server(tmp_path, RECORDING_SERVER)
    portal.serve(launch_spec(python=script, gpus=1))
    devices = [{"index": "0", "type": "h100"}]
    spawner = make_spawner(portal.url, tmp_path, isolation="single-user", gpu_devices=devices)
    # A hub that died in the middle of a start: its group holds a half-started server, its GPU is taken,
    # and no state was saved that names them.
    left_key = f"{spawner._keys_of(SimpleNamespace(workspace_id=7))}dead00"
    cgroup_limiter.prepare(left_key, memory_bytes=64 * 2**20, cpu=0.5)
    orphan = subprocess.Popen(["sleep", "600"], preexec_fn=cgroup_limiter.preexec(left_key))
    GpuInventory(tmp_path / "gpus.json", devices).allocate(left_key, 1)

    async def scenario():
        await spawner.start()
        await spawner.stop(now=True)

    asyncio.run(scenario())  # the GPU was free again, so it started
    assert orphan.wait(timeout=10) == -9
    assert not any(directory.exists() for directory in cgroup_limiter.group_dirs(left_key))
    assert GpuInventory(tmp_path / "gpus.json", devices).holders() == []


SLOW_FIRST_ANSWER = """
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    answered = 0
    def do_GET(self):
        Slow.answered += 1
        if Slow.answered == 1:
            time.sleep(3)  # longer than the readiness check's 2 s
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
"""


def test_a_server_too_busy_to_answer_within_the_check_is_still_starting(tmp_path):
    """On a loaded host (20 servers starting on 2 cores) a server may accept a connection and answer late:
    the check's timeout is not the launch's failure (it was: 'The server could not start: Timeout during
    request'); only ready_timeout is."""
    port = free_port_block(1)
    process = subprocess.Popen([sys.executable, "-c", SLOW_FIRST_ANSWER, str(port)])
    try:
        spawner = make_spawner("http://127.0.0.1:9", tmp_path, ready_timeout=60)
        spawner.proc = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # listening first
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        started = time.monotonic()
        asyncio.run(spawner._wait_until_answering("127.0.0.1", port))  # returns, raises nothing
        assert time.monotonic() - started >= 2  # it did wait past the first, timed-out check
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()

"""The fork server's warm-up (spawner/zygote_warmup.py): a real throwaway Jupyter server with the platform's lab
configuration, its lab page and a notebook's kernel, run in a process of its own (as the fork server runs it),
which must come out of it as it went in."""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from spawner import local
from spawner.zygote import Zygote
from workspaces.lab import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[2]

# Runs warm_up in a fresh Python and prints what it left behind.
PROBE = textwrap.dedent(r'''
    import asyncio, json, os, signal, sys
    from spawner.zygote_warmup import WarmUpFailed, warm_up

    def state():
        return {"environ": dict(os.environ), "cwd": os.getcwd(), "path": list(sys.path),
                "signals": [repr(signal.getsignal(number)) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)],
                "threads": len(os.listdir("/proc/self/task"))}

    before = state()
    try:
        warm_up(json.loads(sys.argv[1]), sys.argv[2])
        error = None
    except WarmUpFailed as exc:
        error = str(exc)
    from jupyter_server.serverapp import ServerApp
    children = [pid for pid in os.listdir("/proc") if pid.isdigit()
                and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid())]
    print(json.dumps({"error": error, "unchanged": state() == before, "children": children,
                      "singleton": ServerApp._instance is not None, "policy": asyncio.events._event_loop_policy is None,
                      "left": os.listdir(sys.argv[2]), "lab_config_loaded": "dsw_warm_kernel" in sys.modules}))
''')


def probe(environment, directory):
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(environment), str(directory)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_warm_up_serves_the_lab_and_a_kernel_then_leaves_the_process_as_it_found_it(tmp_path):
    seen = probe({"JUPYTER_CONFIG_PATH": str(CONFIG_DIR)}, tmp_path)
    assert seen["error"] is None  # /lab answered 200 and a notebook's kernel started and became ready
    assert seen["lab_config_loaded"]  # the platform's lab configuration ran (its warmed-kernel manager)
    assert seen["unchanged"]  # environment, working folder, sys.path, signal handlers, thread count
    assert seen["children"] == [] and seen["left"] == []  # the kernel is gone, its folder removed
    assert not seen["singleton"] and seen["policy"]  # a forked server makes its own application and event loop


def test_a_warm_up_that_fails_says_why_and_still_restores_the_process(tmp_path):
    seen = probe({"JUPYTER_CONFIG_PATH": config_folder(tmp_path, UNIMPORTABLE_KERNEL_MANAGER)}, tmp_path)
    # Jupyter exits on a class it cannot import (SystemExit, which the fork server must survive), saying why in its log.
    assert seen["error"].startswith("SystemExit") and "no_such_module" in seen["error"], seen["error"]
    assert seen["unchanged"] and seen["children"] == [] and not seen["singleton"]


UNIMPORTABLE_KERNEL_MANAGER = 'c = get_config()\nc.ServerApp.kernel_manager_class = "no_such_module.Manager"\n'


def config_folder(tmp_path, text):
    """A JUPYTER_CONFIG_PATH folder whose jupyter_server_config.py is `text`."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(text)
    return str(config)


@contextlib.contextmanager
def running_zygote(*args, **kwargs):
    zygote = Zygote(sys.executable, *args, **kwargs)
    try:
        yield zygote
    finally:
        zygote.process.kill()
        zygote.process.wait()


def zygote_threads(zygote):
    return len(os.listdir(f"/proc/{zygote.process.pid}/task"))


def forks_a_working_server(zygote):
    process = zygote.spawn(argv=[sys.executable, "-m", "jupyterhub.singleuser", "--help-all"],
                           env={"PATH": os.environ["PATH"], "HOME": "/"}, cwd="/", user=None, join=[], rlimit_as=None)
    return process.wait(timeout=60) == 0


def test_a_warmed_fork_server_forks_working_servers_and_keeps_no_helper_thread(tmp_path):
    # A launch's whole environment, as the spawner passes it: only the lab variables reach the fork server.
    launch_env = {"JUPYTER_CONFIG_PATH": str(CONFIG_DIR), "PLATFORM_LAB_GRANT": "a launch's secret"}
    with running_zygote(str(tmp_path / "zygote"), launch_env) as zygote:
        assert json.loads(Path(f"/proc/{zygote.process.pid}/cmdline").read_bytes().split(b"\0")[4]) == {
            "JUPYTER_CONFIG_PATH": str(CONFIG_DIR)}
        assert zygote.warm_up_state() == "done"
        assert zygote_threads(zygote) == 2  # its own and the one that watches the hub: the warm-up's are gone
        assert os.listdir(tmp_path / "zygote") == [os.path.basename(zygote.socket_path)]
        assert forks_a_working_server(zygote)


def test_a_warm_up_that_leaves_a_thread_running_starts_the_fork_server_again_cold(tmp_path):
    # A configuration that starts a thread the server never stops: forking beside it would be unsafe.
    config = config_folder(tmp_path, "import threading, time\nthreading.Thread(target=time.sleep, args=(120,), daemon=True).start()\n")
    with running_zygote(str(tmp_path / "zygote"), {"JUPYTER_CONFIG_PATH": config}) as zygote:
        # The same process, now a fork server started without a warm-up (exec replaced the one that warmed up).
        assert Path(f"/proc/{zygote.process.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")[2:] == [
            b"spawner.zygote", zygote.socket_path.encode()]
        assert zygote.warm_up_state() == "off" and zygote_threads(zygote) == 2
        assert forks_a_working_server(zygote)


def test_a_fork_server_started_by_a_launch_forks_first_and_warms_up_once_idle(tmp_path):
    with running_zygote(str(tmp_path / "zygote"), {"JUPYTER_CONFIG_PATH": str(CONFIG_DIR)}, warm_up_first=False) as zygote:
        assert zygote.warm_up_state() == "pending"  # ready before its warm-up: the launch that started it goes first
        assert forks_a_working_server(zygote)
        deadline = time.monotonic() + 120
        while zygote.warm_up_state() == "pending":
            assert time.monotonic() < deadline, "the fork server never warmed up"
            time.sleep(0.2)
        assert zygote.warm_up_state() == "done" and zygote_threads(zygote) == 2
        assert forks_a_working_server(zygote)


def test_a_warm_up_that_fails_is_reported_and_the_fork_server_goes_on_cold(tmp_path):
    config = config_folder(tmp_path, UNIMPORTABLE_KERNEL_MANAGER)
    with running_zygote(str(tmp_path / "zygote"), {"JUPYTER_CONFIG_PATH": config}) as zygote:
        assert zygote.warm_up_state().startswith("failed: SystemExit")
        assert forks_a_working_server(zygote)


def test_the_hub_starts_the_warmed_fork_server_before_the_first_launch(tmp_path, monkeypatch):
    monkeypatch.setattr(Zygote, "_by_python", {})
    local.fork_server_prestart(str(tmp_path), {"JUPYTER_CONFIG_PATH": str(CONFIG_DIR)}, delay=0)
    deadline = time.monotonic() + 120
    while sys.executable not in Zygote._by_python:
        assert time.monotonic() < deadline, "the fork server was not started"
        time.sleep(0.1)
    zygote = Zygote._by_python[sys.executable]
    try:
        assert os.path.dirname(zygote.socket_path) == str(tmp_path / "zygote")
        assert zygote.warm_up_state() == "done"  # warmed before it said it was ready
        assert Zygote.for_python(sys.executable, str(tmp_path / "zygote")) is zygote  # the first launch finds it
    finally:
        zygote.process.kill()
        zygote.process.wait()

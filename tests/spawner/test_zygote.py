"""The fork server: a real zygote process forking real single-user processes (the hub tests run
whole servers through it, as their owners, inside their limit groups)."""

import os
import stat
import subprocess
import sys

import pytest

from spawner.zygote import ForkedProcess, Zygote


@pytest.fixture
def zygote(tmp_path):
    running = Zygote(sys.executable, str(tmp_path / "zygote"))
    yield running
    running.process.kill()
    running.process.wait()


def spawn(zygote, *args, cwd="/", env=None):
    return zygote.spawn(argv=[sys.executable, "-m", "jupyterhub.singleuser", *args],
                        env=env or {"PATH": os.environ["PATH"], "HOME": "/"}, cwd=cwd, user=None, join=[], rlimit_as=None)


def test_a_forked_process_runs_the_single_user_code_and_reports_its_exit(zygote):
    process = spawn(zygote, "--help-all")
    assert isinstance(process, subprocess.Popen)  # what LocalProcessSpawner's `proc` trait accepts
    assert process.wait(timeout=60) == 0
    assert process.poll() == 0


def test_a_child_that_cannot_start_fails_alone(zygote, tmp_path):
    broken = spawn(zygote, "--help-all", cwd=str(tmp_path / "missing"))
    assert broken.wait(timeout=60) == 1
    assert spawn(zygote, "--help-all").wait(timeout=60) == 0  # the zygote lives on


def test_only_its_owner_can_reach_the_zygote(zygote):
    directory = os.path.dirname(zygote.socket_path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(zygote.socket_path).st_mode) & 0o077 == 0


def test_a_pid_it_never_forked_reads_as_ended(zygote):
    assert ForkedProcess(zygote, 2**22 + 7).poll() == 0

"""Resource limits enforced by the real kernel on real child processes."""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spawner.resources import LimiterError, check_key, detect_limiter

MIB = 2**20
MEMORY_HOG = """
import sys
chunks = []
for _ in range(64):
    chunks.append(bytearray(10 * 2**20))  # bytearray() writes every page, so it is really charged
print("allocated", len(chunks) * 10, "MiB", flush=True)
"""
RLIMIT_HOG = """
small = bytearray(16 * 2**20)
print("small allocation ok", flush=True)
big = bytearray(2**30)
print("big allocation ok", flush=True)
"""


@pytest.fixture
def group(cgroup_limiter, unique):
    """A key in the host's cgroup limiter, cleaned up after the test whatever happens."""
    yield cgroup_limiter, unique
    cgroup_limiter.cleanup(unique)


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_memory_hog_is_killed_by_the_kernel_and_reported(group):
    limiter, key = group
    limiter.prepare(key, memory_bytes=100 * MIB, cpu=1)
    hog = subprocess.run([sys.executable, "-c", MEMORY_HOG], preexec_fn=limiter.preexec(key),
                         capture_output=True, text=True, timeout=60)
    assert hog.returncode == -9, hog  # SIGKILL from the OOM killer, not a MemoryError
    assert "allocated" not in hog.stdout
    assert limiter.oom_killed(key)


def test_process_within_its_limit_is_not_reported_as_oom(group):
    limiter, key = group
    limiter.prepare(key, memory_bytes=100 * MIB, cpu=1)
    fine = subprocess.run([sys.executable, "-c", "print(len(bytearray(10 * 2**20)))"],
                          preexec_fn=limiter.preexec(key), capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0 and fine.stdout.strip() == str(10 * MIB)
    assert not limiter.oom_killed(key)


def test_cpu_share_is_capped(group):
    limiter, key = group
    limiter.prepare(key, memory_bytes=256 * MIB, cpu=0.2)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=limiter.preexec(key))
    try:
        assert any(f"/{limiter.name_prefix}-{key}" in line
                   for line in Path(f"/proc/{burner.pid}/cgroup").read_text().splitlines())
        time.sleep(0.3)  # let the interpreter start
        wall_start, cpu_start = time.monotonic(), cpu_seconds(burner.pid)
        time.sleep(1.5)
        used = cpu_seconds(burner.pid) - cpu_start
        elapsed = time.monotonic() - wall_start
    finally:
        burner.kill()
        burner.wait()
    assert used / elapsed < 0.5, f"used {used:.2f} s of CPU in {elapsed:.2f} s"


def test_prepare_is_idempotent_and_cleanup_kills_leftovers_and_removes_the_group(group):
    limiter, key = group
    limiter.prepare(key, memory_bytes=128 * MIB, cpu=0.5)
    limiter.prepare(key, memory_bytes=64 * MIB, cpu=1)  # again, with new values
    sleeper = subprocess.Popen(["sleep", "60"], preexec_fn=limiter.preexec(key))
    assert all(directory.is_dir() for directory in limiter.group_dirs(key))

    limiter.cleanup(key)

    assert sleeper.wait(timeout=10) == -9
    assert not any(directory.exists() for directory in limiter.group_dirs(key))
    limiter.cleanup(key)  # idempotent
    assert not limiter.oom_killed(key)


def test_rlimit_mode_caps_memory_per_process(unique):
    limiter = detect_limiter(mechanism="rlimit")
    assert limiter.mechanism == "rlimit"
    assert "CPU share is not limited" in limiter.notes
    limits_before = resource.getrlimit(resource.RLIMIT_AS)
    limiter.prepare(unique, memory_bytes=256 * MIB, cpu=0.5)
    hog = subprocess.run([sys.executable, "-c", RLIMIT_HOG], preexec_fn=limiter.preexec(unique),
                         capture_output=True, text=True, timeout=60)
    assert "small allocation ok" in hog.stdout
    assert "big allocation ok" not in hog.stdout
    assert hog.returncode != 0 and "MemoryError" in hog.stderr
    assert resource.getrlimit(resource.RLIMIT_AS) == limits_before  # only the child was capped
    assert not limiter.oom_killed(unique)
    limiter.cleanup(unique)
    limiter.cleanup(unique)
    with pytest.raises(LimiterError):
        limiter.preexec(unique)  # forgotten: prepare first


def test_without_cgroups_detection_falls_back_to_rlimit(tmp_path):
    assert detect_limiter(root=tmp_path).mechanism == "rlimit"
    with pytest.raises(LimiterError, match="cgroup-v1 limits are not available"):
        detect_limiter(root=tmp_path, mechanism="cgroup-v1")
    with pytest.raises(ValueError):
        detect_limiter(mechanism="docker")


@pytest.mark.parametrize("key", ["", "../escape", "ws/12", "WS-12", "-ws", "ws 12", "x" * 64])
def test_keys_outside_our_own_id_format_are_refused(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_keys_in_our_id_format_are_kept_as_they_are():
    assert check_key("ws-12-a1b2c3") == "ws-12-a1b2c3"


def test_keys_lists_the_groups_that_exist_for_a_prefix(cgroup_limiter, unique):
    keys = [f"{unique}-a-1", f"{unique}-a-2", f"{unique}-b-1"]
    for key in keys:
        cgroup_limiter.prepare(key, memory_bytes=64 * 2**20, cpu=0.5)
    try:
        assert cgroup_limiter.keys(f"{unique}-a-") == keys[:2]
        assert cgroup_limiter.keys(f"{unique}-c-") == []
    finally:
        for key in keys:
            cgroup_limiter.cleanup(key)
    assert cgroup_limiter.keys(f"{unique}-") == []

"""Fixtures for the spawner's tests: real kernel features, skipped with a reason where the host lacks them."""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from spawner.resources import detect_limiter


@pytest.fixture
def root():
    if os.geteuid() != 0:
        pytest.skip("needs root (CI runs as root)")


@pytest.fixture
def cgroup_limiter():
    """The host's cgroup limiter; skips where no cgroup can be created here."""
    limiter = detect_limiter()
    if limiter.mechanism == "rlimit":
        pytest.skip("needs a writable cgroup v1 or v2 hierarchy (CI runs as root with one)")
    return limiter


@pytest.fixture
def unique():
    """A short name unique to this test run and process, usable in keys and account names."""
    return f"t{os.getpid()}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def portal_users(root, unique):
    """Portal usernames whose OS accounts are removed (with their homes) after the test."""
    from spawner.accounts import account_name

    names = []

    def make(label):
        names.append(f"{unique}{label}")
        return names[-1]

    yield make
    for name in names:
        subprocess.run(["userdel", "--remove", account_name(name)], capture_output=True)


@pytest.fixture
def shared_dir():
    """A directory every OS account can traverse (pytest's own tmp tree is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="dsw-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)

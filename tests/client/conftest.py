"""The client and the `dsw` command line against the live portal (and, for launches, the real hub).

`dsw` runs as a real subprocess: its own interpreter, its own config file (DSW_CONFIG under the
test's tmp_path), a HOME that is not the tester's, and standard input that is not a terminal.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workspaces.models import Profile

DSW = Path(sys.executable).parent / "dsw"


class Dsw:
    """Runs the installed `dsw` as a person's shell would."""

    def __init__(self, home, url):
        self.home = home
        self.url = url
        self.config = home / "config" / "dsw.json"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("DSW_")}
        self.env.update(HOME=str(home), DSW_CONFIG=str(self.config), DSW_URL=url, COLUMNS="200")

    def __call__(self, *args, input=None, env=None, timeout=180, binary=False):
        """``binary``: standard output as bytes, exactly as printed (text mode would turn CRLF into LF)."""
        if not DSW.exists():
            pytest.fail(f"{DSW} is missing: the client is installed by `make install-test` (pip install -e ./client)")
        result = subprocess.run([str(DSW), *args], input=None if input is None else input.encode(), capture_output=True, timeout=timeout,
                                env={**self.env, **(env or {})}, stdin=None if input is not None else subprocess.DEVNULL)
        result.stderr = result.stderr.decode()
        if not binary:
            result.stdout = result.stdout.decode()
        return result

    def ok(self, *args, **kwargs):
        result = self(*args, **kwargs)
        assert result.returncode == 0, f"dsw {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def login(self, username, password, *extra, env=None):
        return self.ok("login", "--url", self.url, "--username", username, *extra, input=password + "\n", env=env)


def one_line_error(result):
    """The error `dsw` printed: exactly one line on standard error, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def dsw(live_server, tmp_path):
    return Dsw(tmp_path, live_server.url)


@pytest.fixture(autouse=True)
def _served_connections_end():
    """After each test, let the live server's threads that served it end (at most 5 s): each holds a database
    session until its kept-alive connection closes, and the test database cannot be dropped while one is open."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    for thread in set(threading.enumerate()) - before:
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=max(0, deadline - time.monotonic()))


@pytest.fixture
def connect():
    """Makes clients (dsw_client.Client) and closes them at the end of the test."""
    from dsw_client import Client

    made = []

    def connect(*args, **kwargs):
        made.append(Client(*args, **kwargs))
        return made[-1]

    yield connect
    for client in made:
        client.close()


@pytest.fixture
def small(db):
    return Profile.objects.create(name="Small", cpu="0.5", memory_bytes=512 * 2**20, disk_bytes=2**30)

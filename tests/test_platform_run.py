"""`make run`'s supervisor on the embedded default: serves, runs tasks, and Ctrl-C leaves nothing behind."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.ports import free_port_block


ROOT = Path(__file__).resolve().parents[1]


def _embedded_env(data_dir):
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "PLATFORM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    environ.update(PLATFORM_DATA_DIR=str(data_dir), PLATFORM_ADMIN_PASSWORD="first admin passphrase", PYTHONUNBUFFERED="1")
    return environ


def _manage(*args, environ):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120, check=True)


def _processes_mentioning(marker):
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append((proc.name, cmdline))
    return found


def _wait_for(url, timeout=60, status=None):
    """The first answer from `url` (with `status`, the first answer with that status)."""
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        try:
            answer = requests.get(url, timeout=2)
            if status is None or answer.status_code == status:
                return answer
        except requests.RequestException:  # not listening yet, or busy starting
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered{f' with {status}' if status else ''} (last: {answer})")


@pytest.fixture
def platform_dir(tmp_path):
    environ = _embedded_env(tmp_path)
    _manage("migrate", "--no-input", "-v", "0", environ=environ)
    first = _manage("ensure_admin", environ=environ).stdout
    assert "Admin user:  admin" in first
    second = _manage("ensure_admin", environ=environ).stdout
    assert "exists" in second  # a second `make run` reuses the data
    _manage("shell", "-c", "from portal.accounts.models import User; User.objects.create_user('hana', 'hana@example.org', 'x')", environ=environ)
    return tmp_path


def test_run_serves_runs_tasks_and_stops_cleanly(platform_dir):
    port = free_port_block(17)  # public, proxy API, hub, portal, (unused), registry, the object store's ten, MLflow
    environ = {**_embedded_env(platform_dir), "PLATFORM_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://localhost:{port}"  # as platform_run prints it (the hub answers on that host)
        assert _wait_for(f"{base}/healthz").json() == {"status": "ok"}
        # The hub, behind the same origin (until the hub adds its route, the proxy sends /hub/ to the portal).
        assert _wait_for(f"{base}/hub/api/", status=200).json()["version"]
        if shutil.which("docker-registry"):  # the image registry, with the portal as its token issuer
            challenge = _wait_for(f"http://127.0.0.1:{port + 5}/v2/")
            assert challenge.status_code == 401 and f'realm="{base}/api/v1/images/registry/token/"' in challenge.headers["WWW-Authenticate"]

        session = requests.Session()
        session.get(f"{base}/accounts/login/")
        login = session.post(f"{base}/accounts/login/", data={
            "username": "admin", "password": "first admin passphrase", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert login.url == f"{base}/welcome/"  # a platform admin's first sign-in: what to do next (issue 15)
        token = requests.post(f"{base}/api/v1/auth/token/", json={"username": "admin", "password": "first admin passphrase"}, timeout=10).json()["token"]
        assert requests.get(f"{base}/api/v1/users/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["is_platform_admin"]
        # The embedded object store (SeaweedFS): the worker made the admin's own bucket there.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            buckets = requests.get(f"{base}/api/v1/buckets/", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
            if any(item["owner"] == "admin" and item["state"] == "ready" for item in buckets["results"]):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the admin's bucket is not ready: {buckets}")

        # MLflow, supervised like the hub, behind the same origin and the portal's session.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            searched = session.get(f"{base}/mlflow/api/2.0/mlflow/experiments/search?max_results=10", timeout=10)
            if searched.status_code == 200:
                break
            time.sleep(0.5)
        assert searched.status_code == 200 and searched.json()["experiments"][0]["name"] == "Default", searched.text
        assert requests.get(f"{base}/mlflow/api/2.0/mlflow/experiments/search", timeout=10).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port + 16}/mlflow/api/2.0/mlflow/experiments/search", timeout=10).status_code == 401

        # A task through the server-less broker, done by the worker: the reset mail lands in var/mail.
        anonymous = requests.Session()
        anonymous.get(f"{base}/accounts/password/reset/")
        anonymous.post(f"{base}/accounts/password/reset/", data={"email": "hana@example.org", "csrfmiddlewaretoken": anonymous.cookies["csrftoken"]})
        def mail_text():  # the file backend creates the file, then writes the message into it
            return "".join(path.read_text() for path in (platform_dir / "mail").glob("*.log"))

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "hana@example.org" not in mail_text():
            time.sleep(0.3)
        assert "hana@example.org" in mail_text()
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert re.search(rf"http://localhost:{port}/", output)
    time.sleep(0.5)
    assert _processes_mentioning(str(platform_dir)) == []
    assert ("Image registry: http://127.0.0.1" if shutil.which("docker-registry") else "local environments only") in output
    assert f"Object store: http://127.0.0.1:{port + 6} (SeaweedFS)" in output
    assert f"Experiment tracking: http://localhost:{port}/mlflow/" in output
    assert _processes_mentioning(f"--port {port + 16}") == []
    for offset in range(11):
        assert _processes_mentioning(f"127.0.0.1:{port + offset}") == []

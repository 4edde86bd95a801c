"""Every workspace is hostile: its owner runs arbitrary code as their own OS account. On a platform
started as `make run` starts it (embedded mode, SQLite, files for the queue and the mail), code in
bob's kernel tries what an attacker would: read the platform's database, secret key, the hub's
database and tokens, the mail spool (with another person's reset link), alice's home and server, and
the platform's processes. Everything is out of reach: not there (a private mount namespace), not
readable (owner-only modes), or not visible (/proc with hidepid)."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.embedded import ROOT, EmbeddedPlatform, embedded_env, wait_until
from tests.kernels import run_in_kernel

pytestmark = pytest.mark.hub

ATTACK = r"""
import json, os, socket
targets, folders, secrets, services = json.loads(%r)
found = {"read": {}, "listed": {}, "leaked": [], "processes": [], "tmp": [], "uid": os.getuid(), "services": {}}
if "postgres" in services:
    try:
        import psycopg
        host, port = services["postgres"]
        psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", connect_timeout=5).close()
        found["services"]["postgres"] = "CONNECTED"
    except Exception as exc:
        found["services"]["postgres"] = str(exc)[-200:]
if "redis" in services:
    with socket.create_connection(tuple(services["redis"]), timeout=5) as connection:
        connection.sendall(b"PING\r\n")
        found["services"]["redis"] = connection.recv(200).decode(errors="replace")
for path in targets:
    try:
        with open(path, "rb") as handle:
            handle.read(16)
        found["read"][path] = "READ"
    except Exception as exc:
        found["read"][path] = type(exc).__name__
for folder in folders:
    try:
        found["listed"][folder] = os.listdir(folder)
    except Exception as exc:
        found["listed"][folder] = type(exc).__name__
mine = open("/proc/self/environ", "rb").read().decode(errors="replace") + json.dumps(dict(os.environ))
found["leaked"] = [name for name, value in secrets.items() if value and value in mine]
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        found["processes"].append((int(pid), os.stat(f"/proc/{pid}").st_uid))
    except OSError:
        pass
found["tmp"] = os.listdir("/tmp")
print(json.dumps(found))
"""


@pytest.fixture
def platform():
    if os.geteuid() != 0:
        pytest.skip("per-user isolation (and so this attack) needs root; CI runs as root")
    running = EmbeddedPlatform()
    try:
        yield running
    finally:
        running.close()


def _launch(platform, api, name):
    created = api.post("/api/v1/workspaces/", json={"name": name, "profile": "Test small"})
    assert created.status_code == 202, created.text
    return platform.wait_for_status(api, created.json()["id"], "running", timeout=180)


def test_a_workspace_user_reaches_nothing_of_the_platform(platform):
    tokens = platform.seed(users=("alice", "bob"))
    platform.start()
    alice_api, bob_api = platform.api(tokens["alice"]), platform.api(tokens["bob"])
    hub_token = platform.hub_token()
    alices = _launch(platform, alice_api, "private")
    bobs = _launch(platform, bob_api, "attack")

    # Alice keeps notes in her home, and a password reset for her lands in the mail spool.
    alice_base = platform.server_url("alice", f"ws-{alices['id']}").rstrip("/")
    saved = requests.put(f"{alice_base}/api/contents/notes.txt", json={"type": "file", "format": "text",
                         "content": "alice's secret notes"}, headers={"Authorization": f"token {hub_token}"}, timeout=20)
    assert saved.status_code in (200, 201), saved.text
    anonymous = requests.Session()
    anonymous.get(f"{platform.url}/accounts/password/reset/")
    anonymous.post(f"{platform.url}/accounts/password/reset/", data={
        "email": "alice@example.org", "csrfmiddlewaretoken": anonymous.cookies["csrftoken"]})
    data = platform.data_dir
    wait_until(lambda: any((data / "mail").glob("*.log")), what="the reset mail in the spool")

    alice_home = data / "workspaces" / f"ws-{alices['id']}"
    assert (alice_home / "notes.txt").read_text() == "alice's secret notes"
    children = platform.children()
    alice_server = platform.server_pids()[f"ws-{alices['id']}"]
    targets = [data / "platform.sqlite3", data / "platform.sqlite3-wal", data / "secret_key",
               data / "hub" / "jupyterhub.sqlite", data / "hub" / "cookie_secret", data / "hub" / "api_token",
               data / "hub" / "oauth_client_secret", *sorted((data / "mail").glob("*.log")),
               data / "celery" / "beat-schedule", alice_home / "notes.txt",
               data / "hub" / "spawner" / "logs" / f"ws-{alices['id']}.log",
               *(data / "registry" / name for name in ("token.key", "webhook_token") if (data / "registry" / name).exists()),
               *(f"/proc/{pid}/environ" for pid in children.values()),
               f"/proc/{alice_server}/environ", f"/proc/{alice_server}/root/etc/hostname"]
    for target in targets[:7]:
        assert os.path.exists(target), target  # the attack aims at what really is there
    folders = [data, data / "hub", data / "workspaces", data / "mail", alice_home]
    secrets = {"hub API token": hub_token, "Django secret key": (data / "secret_key").read_text().strip(),
               "OAuth client secret": (data / "hub" / "oauth_client_secret").read_text().strip()}
    # The test suite's own PostgreSQL and Redis listen on loopback too, where every account can connect.
    services = {name: [url.hostname, url.port] for name, url in
                (("postgres", urlsplit(os.environ.get("DATABASE_URL", ""))), ("redis", urlsplit(os.environ.get("REDIS_URL", ""))))
                if url.hostname}
    code = ATTACK % json.dumps([[str(t) for t in targets], [str(f) for f in folders], secrets, services])
    outcome, printed = run_in_kernel(platform.server_url("bob", f"ws-{bobs['id']}").rstrip("/"), hub_token, code, timeout=120)
    assert outcome == "ok", printed
    found = json.loads(printed.strip().splitlines()[-1])

    bob_uid = found["uid"]
    assert bob_uid != 0 and bob_uid != os.stat(alice_home).st_uid  # bob's own account, not root, not alice's
    assert {path: how for path, how in found["read"].items() if how == "READ"} == {}
    # The state directory is not even there: in bob's mount namespace it is an empty, read-only folder
    # holding only the way to his own home.
    assert found["listed"][str(data)] == ["workspaces"]
    assert found["listed"][str(data / "workspaces")] == [f"ws-{bobs['id']}"]
    for folder in (data / "hub", data / "mail", alice_home):
        assert found["listed"][str(folder)] == "FileNotFoundError"
    assert found["leaked"] == []
    if "postgres" in services:
        assert "password" in found["services"]["postgres"], found["services"]  # no password: no way in
    if "redis" in services:
        assert found["services"]["redis"].startswith("-NOAUTH"), found["services"]
    assert {uid for _, uid in found["processes"]} == {bob_uid}  # the platform's processes are invisible
    # A /tmp of its own: nothing in it but, when the state directory lies under /tmp, the (empty) way to it.
    under_tmp = Path(os.path.realpath(data)).relative_to("/tmp").parts[:1] if str(os.path.realpath(data)).startswith("/tmp/") else ()
    assert found["tmp"] == list(under_tmp)

    # On the host, everything the platform wrote is owner-only (what platform_run checks at start).
    problems = platform.shell("import json; from portal.processes.state import state_dir_problems; "
                              "print(json.dumps(state_dir_problems()))")
    assert problems == []
    assert stat.S_IMODE((data / "platform.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o711 and stat.S_IMODE((data / "hub").stat().st_mode) == 0o700

    for api, workspace in ((alice_api, alices), (bob_api, bobs)):
        api.post(f"/api/v1/workspaces/{workspace['id']}/stop/")
        platform.wait_for_status(api, workspace["id"], "stopped")


def test_platform_run_refuses_state_other_accounts_can_read(tmp_path):
    environ = embedded_env(tmp_path / "var")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], cwd=ROOT, env=environ, check=True,
                   timeout=120)
    database = tmp_path / "var" / "platform.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600  # created private
    database.chmod(0o644)  # as an older version (or a careless copy) left it
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "platform_run"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and f"{database} is mode 0644" in result.stderr
    fix = result.stderr.strip().splitlines()[-1].strip()
    assert subprocess.run(fix, shell=True).returncode == 0  # the command it gives works
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

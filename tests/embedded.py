"""A whole platform as `make run` starts it (embedded mode: SQLite, the file broker, a data directory of
its own), for the tests that must see every process: the hostile workspace, crashes and restarts.

Nothing here is shared with a `make run` or another test: its own data directory, ports, OS account
prefix; `close()` stops the workspaces it started, removes its accounts and its directory.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.conftest import remove_tree_and_mounts
from tests.ports import free_port_block

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "first admin passphrase"
# How each child of platform_run shows in its command line.
CHILD_MARKERS = {"web": "gunicorn", "worker": " worker", "beat": " beat", "proxy": "spawner.proxy_server",
                 "hub": "jupyterhub", "registry": "docker-registry"}


def embedded_env(data_dir, **extra):
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "PLATFORM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    environ.update(PLATFORM_DATA_DIR=str(data_dir), PLATFORM_ADMIN_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1", **extra)
    return environ


def wait_until(condition, timeout=60, interval=0.3, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class EmbeddedPlatform:
    def __init__(self, *, extra_env=None):
        self.data_dir = Path(tempfile.mkdtemp(prefix="dsw-embedded-"))
        self.data_dir.chmod(0o700)
        self.port = free_port_block(16)  # platform_run uses PORT … PORT+15
        self.url = f"http://localhost:{self.port}"  # as `make run` prints it; workspaces answer on <name>.localhost
        self.account_prefix = f"e{secrets.token_hex(3)}-"
        self.env = embedded_env(self.data_dir, PLATFORM_PORT=str(self.port), PLATFORM_ACCOUNT_PREFIX=self.account_prefix,
                                PLATFORM_SPAWNER_POLL_INTERVAL="2", **(extra_env or {}))
        self.proc = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("ensure_admin")

    def manage(self, *args, check=True):
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=180, check=check)

    def shell(self, code):
        """Run Django code in the platform's own settings; answers what it printed (as JSON when it is)."""
        out = self.manage("shell", "-c", code).stdout.strip()
        try:
            return json.loads(out.splitlines()[-1]) if out else None
        except ValueError:
            return out

    def seed(self, users=("alice", "bob"), profile_memory=512 * 2**20):
        """A team with `users` as members, a small profile, and a token for each user: {username: token}."""
        code = f"""
import json
from portal.accounts.models import Membership, Team, User
from portal.accounts.services import token_create
from workspaces.models import Profile
team, _ = Team.objects.get_or_create(slug="hostile-tests", defaults={{"name": "Hostile tests"}})
Profile.objects.get_or_create(name="Test small", defaults={{"cpu": "0.5", "memory_bytes": {profile_memory}, "disk_bytes": 2**30}})
tokens = {{}}
for name in {list(users)!r}:
    user, _ = User.objects.get_or_create(username=name, defaults={{"email": name + "@example.org"}})
    user.set_password("{PASSWORD}"); user.save()
    Membership.objects.get_or_create(team=team, user=user)
    tokens[name] = token_create(user=user, name="test")[1]
print(json.dumps(tokens))
"""
        return self.shell(code)

    # --- the platform process -------------------------------------------------------------------

    def start(self, wait=True):
        self._log = self.log_path.open("a")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "platform_run"], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=90):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"platform_run exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            try:
                return (requests.get(f"{self.url}/healthz", timeout=3).status_code == 200
                        and requests.get(f"{self.url}/hub/api/", timeout=3).status_code == 200)
            except requests.RequestException:
                return False

        wait_until(ready, timeout, what="the platform answering")

    def stop(self, signum=signal.SIGINT, timeout=60):
        """Stop platform_run; answers its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self):
        """{child name: pid} of platform_run's direct children, from /proc."""
        found = {}
        for pid, ppid, cmdline in _processes():
            if ppid == self.proc.pid:
                for name, marker in CHILD_MARKERS.items():
                    if marker in cmdline and name not in found:
                        found[name] = pid
                        break
        return found

    def processes_left(self):
        """Processes still mentioning this platform's data directory or ports, but for workspace servers."""
        markers = [str(self.data_dir), *(f"127.0.0.1:{self.port + offset}" for offset in range(16))]
        return [(pid, cmdline) for pid, _, cmdline in _processes()
                if any(marker in cmdline for marker in markers) and "jupyterhub.singleuser" not in cmdline
                and "spawner.zygote" not in cmdline]

    # --- as people do -------------------------------------------------------------------------

    def api(self, token):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        session.base = self.url
        return _BoundSession(session, self.url)

    def server_url(self, username, server_name, path=""):
        """Where a workspace's server answers (its owner's own host)."""
        from workspaces.hub import server_public_url

        return server_public_url(self.url, username, server_name, subdomains=True, path=path)

    def hub_token(self):
        return (self.data_dir / "hub" / "api_token").read_text().strip()

    def wait_for_status(self, api, workspace_id, wanted, timeout=120):
        seen = []

        def reached():
            body = api.get(f"/api/v1/workspaces/{workspace_id}/").json()
            if not seen or seen[-1] != (body["status"], body["status_message"]):
                seen.append((body["status"], body["status_message"]))
            if body["status"] == "failed" and wanted != "failed":
                raise AssertionError(f"workspace {workspace_id} failed: {body['status_message']} (seen {seen})")
            return body if body["status"] == wanted else None

        try:
            return wait_until(reached, timeout, what=f"workspace {workspace_id} becoming {wanted}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; seen {seen}") from None

    def server_pids(self):
        """{server name: pid} of the servers the hub has recorded (its own database: a forked server's
        command line is its fork server's, so /proc cannot tell them apart)."""
        import sqlite3

        database = self.data_dir / "hub" / "jupyterhub.sqlite"
        if not database.exists():
            return {}
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            rows = connection.execute("SELECT name, state FROM spawners").fetchall()
        return {name: json.loads(state or "{}").get("pid") for name, state in rows if json.loads(state or "{}").get("pid")}

    def close(self):
        """Stop every workspace server of this platform, the platform, its accounts and its files."""
        self.stop()
        for pid in self.server_pids().values():
            _kill_group(pid)
        _remove_cgroups(self.data_dir)  # the servers' kernels too (each in a session of its own)
        if os.geteuid() == 0:
            from spawner.accounts import remove_system_users

            remove_system_users(self.account_prefix)
        remove_tree_and_mounts(self.data_dir)
        self.log_path.unlink(missing_ok=True)


class _BoundSession:
    """requests.Session with the platform's base URL: api.get("/api/v1/…")."""

    def __init__(self, session, base):
        self.session, self.base = session, base

    def __getattr__(self, method):
        call = getattr(self.session, method)
        return lambda path, **kwargs: call(f"{self.base}{path}", timeout=kwargs.pop("timeout", 20), **kwargs)


def _processes():
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        yield int(proc.name), ppid, cmdline


def _kill_group(pid):
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _remove_cgroups(data_dir):
    """Limit groups a killed hub could not remove (named after the hub's state directory)."""
    import hashlib

    hub_id = hashlib.sha256(os.path.abspath(data_dir / "hub" / "spawner").encode()).hexdigest()[:6]
    for root in Path("/sys/fs/cgroup").glob("**/dsw-ws-*"):
        if f"-{hub_id}-" in root.name:
            try:
                for pid in (root / "cgroup.procs").read_text().split():
                    _kill_group(int(pid))
                time.sleep(0.1)
                root.rmdir()
            except OSError:
                pass

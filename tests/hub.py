"""A real JupyterHub (with its proxy) for the test session, wired to the live portal."""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


class RunningHub:
    def __init__(self, *, public_url, api_url, process, log_path, account_prefix):
        self.public_url = public_url
        self.api_url = api_url
        self.process = process
        self.log_path = log_path
        self.account_prefix = account_prefix

    def log(self):
        return self.log_path.read_text(errors="replace")[-5000:]

    def server_url(self, username, server_name, path=""):
        """Where a server answers through the proxy (on its owner's own host: per-user subdomains)."""
        from django.conf import settings

        from workspaces.hub import server_public_url

        return server_public_url(self.public_url, username, server_name, subdomains=settings.PLATFORM_WORKSPACE_SUBDOMAINS,
                                 path=path)

    def account(self, username):
        """The OS account this hub's servers of `username` run as (per-user mode, as root)."""
        from spawner.accounts import account_name

        return account_name(username, self.account_prefix)


def start_hub(*, data_dir, portal_url, public_port, hub_port, proxy_api_port, extra_env=None):
    """Start the hub exactly as `make run` does (same config file, same environment builder), with the proxy
    as its own child and its servers stopped when it stops (it lives for one test session)."""
    from django.conf import settings

    from portal.processes.children import hub_environment

    # OS accounts are machine-wide: this hub's are its own (removed by stop_hub), so nothing collides with
    # a `make run`, another test worker or another run of the suite on this machine.
    account_prefix = f"t{secrets.token_hex(3)}-"
    environ = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}",
               **hub_environment(portal_internal_url=portal_url, hub_port=hub_port, proxy_api_port=proxy_api_port),
               "PLATFORM_HUB_CLEANUP_SERVERS": "true",
               "PLATFORM_ACCOUNT_PREFIX": account_prefix, "PLATFORM_HOMES_DIR": str(data_dir / "homes"),
               # Each test worker's hub keeps its own database, cookie secret and spawner state:
               # two hubs on one sqlite file overwrite each other's roles and OAuth clients.
               "PLATFORM_HUB_DATA_DIR": str(data_dir), "PLATFORM_WORKSPACES_DIR": str(data_dir / "workspaces"),
               # The hub's registry pull credential (image launches); a test writes it when it needs one.
               "PLATFORM_REGISTRY_PULL_AUTH_FILE": str(data_dir / "registry-auth.json"),
               **(extra_env or {})}
    log_path = data_dir / "hub.log"
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(ROOT / "spawner" / "jupyterhub_config.py")],
                               cwd=data_dir, env=environ, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    api_url = settings.PLATFORM_HUB_API_URL
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The hub exited at start:\n{log_path.read_text()[-4000:]}")
        try:
            # Our token must work: a hub of another test worker on a reused port would refuse it.
            answer = requests.get(f"{api_url}/users", headers={"Authorization": f"token {settings.PLATFORM_HUB_API_TOKEN}"}, timeout=2)
            if answer.status_code == 200 and process.poll() is None:
                return RunningHub(public_url=settings.PLATFORM_PUBLIC_URL, api_url=api_url, process=process,
                                  log_path=log_path, account_prefix=account_prefix)
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"The hub never answered:\n{log_path.read_text()[-4000:]}")


def stop_hub(hub):
    import signal

    from spawner.accounts import remove_system_users

    try:
        os.killpg(hub.process.pid, signal.SIGTERM)
        hub.process.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(hub.process.pid, signal.SIGKILL)
    if os.geteuid() == 0:
        remove_system_users(hub.account_prefix)

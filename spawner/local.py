"""PortalLocalSpawner: runs a workspace's server as a local process, from the portal's launch spec."""

import json
import os
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Unicode


class PortalLocalSpawner(LocalProcessSpawner):
    portal_url = Unicode(config=True, help="The portal's internal base URL, e.g. http://127.0.0.1:8003.")
    portal_token = Unicode(os.environ.get("PLATFORM_HUB_API_TOKEN", ""), config=True,
                           help="Shared secret sent to the portal as a Bearer token.")
    state_dir = Unicode(config=True, help="Where the spawner keeps its own state.")
    home_root = Unicode(config=True, help="Workspace homes live under here, one folder per workspace.")

    async def load_launch_spec(self):
        """What to launch, from the portal; never from options the client sent."""
        url = f"{self.portal_url}/api/internal/launch-spec/?user={self.user.name}&server={self.name}"
        request = HTTPRequest(url, headers={"Authorization": f"Bearer {self.portal_token}"}, request_timeout=30)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code == 404:
                raise RuntimeError("The portal knows no workspace that should run as this server.") from exc
            raise RuntimeError(f"The portal refused the launch spec ({exc.code}).") from exc
        except OSError as exc:
            raise RuntimeError(f"The portal is unreachable: {exc}") from exc
        return json.loads(response.body)

    async def start(self):
        spec = await self.load_launch_spec()
        home = Path(self.home_root) / spec["owner"] / spec["server_name"]
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.notebook_dir = str(home)
        self.cmd = [spec["environment"]["python"], "-m", "jupyterhub.singleuser"]
        self.args = ["--allow-root"] if os.getuid() == 0 else []
        self.environment = {**spec["env"], "HOME": str(home)}
        return await super().start()

    def make_preexec_fn(self, name):
        return None  # single-user mode: the server runs as the hub's own account

    def user_env(self, env):
        env["USER"] = self.user.name
        env["HOME"] = self.notebook_dir
        env["SHELL"] = "/bin/bash"
        return env

    def get_env(self):
        env = super().get_env()
        env.setdefault("PATH", os.path.dirname(sys.executable) + ":/usr/bin:/bin")
        return env

"""What every back end's spawner shares: asking the portal for the launch spec, and telling it
what only the spawner sees. A mixin, so each spawner keeps its own JupyterHub base class."""

import json
import os
from urllib.parse import urlencode

from jupyterhub.spawner import SpawnException
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from spawner.spec import LaunchSpec

TIMED_OUT_OR_DISCONNECTED = 599  # tornado's status for requests that got no HTTP answer


class LaunchError(SpawnException):
    """Why a server was not started. JupyterHub logs it without a traceback and shows the
    message itself (progress says "Spawn failed: <message>"); `reason` labels its metrics."""

    def __init__(self, message, *, reason):
        super().__init__(message, reason=reason)
        self.jupyterhub_message = message


class PortalSpecMixin(LoggingConfigurable):
    """Mixed into a Spawner: `load_launch_spec()`, `portal_says_delete_home()` and `_report_to_portal()`;
    needs `self.user` and `self.name`."""

    portal_url = Unicode(help="The portal's internal base URL, e.g. http://127.0.0.1:8003.").tag(config=True)
    portal_token = Unicode(
        help="Shared secret sent to the portal as a Bearer token. Default: $PLATFORM_HUB_API_TOKEN.",
    ).tag(config=True)

    @default("portal_token")
    def _portal_token_default(self):
        return os.environ.get("PLATFORM_HUB_API_TOKEN", "")

    async def load_launch_spec(self):
        """What this server should run, from the portal; raises LaunchError saying what went wrong."""
        if not self.portal_url:
            raise LaunchError(f"{type(self).__name__}.portal_url is not configured.", reason="config")
        query = urlencode({"user": self.user.name, "server": self.name})
        request = HTTPRequest(f"{self.portal_url.rstrip('/')}/api/internal/launch-spec/?{query}",
                              headers={"Authorization": f"Bearer {self.portal_token}"}, request_timeout=30)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            if exc.code == 404:
                raise LaunchError(f"The portal knows no workspace that should run as server "
                                  f"{self.name!r} of {self.user.name!r}.", reason="portal") from exc
            if exc.code == TIMED_OUT_OR_DISCONNECTED:
                raise LaunchError(f"The portal is unreachable at {self.portal_url}: {exc}", reason="portal") from exc
            raise LaunchError(f"The portal refused the launch spec request (HTTP {exc.code}).", reason="portal") from exc
        except OSError as exc:
            raise LaunchError(f"The portal is unreachable at {self.portal_url}: {exc}", reason="portal") from exc
        try:
            spec = LaunchSpec.from_dict(json.loads(response.body))
        except ValueError as exc:  # bad JSON and LaunchSpecError alike
            raise LaunchError(f"The portal sent an unusable launch spec: {exc}", reason="portal") from exc
        if spec.server_name != self.name:
            raise LaunchError(f"The portal's launch spec is for server {spec.server_name!r}, not {self.name!r}.",
                              reason="portal")
        return spec

    async def portal_says_delete_home(self):
        """Whether the portal says this (removed) server's home must go: only for a workspace deleted
        together with its home. Any doubt (no answer, an error) keeps the home."""
        if not self.portal_url:
            return False
        query = urlencode({"user": self.user.name, "server": self.name})
        request = HTTPRequest(f"{self.portal_url.rstrip('/')}/api/internal/storage/?{query}",
                              headers={"Authorization": f"Bearer {self.portal_token}"}, request_timeout=30)
        try:
            response = await AsyncHTTPClient().fetch(request)
            return json.loads(response.body).get("delete_home") is True
        except (HTTPClientError, OSError, ValueError, AttributeError) as exc:
            self.log.warning("Keeping the home of %s: the portal did not say to delete it (%s)", self._log_name, exc)
            return False

    async def _report_to_portal(self, event, **details):
        """Tell the portal what only the spawner sees (it records it on the workspace). Best effort."""
        if not self.portal_url:
            self.log.warning("Not reporting %s of %s: no portal_url configured", event, self._log_name)
            return
        body = json.dumps({"user": self.user.name, "server": self.name, "event": event, **details})
        request = HTTPRequest(f"{self.portal_url.rstrip('/')}/api/internal/server-event/", method="POST", body=body,
                              headers={"Authorization": f"Bearer {self.portal_token}", "Content-Type": "application/json"},
                              request_timeout=10)
        try:
            await AsyncHTTPClient().fetch(request)
        except (HTTPClientError, OSError) as exc:
            self.log.warning("Could not report %s of %s to the portal: %s", event, self._log_name, exc)

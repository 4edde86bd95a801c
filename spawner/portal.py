"""What every back end's spawner shares: asking the portal for the launch spec, and telling it
what only the spawner sees. A mixin, so each spawner keeps its own JupyterHub base class."""

import asyncio
import json
import os
import time
import uuid
from urllib.parse import urlencode

from jupyterhub.spawner import SpawnException
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.ioloop import PeriodicCallback
from traitlets import Integer, Unicode, default
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

    spec_generation = Integer(-1, help="The run (generation) of the spec last loaded; reports carry it.")

    report_outbox = Unicode(
        "", help="""A folder (the hub's own) for reports the portal must not miss, such as when a server died:
        each is kept there until the portal has it. Empty: such reports are sent once, best effort.""",
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
        self.spec_generation = spec.generation
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

    async def _report_to_portal(self, event, *, durable=False, **details):
        """Tell the portal what only the spawner sees (it records it on the workspace).

        Best effort, unless `durable` and `report_outbox` is set: then the report is written to the
        outbox first and sent until the portal has it, even across a portal outage or a hub restart."""
        if not self.portal_url:
            self.log.warning("Not reporting %s of %s: no portal_url configured", event, self._log_name)
            return
        report = {"user": self.user.name, "server": self.name, "event": event, **details}
        report.setdefault("generation", self.spec_generation)  # so the portal can tell a late report of an earlier run
        if report["generation"] < 0:
            del report["generation"]  # no spec was ever loaded
        if durable and self.report_outbox:
            outbox = ReportOutbox.for_spawner(self)
            path = await asyncio.to_thread(outbox.put, report)
            if await self._send_report(report):
                await asyncio.to_thread(outbox.done, path)
            return
        await self._send_report(report)

    async def _send_report(self, report):
        """POST one report; True when the portal has it (or refused it for good), False to try again later."""
        request = HTTPRequest(f"{self.portal_url.rstrip('/')}/api/internal/server-event/", method="POST",
                              body=json.dumps(report), request_timeout=10,
                              headers={"Authorization": f"Bearer {self.portal_token}", "Content-Type": "application/json"})
        try:
            await AsyncHTTPClient().fetch(request)
            return True
        except HTTPClientError as exc:
            if exc.code in (400, 404):  # a report the portal will never take (the workspace is gone)
                self.log.warning("The portal refused the %s report of %s/%s: %s", report["event"], report["user"],
                                 report["server"], exc)
                return True
            self.log.warning("Could not report %s of %s/%s to the portal: %s", report["event"], report["user"],
                             report["server"], exc)
            return False
        except OSError as exc:
            self.log.warning("Could not report %s of %s/%s to the portal: %s", report["event"], report["user"],
                             report["server"], exc)
            return False


class ReportOutbox:
    """Reports the portal must not miss, one JSON file each, sent again every `interval` seconds until
    it has them. One per hub process (started by the first spawner that needs it)."""

    _instance = None

    def __init__(self, directory, send, log, interval=2.0):
        self.directory = directory
        self.send = send
        self.log = log
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self._flushing = False
        self._timer = PeriodicCallback(self.flush, interval * 1000)
        self._timer.start()

    @classmethod
    def for_spawner(cls, spawner):
        if cls._instance is None or cls._instance.directory != spawner.report_outbox:
            cls._instance = cls(spawner.report_outbox, spawner._send_report, spawner.log)
        return cls._instance

    def put(self, report):
        path = os.path.join(self.directory, f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(report, handle)
        os.replace(path + ".tmp", path)  # whole or not at all
        return path

    def done(self, path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def pending(self):
        return sorted(os.path.join(self.directory, name) for name in os.listdir(self.directory) if name.endswith(".json"))

    async def flush(self):
        """Send what is waiting, oldest first; stop at the first the portal cannot take yet."""
        if self._flushing:
            return
        self._flushing = True
        try:
            for path in await asyncio.to_thread(self.pending):
                try:
                    with open(path, encoding="utf-8") as handle:
                        report = json.load(handle)
                except (OSError, ValueError) as exc:
                    self.log.warning("Dropping an unreadable report %s: %s", path, exc)
                    self.done(path)
                    continue
                if not await self.send(report):
                    return
                self.done(path)
        finally:
            self._flushing = False

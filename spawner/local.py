"""PortalLocalSpawner: runs a workspace's server as a local process, from the portal's launch spec.

What to run comes from the portal, never from options a client sent. Before anything starts,
the spawner checks the host can run the spec at all; then it allocates GPUs, puts the server's
process tree in a resource-limit group, and (as root) runs it as the owner's own OS account.
"""

import asyncio
import hashlib
import os
import pwd
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from jupyterhub.utils import random_port
from traitlets import Bool, Dict, Enum, Float, Integer, List, Unicode, default

from spawner.accounts import ensure_system_user
from spawner.containers import ContainerLaunch
from spawner.feasibility import host_memory_bytes, launch_problems
from spawner.gpus import GpuInventory, GpuUnavailable, describe
from spawner.isolation import enter_private_namespace
from spawner.liveness import Liveness, process_identity, same_process
from spawner.portal import LaunchError, PortalSpecMixin, ReportOutbox
from spawner.resources import detect_limiter
from spawner.spec import ServerEvent
from spawner.storage import LOOP, StorageError, WorkspaceStorage
from spawner.zygote import Zygote

__all__ = ["OUT_OF_MEMORY", "LaunchError", "PortalLocalSpawner"]

OUT_OF_MEMORY = "out of memory"
OUT_OF_MEMORY_REASON = "out_of_memory"  # LaunchError's reason for a server the OOM killer took while starting


class PortalLocalSpawner(ContainerLaunch, PortalSpecMixin, LocalProcessSpawner):
    state_dir = Unicode(
        help="The spawner's own state: GPU allocations; workspaces' homes unless workspace_root is set.",
    ).tag(config=True)
    workspace_root = Unicode(
        help="""Each workspace's persistent home lives here (default: <state_dir>/workspaces). Every
        account must be able to traverse it. As root, a home with a disk size is a loop-mounted image.""",
    ).tag(config=True)
    home_root = Unicode(
        help="Per-user mode: each person's OS account gets its home here. Every account must be able to traverse it.",
    ).tag(config=True)
    account_prefix = Unicode(
        "dsw-", help="""Per-user mode: OS accounts are named <prefix><user>. Accounts are machine-wide: give each
        platform instance on a machine its own prefix (the portal derives one from its data directory).""",
    ).tag(config=True)
    isolation = Enum(
        ["auto", "per-user", "single-user"], default_value="auto",
        help="""How servers are separated from each other.
        per-user: each person's servers run as their own locked OS account (needs the hub to run as root).
        single-user: every server runs as the hub's own account; homes are only separate folders.
        auto: per-user when the hub runs as root, else single-user.""",
    ).tag(config=True)
    gpu_devices = List(
        Dict(),
        help="""The GPUs servers may use, e.g. [{"index": "0", "type": "h100"}].
        Empty: ask nvidia-smi (no GPUs if it is not installed).""",
    ).tag(config=True)

    hidden_paths = List(
        Unicode(),
        help="""Directories no workspace may see: the platform's and the hub's data directories. In per-user
        mode each server runs in a private mount namespace where these are empty, /tmp is its own and /proc
        shows only its own processes (spawner/isolation.py); its home and Python environment stay visible.""",
    ).tag(config=True)
    isolate_mounts = Bool(
        True, help="Per-user mode: run each server in a private mount namespace (see hidden_paths).",
    ).tag(config=True)

    prefork = Bool(
        True, help="""Start servers of the platform's own Python environment by forking a process that
        already imported the single-user code (spawner/zygote.py): about 1.3 s of CPU less per launch.
        Other environments, and any failure of the fork server, use a fresh process.""",
    ).tag(config=True)
    ready_timeout = Float(
        30, help="""After starting the server, wait up to this many seconds for it to answer HTTP before handing
        it to the hub. The hub's own check backs off exponentially (with jitter) and so notices a server
        up to seconds late; polling every 50 ms here hands it over as soon as it answers. 0: don't wait.""",
    ).tag(config=True)

    exit_reason = Unicode(help="Why the last server ended, when the spawner knows it (\"out of memory\").")

    # What the current server holds. Kept across clear_state() (which JupyterHub calls as soon as
    # the process is gone) until released, and saved in the hub's state for a restarted hub.
    resource_key = Unicode()
    limiter_mechanism = Unicode()
    gpu_indices = List(Unicode())
    process_identity = Unicode()  # pid and start time of the server process (spawner/liveness.py)
    oom_kills_reported = Integer(0)  # kernels the OOM killer took that the portal was told about

    _spec = None
    _account = None
    _private_view = None  # enter_private_namespace's arguments for the server being started, or None
    _polled_generation = -1  # the run a poll is about (its report says so even after the state is cleared)
    _limiter = None
    _gpus = None
    _progress_events = ()
    _launch_count = 0  # bumped by every start(), so a poll that raced a restart can tell

    @default("workspace_root")
    def _workspace_root_default(self):
        return os.path.join(self.state_dir, "workspaces") if self.state_dir else ""

    async def start(self):
        """Start the server the portal's spec describes; raises LaunchError, having started nothing, if it cannot.

        A refusal is also reported to the portal, so the person sees the reason on the workspace."""
        try:
            return await self._start()
        except LaunchError as exc:
            if exc.reason != "portal":  # the portal cannot be told what it cannot be reached for
                await self._report_to_portal(ServerEvent.SPAWN_FAILED, message=exc.jupyterhub_message,
                                             out_of_memory=exc.reason == OUT_OF_MEMORY_REASON)
            raise
        except Exception as exc:  # anything else (an OS account that cannot be used, …): say it, never "see the log"
            self.log.exception("%s could not start", self._log_name)
            await self._report_to_portal(ServerEvent.SPAWN_FAILED, message=f"The server could not start: {exc}"[:500])
            raise

    async def _start(self):
        self._launch_count += 1
        self.exit_reason = ""
        self.oom_kills_reported = 0
        self._progress_events = []
        await self._release_resources()  # whatever an earlier server of this spawner still holds
        self._report(10, "Fetching the launch spec from the portal")
        spec = await self.load_launch_spec()
        per_user = self._per_user()
        limiter = await asyncio.to_thread(detect_limiter)
        gpus = await asyncio.to_thread(self._gpu_inventory)
        containers = await asyncio.to_thread(self.container_runtime_detect) if spec.environment["kind"] == "image" else None
        problems = launch_problems(spec, gpus=gpus, host_cpus=os.cpu_count(), host_memory_bytes=host_memory_bytes(),
                                   containers=containers)
        if problems:
            raise LaunchError(f"This workspace {'; '.join(problems)}.", reason="capacity")
        if limiter.notes:
            self.log.warning("Limits for %s: %s", self._log_name, limiter.notes)
        self._report(30, f"Allocating resources ({_resources_message(spec, limiter.mechanism)})")
        self._spec, self._limiter = spec, limiter
        await asyncio.to_thread(self._release_leftovers, spec, limiter, gpus)
        self.resource_key, self.limiter_mechanism = self._key_for(spec), limiter.mechanism
        try:
            await self._allocate(spec, gpus, limiter)
            self._account = await asyncio.to_thread(ensure_system_user, spec.owner, self.home_root,
                                                    prefix=self.account_prefix) if per_user else None
            self.notebook_dir = await self._prepare_home(spec)
            self._private_view = self._private_view_for(spec) if per_user and self.isolate_mounts else None
            if spec.environment["kind"] == "image":  # see spawner/containers.py
                home, self.notebook_dir = self.notebook_dir, self.container_home
                return await self._start_container(spec, home)
            self.cmd = [spec.environment["python"], "-m", "jupyterhub.singleuser"]
            self._report(60, "Starting the server")
            address = await (self._start_forked(spec) if self._can_fork(spec) else self._start_process())
        except BaseException:
            await self._release_resources()
            raise
        self._report(80, "Server process started; waiting for it to answer")
        await self._wait_until_answering(*address)
        code = self.proc.poll() if self.proc is not None else None
        if code is not None:  # it died on the way up: its own last words are the reason
            key = self.resource_key
            kills = await asyncio.to_thread(lambda: self._current_limiter().oom_kills(key))
            tail = await asyncio.to_thread(self._log_tail, 3)
            await self._release_resources()
            why = "it ran out of memory" if kills else f"exit status {code}"
            raise LaunchError(f"The server exited while starting ({why})" + (f": {tail}" if tail else "."),
                              reason=OUT_OF_MEMORY_REASON if kills else "exited")
        self.process_identity = process_identity(self.pid) or ""
        await asyncio.to_thread(self._liveness().seen, self.resource_key)
        return address

    def _can_fork(self, spec):
        return self.prefork and spec.environment["python"] == sys.executable and bool(self.state_dir)

    async def _start_forked(self, spec):
        """LocalProcessSpawner.start, with the process forked by the zygote instead of exec'd."""
        if self.port == 0:
            self.port = random_port()
        limiter = self._limiter
        join = [str(path / "cgroup.procs") for path in limiter.group_dirs(self.resource_key)] if limiter.mechanism != "rlimit" else []
        request = {"argv": [*self.cmd, *self.get_args()], "env": self.get_env(), "cwd": self.notebook_dir,
                   "user": self._account.name if self._account else None, "join": join,
                   "rlimit_as": spec.memory_bytes if limiter.mechanism == "rlimit" else None,
                   "private_view": self._private_view, "log": self._server_log_path()}
        try:
            zygote = await asyncio.to_thread(Zygote.for_python, spec.environment["python"],
                                             os.path.join(self.state_dir, "zygote"), spec.env)
            self.proc = await asyncio.to_thread(lambda: zygote.spawn(**request))
        except (OSError, ValueError) as exc:
            self.log.warning("%s: the fork server failed (%s); starting a fresh process", self._log_name, exc)
            return await self._start_process()
        self.pid = self.proc.pid
        self.log.info("%s: forked server process %s", self._log_name, self.pid)
        return (self.ip or "127.0.0.1", self.port)

    async def _start_process(self):
        """LocalProcessSpawner.start, with the server's output in its own log file."""
        log = os.open(self._server_log_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.popen_kwargs = {"stdout": log, "stderr": subprocess.STDOUT}
            return await super().start()
        finally:
            os.close(log)  # the server has its own copy

    async def _wait_until_answering(self, ip, port):
        """Until the server answers (any non-5xx, like the hub's check), its process exits, or ready_timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        url = f"http://{ip}:{port}{self.server.base_url if self.server else '/'}api"
        while loop.time() < deadline and self.proc is not None and self.proc.poll() is None:
            try:
                response = await AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=2)
                if response.code < 500:
                    return
            except (OSError, HTTPClientError):  # not listening yet, or too busy to answer within the 2 s
                # (a timeout raises even with raise_error=False: on a loaded host, 20 servers starting at once,
                # one answering late is still starting, not failed; ready_timeout decides)
                pass
            await asyncio.sleep(0.05)

    async def poll(self):
        """The base poll, plus: notice an out-of-memory kill, tell the portal when a server ended on its own
        (and since when it was no longer seen alive), and free the resources of a server that is gone.

        JupyterHub only calls stop() for servers still running, so one that died on its own is released here.
        A server re-adopted after a hub restart is checked by pid *and* start time (spawner/liveness.py).
        """
        key, self._polled_generation = self.resource_key, self.spec_generation  # the base poll clears the state
        status = await (self._poll_container_server() if self.container_launch else self._poll_process())
        if status is None and key and key == self.resource_key and not self._start_pending and not self._spawn_pending:
            # Only what /proc shows running is a sighting (a killed server is a zombie until its parent reaps it).
            if self.container_launch or same_process(self.pid, self.process_identity):
                await asyncio.to_thread(self._liveness().seen, key)
        return status

    async def _poll_process(self):
        launch = self._launch_count
        if self.proc is None and self.pid and not same_process(self.pid, self.process_identity):
            self.clear_state()  # a re-adopted server that died while the hub was away (or a reused pid)
            status = 0
        else:
            status = await super().poll()
        if not self.resource_key or self._start_pending or launch != self._launch_count:
            return status
        key = self.resource_key
        kills = await asyncio.to_thread(lambda: self._current_limiter().oom_kills(key))
        if launch != self._launch_count or self._spawn_pending:
            # A new server started while we looked (a restart): the group now holds it, so
            # releasing here would kill the new server. Its own start already cleaned up.
            return None if self._spawn_pending else status
        if status is not None:
            if not self._stop_pending:
                await self._report_exit(key, status, out_of_memory=kills > 0)
            await self._release_resources()
        elif kills > self.oom_kills_reported:
            # A kernel (not the server) was killed: the server lives on, but the person must know why.
            self.oom_kills_reported = kills
            self.log.warning("A process of %s was killed for using more memory than its limit", self._log_name)
            await self._report_to_portal(ServerEvent.OUT_OF_MEMORY, server_exited=False)
        return status

    async def _report_exit(self, key, status, *, out_of_memory):
        """The server ended without being asked to: tell the portal why and when it was last seen alive
        (its bill ends there), durably, so a portal outage does not lose it."""
        last_seen = await asyncio.to_thread(self._liveness().last_seen, key)
        if out_of_memory:
            self.exit_reason = OUT_OF_MEMORY
            self.log.warning("%s was killed for using more memory than its limit", self._log_name)
        else:
            self.exit_reason = f"exit status {status}"
            self.log.warning("%s ended by itself (exit status %s)", self._log_name, status)
        await self._report_to_portal(ServerEvent.SERVER_EXITED, durable=True, generation=self._polled_generation,
                                     exit_status=status, out_of_memory=out_of_memory,
                                     last_seen_alive=last_seen.isoformat() if last_seen else None,
                                     log_tail=await asyncio.to_thread(self._log_tail))
        await asyncio.to_thread(self._liveness().forget, key)

    def _log_tail(self, lines=5):
        """The last lines the server wrote (its own log), for the person's "why"."""
        try:
            with open(self._server_log_path(), "rb") as log:
                log.seek(max(0, os.fstat(log.fileno()).st_size - 4096))
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(line for line in text.splitlines()[-lines:] if line.strip())[-1000:]

    def _liveness(self):
        return Liveness(os.path.join(self.state_dir, "alive"))

    async def stop(self, now=False):
        """Stop the server, then free its GPUs and remove its limit group with anything left in it. Idempotent."""
        if not self.container_launch:  # a container is stopped and removed by the release
            await super().stop(now=now)
        await self._release_resources()

    async def delete_forever(self):
        """JupyterHub calls this when the portal removes the server (the workspace was deleted). The
        home goes only if the person asked for that; when the portal cannot say, it stays."""
        if not self._storage() or not await self.portal_says_delete_home():
            return
        await asyncio.to_thread(self._storage().delete, self.name)
        self.log.info("%s: deleted the workspace's home, as its owner asked", self._log_name)
        await self._report_to_portal(ServerEvent.HOME_DELETED)

    async def progress(self):
        """start()'s stages as JupyterHub progress events, replayed from the first for every subscriber
        (the portal subscribes afresh each time it looks), then followed until the spawn is no longer pending."""
        sent = 0
        while True:
            events = self._progress_events
            while sent < len(events):
                yield events[sent]
                sent += 1
            if not self._spawn_pending:
                return
            await asyncio.sleep(0.25)

    def make_preexec_fn(self, name):
        """Join the limit group while still privileged, then become the owner's account (per-user mode).

        `name` is the hub's username, which has no OS account: the account comes from the spec.
        """
        join_group = self._limiter.preexec(self.resource_key)
        become_owner = super().make_preexec_fn(self._account.name) if self._account is not None else (lambda: None)
        home, private_view = self.notebook_dir, self._private_view

        def preexec():
            join_group()
            if private_view:
                enter_private_namespace(**private_view)
            become_owner()
            os.chdir(home)  # the workspace's own home, not the account's

        return preexec

    def _private_view_for(self, spec):
        """What the server's mount namespace hides and keeps (see spawner/isolation.py)."""
        python_environment = os.path.dirname(os.path.dirname(spec.environment["python"])) if spec.environment.get("python") else ""
        hidden = [*self.hidden_paths, self.state_dir, self.home_root]
        # Configuration the portal points the server at (the lab's branding) must stay visible too.
        config = [path for path in spec.env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if path]
        return {"hidden": [path for path in hidden if path], "keep": [self.notebook_dir, python_environment, *config]}

    def _server_log_path(self):
        """The server's own output goes to a file of its own (root only), not the hub's: the server outlives
        the hub, and its last lines say why it failed."""
        directory = os.path.join(self.state_dir, "logs")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return os.path.join(directory, f"{self.name}.log")

    def user_env(self, env):
        """USER, HOME and SHELL of the account the server runs as (the base class would look the hub's
        username up in /etc/passwd, where portal users do not exist)."""
        env["USER"] = self._account.name if self._account else pwd.getpwuid(os.getuid()).pw_name
        env["HOME"] = self.notebook_dir
        env["SHELL"] = "/bin/bash"  # for Jupyter terminals; the account itself has no login shell
        return env

    def get_env(self):
        """The spec's `env` under JupyterHub's own variables, and only the allocated GPUs visible."""
        env = {**self._spec.env, **super().get_env()}
        # A hub started without PATH must still give the server (its kernels, its terminals) one.
        if self._spec.environment["kind"] == "local":
            env.setdefault("PATH", f"{os.path.dirname(self._spec.environment['python'])}:/usr/local/bin:/usr/bin:/bin")
        env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpu_indices)  # "" hides every GPU
        return env

    def get_args(self):
        args = super().get_args()
        if self._account is None and os.geteuid() == 0:
            args = [*args, "--allow-root"]  # jupyter-server refuses to run as root otherwise
        return args

    def get_state(self):
        state = super().get_state()
        if self.resource_key:
            state["resources"] = {"key": self.resource_key, "mechanism": self.limiter_mechanism,
                                  "gpus": list(self.gpu_indices), "oom_kills_reported": self.oom_kills_reported}
            if self.container_launch:
                state["resources"]["container"] = True
        if self.process_identity:
            state["process_identity"] = self.process_identity
        if self.spec_generation >= 0:
            state["generation"] = self.spec_generation
        return state

    def load_state(self, state):
        super().load_state(state)
        resources = state.get("resources")
        if resources:
            self.resource_key = resources["key"]
            self.limiter_mechanism = resources["mechanism"]
            self.gpu_indices = resources["gpus"]
            self.container_launch = resources.get("container", False)
            self.oom_kills_reported = resources.get("oom_kills_reported", 0)
        self.process_identity = state.get("process_identity", "")
        self.spec_generation = state.get("generation", -1)
        if self.report_outbox and os.path.isdir(self.report_outbox) and os.listdir(self.report_outbox):
            ReportOutbox.for_spawner(self)  # reports a hub that stopped could not deliver go out now

    def clear_state(self):
        super().clear_state()
        self.process_identity = ""
        self.spec_generation = -1

    async def _allocate(self, spec, gpus, limiter):
        try:
            self.gpu_indices = await asyncio.to_thread(gpus.allocate, self.resource_key, spec.gpus, spec.gpu_type)
        except GpuUnavailable as exc:
            raise LaunchError(f"This workspace {exc}.", reason="gpus") from exc
        try:
            await asyncio.to_thread(limiter.prepare, self.resource_key, memory_bytes=spec.memory_bytes, cpu=spec.cpu)
        except OSError as exc:
            raise LaunchError(f"Could not set up {limiter.mechanism} limits: {exc}", reason="limits") from exc

    async def _release_resources(self):
        """Idempotent: free the GPUs and remove the limit group (killing leftovers) of the last server."""
        if not self.resource_key:
            return
        await asyncio.to_thread(self._release, self.resource_key)
        self.resource_key = self.limiter_mechanism = ""
        self.gpu_indices = []
        self.container_launch = False

    def _release(self, key):
        if self.container_launch:
            self._remove_container(key)
        self._gpu_inventory().release(key)
        self._current_limiter().cleanup(key)  # kills leftovers first, so the home can be unmounted
        if self._storage():
            try:
                self._storage().release(self.name)
            except StorageError as exc:
                self.log.warning("%s: %s", self._log_name, exc)

    def _launch_error(self, message, reason):
        return LaunchError(message, reason=reason)

    def _per_user(self):
        is_root = os.geteuid() == 0
        if self.isolation == "per-user" and not is_root:
            raise LaunchError("isolation = 'per-user' needs the hub to run as root; use 'single-user' or 'auto'.",
                              reason="config")
        return is_root and self.isolation != "single-user"

    def _key_for(self, spec):
        # Unique per hub (by its state_dir), so two hubs on one host never share, or kill, each other's
        # groups; and unique per launch, so a late clean-up of the previous server (a restart) can never
        # reach the new one. The key is kept in the hub's state, so a restarted hub still releases it.
        return f"{self._keys_of(spec)}{secrets.token_hex(3)}"

    def _keys_of(self, spec):
        hub_id = hashlib.sha256(os.path.abspath(self.state_dir).encode()).hexdigest()[:6]
        return f"ws-{spec.workspace_id}-{hub_id}-"

    def _release_leftovers(self, spec, limiter, gpus):
        """A hub that died in the middle of a start never saved that server's key: its limit group (with
        the half-started server in it) and its GPUs are freed when the workspace starts again."""
        prefix = self._keys_of(spec)
        for key in sorted(set(limiter.keys(prefix)) | set(gpus.holders(prefix))):
            self.log.warning("%s: releasing %s, left by a start that was interrupted", self._log_name, key)
            gpus.release(key)
            limiter.cleanup(key)

    def _current_limiter(self):
        if self._limiter is None or self._limiter.mechanism != self.limiter_mechanism:
            self._limiter = detect_limiter(mechanism=self.limiter_mechanism)
        return self._limiter

    def _gpu_inventory(self):
        if self._gpus is None:
            state_file = Path(self.state_dir) / "gpus.json"
            self._gpus = GpuInventory(state_file, self.gpu_devices) if self.gpu_devices else GpuInventory.detect(state_file)
        return self._gpus

    def _storage(self):
        return WorkspaceStorage(self.workspace_root) if self.workspace_root else None

    async def _prepare_home(self, spec):
        """The workspace's own persistent home (see spawner/storage.py), mounted if it is an image."""
        if not self.workspace_root:
            raise LaunchError("PortalLocalSpawner.state_dir (or workspace_root) is not configured.", reason="config")
        owner = (self._account.uid, self._account.gid) if self._account else (None, None)
        try:
            volume = await asyncio.to_thread(self._storage().prepare, spec.server_name, size_bytes=spec.disk_bytes,
                                             uid=owner[0], gid=owner[1])
        except StorageError as exc:
            raise LaunchError(f"Could not prepare the workspace's home: {exc}", reason="storage") from exc
        size = f"{volume.size_bytes / 2**30:.1f} GiB disk ({volume.mechanism})" if volume.mechanism == LOOP else ""
        self._report(50, f"Home ready: {size or volume.note or 'a folder, no disk size asked for'}")
        return volume.path

    def _report(self, progress, message):
        self._progress_events.append({"progress": progress, "message": message})
        self.log.info("%s: %s", self._log_name, message)


def fork_server_prestart(state_dir, warm_up_environment, delay):
    """Start the fork server (spawner/zygote.py), warmed with `warm_up_environment`, `delay` seconds after the hub
    started: the first launch then need not wait for it, and the hub's own start does not share the CPU with it. A
    launch before then starts it itself (and this finds it running)."""
    def start():
        time.sleep(delay)
        try:
            Zygote.for_python(sys.executable, os.path.join(state_dir, "zygote"), warm_up_environment, warm_up_first=True)
        except (OSError, ValueError) as exc:  # the first launch tries again (and falls back to a fresh process)
            print(f"The fork server did not start: {exc}", file=sys.stderr, flush=True)

    threading.Thread(target=start, name="fork-server-prestart", daemon=True).start()


def _resources_message(spec, mechanism):
    gpus = describe(spec.gpus, spec.gpu_type) if spec.gpus else "no GPU"
    limits = "memory capped per process, CPU share not limited" if mechanism == "rlimit" else "limits enforced"
    return f"{spec.cpu:g} CPU, {spec.memory_bytes / 2**30:.1f} GiB memory, {gpus}; {mechanism}: {limits}"

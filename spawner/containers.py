"""Image environments on one machine: the workspace's server runs in a podman container (runtime runc).

The container shares the host's network (`--network host`), so the hub reaches the server on
127.0.0.1:<port> exactly as it reaches a local process; the workspace's home is bind-mounted; podman
applies the memory and CPU limits where the host's cgroups let it. `ContainerLaunch` is the part of
PortalLocalSpawner that runs containers; the command builders are plain functions, tested as lists.
"""

import asyncio
import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from jupyterhub.utils import random_port
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Enum, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

from spawner.spec import CONTAINER_LAB_DIR

OCI_RUNTIME = "runc"  # Debian's podman defaults to crun, which cannot run in every host (nested containers)
ULIMITS = ("nofile=4096:4096", "nproc=4096:4096")  # podman's defaults exceed what a nested host may grant
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Variables LocalProcessSpawner copies from the hub's own environment: host paths, meaningless in an image.
HOST_ONLY_ENV = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_ROOT", "CONDA_DEFAULT_ENV")


@dataclass(frozen=True)
class ContainerRuntime:
    podman: str
    oci_runtime: str
    limits: bool  # whether podman can apply --memory/--cpus here
    note: str = ""


def container_name(resource_key):
    return f"dsw-{resource_key}"


def detect_runtime(setting="auto"):
    """(ContainerRuntime or None, why not). `setting`: auto (podman + runc when both work), podman-runc
    (the same, but its absence is an error worth naming), none (image environments refused)."""
    if setting == "none":
        return None, "container launches are turned off on this hub (container_runtime = 'none')"
    return _probe()


@functools.lru_cache(maxsize=1)
def _probe():
    podman, runc = shutil.which("podman"), shutil.which(OCI_RUNTIME) or _sbin(OCI_RUNTIME)
    if not podman or not runc:
        missing = " and ".join(name for name, path in (("podman", podman), (OCI_RUNTIME, runc)) if not path)
        return None, f"{missing} not installed on this host"
    try:
        # A trial: podman must be able to open its storage and find the runtime.
        probe = subprocess.run([podman, "--runtime", runc, "info", "--format", "json"], capture_output=True, text=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"podman does not work here ({exc})"
    if probe.returncode != 0:
        return None, f"podman does not work here ({probe.stderr.strip()[-300:]})"
    limits, note = _cgroup_limits()
    return ContainerRuntime(podman=podman, oci_runtime=runc, limits=limits, note=note), ""


def _sbin(name):
    path = f"/usr/sbin/{name}"  # not on PATH for every account
    return path if os.access(path, os.X_OK) else None


def _cgroup_limits():
    """Can podman apply memory and CPU limits (as root, cgroupfs)? cgroup v2 with both controllers, or v1
    with writable memory and cpu hierarchies."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        controllers = open("/sys/fs/cgroup/cgroup.controllers").read().split()
        if {"memory", "cpu"} <= set(controllers) and os.geteuid() == 0:
            return True, ""
        return False, "cgroup v2 without the memory and cpu controllers for podman: no memory or CPU limit"
    if os.geteuid() == 0 and all(os.access(f"/sys/fs/cgroup/{name}", os.W_OK) for name in ("memory", "cpu")):
        return True, ""
    return False, "no writable cgroup v1 memory and cpu hierarchies: no memory or CPU limit"


def registry_host(reference):
    return reference.split("/", 1)[0]


def pull_command(runtime, reference, *, auth_file="", insecure=()):
    command = [runtime.podman, "--runtime", runtime.oci_runtime, "pull", "--quiet"]
    if auth_file:
        command.append(f"--authfile={auth_file}")
    if _insecure(reference, insecure):
        command.append("--tls-verify=false")
    return [*command, reference]


def run_command(runtime, *, name, reference, user, home, home_inside, env_file, memory_bytes, cpu, args=(),
                read_only=()):
    """`podman run` for a workspace server: detached, host network, the home mounted as the working
    directory, the environment from a file (never on the command line, where `ps` shows it). `read_only`:
    (host path, path inside) pairs mounted read-only, e.g. the platform's lab configuration."""
    command = [runtime.podman, "--runtime", runtime.oci_runtime, "run", "--detach", "--name", name,
               "--network", "host", "--pull", "never"]
    for limit in ULIMITS:
        command += ["--ulimit", limit]
    # The owner's account (or the hub's, single-user), with no capabilities and no way to gain any through a
    # setuid binary in the image: root in a rootful container is root on the host's files it can reach.
    command += ["--user", user, "--cap-drop", "all", "--security-opt", "no-new-privileges"]
    command += ["--volume", f"{home}:{home_inside}", "--workdir", home_inside, "--env-file", env_file]
    for host_path, inside in read_only:
        command += ["--volume", f"{host_path}:{inside}:ro"]
    if runtime.limits:
        # No swap beyond the memory limit, as with the limiter's memsw/swap.max.
        command += ["--memory", str(memory_bytes), "--memory-swap", str(memory_bytes), "--cpus", f"{cpu:g}"]
    return [*command, reference, "jupyterhub-singleuser", *args]


def inspect_command(runtime, name):
    return [runtime.podman, "--runtime", runtime.oci_runtime, "container", "inspect", "--format",
            "{{json .State}}", name]


def stop_command(runtime, name, *, timeout=10):
    return [runtime.podman, "--runtime", runtime.oci_runtime, "stop", "--ignore", "--time", str(timeout), name]


def remove_command(runtime, name):
    return [runtime.podman, "--runtime", runtime.oci_runtime, "rm", "--force", "--ignore", name]


def env_file_text(env):
    """podman's --env-file format, one NAME=value a line; a value with a newline cannot be passed."""
    lines = []
    for name, value in sorted(env.items()):
        if "\n" in value or "\r" in value:
            raise ValueError(f"environment variable {name} holds a line break, which podman cannot pass")
        lines.append(f"{name}={value}")
    return "".join(f"{line}\n" for line in lines)


def container_outcome(state):
    """From `podman container inspect`'s State (None: no such container): (None, False) while it runs, else
    (exit status, whether podman saw the OOM killer end it). Where conmon cannot watch the container's memory
    cgroup (a nested cgroup v1 host, for one) podman reports OOMKilled false and only the status 137 remains."""
    if state is None:
        return 0, False
    if state.get("Status") in ("running", "created", "configured", "initialized", "paused", "stopping"):
        return None, False
    return state.get("ExitCode") or 0, bool(state.get("OOMKilled"))


def _insecure(reference, insecure):
    host = registry_host(reference)
    # Loopback traffic never leaves the host; other registries only when the admin lists them.
    return host.rsplit(":", 1)[0] in LOOPBACK_HOSTS or host in insecure


async def _run(command, *, timeout, cwd=None):
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, cwd=cwd,
                                                   stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return 124, "", f"timed out after {timeout} s"
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class ContainerLaunch(LoggingConfigurable):
    """PortalLocalSpawner's container half. Expects the spawner's _report, _report_exit, _account, resource_key, _spec,
    state_dir."""

    container_runtime = Enum(
        ["auto", "podman-runc", "none"], default_value="auto", config=True,
        help="""How image environments run. auto / podman-runc: podman with the runc runtime, when both are
        installed and work (as root); none: image environments are refused.""")
    container_home = Unicode("/home/jovyan", config=True, help="Where the workspace's home is mounted inside the container.")
    registry_auth_file = Unicode(
        config=True, help="""A containers-auth.json (podman login --authfile) holding the hub's pull credential,
        e.g. a robot account with pull scope. Default: $PLATFORM_REGISTRY_PULL_AUTH_FILE. Read at each pull.""")
    registry_insecure = List(
        Unicode(), config=True, help="""Registries (host:port) pulled from without TLS verification; loopback
        registries always are. Default: $PLATFORM_REGISTRY_INSECURE, comma-separated.""")
    pull_timeout = Integer(600, config=True, help="Seconds a pull may take.")
    lab_dir = Unicode(
        "", config=True, help=f"""A host folder mounted read-only at {CONTAINER_LAB_DIR} in every container: the
        platform's lab configuration (the portal's launch spec puts its config/ on JUPYTER_CONFIG_PATH, which also
        writes ~/.platform/buckets.json). Empty or missing: nothing is mounted and the image's Jupyter runs as built.""")

    container_launch = False  # whether the current server is a container (saved in the hub's state)

    @default("registry_auth_file")
    def _registry_auth_file_default(self):
        return os.environ.get("PLATFORM_REGISTRY_PULL_AUTH_FILE", "")

    @default("registry_insecure")
    def _registry_insecure_default(self):
        return [host for host in os.environ.get("PLATFORM_REGISTRY_INSECURE", "").split(",") if host.strip()]

    def container_runtime_detect(self):
        return detect_runtime(self.container_runtime)

    async def _start_container(self, spec, host_home):
        """Pull the image, run the server in a container, and return (ip, port) once it answers."""
        runtime, why_not = await asyncio.to_thread(self.container_runtime_detect)
        if runtime is None:  # feasibility refused it already; a race with an uninstall
            raise self._launch_error(f"Cannot run image {spec.environment['reference']}: {why_not}.", "capacity")
        reference = spec.environment["reference"]
        self._report(55, f"Pulling image {reference}")
        auth_file = self.registry_auth_file if self.registry_auth_file and os.path.exists(self.registry_auth_file) else ""
        code, _, err = await _run(pull_command(runtime, reference, auth_file=auth_file, insecure=self.registry_insecure),
                                  timeout=self.pull_timeout)
        if code != 0:
            raise self._launch_error(f"Could not pull image {reference}: {_last_line(err)}", "image")
        self.port = self.port or random_port()
        self.ip, previous_ip = "127.0.0.1", self.ip  # JUPYTERHUB_SERVICE_URL: the server listens on loopback only
        try:
            env = self.get_env()
        finally:
            self.ip = previous_ip
        for name in HOST_ONLY_ENV:
            env.pop(name, None)
        account = self._account
        # Single-user mode: the hub's own account, which owns the homes (root means --allow-root, as for processes).
        user = f"{account.uid}:{account.gid}" if account else f"{os.getuid()}:{os.getgid()}"
        name = container_name(self.resource_key)
        with tempfile.NamedTemporaryFile("w", prefix="dsw-env-", suffix=".list") as env_file:
            os.chmod(env_file.name, 0o600)  # the server's API token is in it
            try:
                env_file.write(env_file_text(env))
            except ValueError as exc:
                raise self._launch_error(f"Cannot start the container: {exc}", "config") from exc
            env_file.flush()
            command = run_command(runtime, name=name, reference=reference, user=user, home=host_home,
                                  home_inside=self.container_home, env_file=env_file.name,
                                  memory_bytes=spec.memory_bytes, cpu=spec.cpu, args=self.get_args(),
                                  read_only=[(self.lab_dir, CONTAINER_LAB_DIR)] if os.path.isdir(self.lab_dir) else [])
            self._report(60, "Starting the container" + ("" if runtime.limits else f" ({runtime.note})"))
            self.container_launch = True
            # conmon (which outlives podman) writes a file named `oom` into its working directory when the
            # OOM killer ends the container: the spawner's state directory, not wherever the hub was started.
            code, _, err = await _run(command, timeout=120, cwd=self.state_dir if os.path.isdir(self.state_dir) else None)
        if code != 0:
            raise self._launch_error(f"Could not start the container: {_last_line(err)}", "container")
        self._report(80, "Container started; waiting for the server to answer")
        await self._wait_for_container(name)
        return "127.0.0.1", self.port

    async def _wait_for_container(self, name):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        url = f"http://127.0.0.1:{self.port}{self.server.base_url if self.server else '/'}api"
        checks = 0
        while loop.time() < deadline:
            try:
                if (await AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=2)).code < 500:
                    return
            except (OSError, HTTPClientError):  # not listening yet, or too busy to answer in 2 s (see local.py)
                pass
            checks += 1
            if checks % 10 == 0 and (await self._container_state(name) or {}).get("Status") != "running":
                return  # it exited: the hub's poll sees that and reports it
            await asyncio.sleep(0.1)

    async def _container_state(self, name):
        runtime, _ = await asyncio.to_thread(self.container_runtime_detect)
        if runtime is None:
            return None
        code, out, _ = await _run(inspect_command(runtime, name), timeout=30)
        if code != 0:
            return None  # no such container
        try:
            return json.loads(out)
        except ValueError:
            return None

    async def _poll_container(self):
        """(None, False) while the container runs, else (its exit status, whether the OOM killer ended it);
        (0, False) when it is gone."""
        return container_outcome(await self._container_state(container_name(self.resource_key)))

    async def _poll_container_server(self):
        """The spawner's poll for a container: when it has ended, say why (out of memory) and release it."""
        if not self.resource_key:
            return 0
        launch = self._launch_count
        status, oom = await self._poll_container()
        if status is None or self._start_pending or self._spawn_pending or launch != self._launch_count:
            return None if self._spawn_pending else status
        if not self._stop_pending:
            await self._report_exit(self.resource_key, status, out_of_memory=oom)
        await self._release_resources()
        return status

    def _remove_container(self, key):
        """Stop and remove the container of resource key `key`, if any. Idempotent, synchronous."""
        runtime, _ = self.container_runtime_detect()
        if runtime is None:
            return
        name = container_name(key)
        for command in (stop_command(runtime, name), remove_command(runtime, name)):
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                self.log.warning("%s: %s failed: %s", name, command[3], result.stderr.strip()[-300:])


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-400:] if lines else "no message"

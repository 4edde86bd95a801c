"""CPU and memory limits for a workspace's local process tree.

A limiter keeps one group per workspace key (e.g. "ws-12" becomes the cgroup "dsw-ws-12").
The strongest mechanism the host actually lets us use is chosen by creating and removing a
real group: cgroup v2, then cgroup v1, then per-process rlimits as a last resort.

Groups are created inside the hub's own cgroup (when it is visible), so limits that apply
to the hub's service also cover its servers, and nothing is created at the host's root.

Limiter API (all three mechanisms):
  prepare(key, *, memory_bytes, cpu)  idempotent; creates the group and sets its limits
  preexec(key)                        a subprocess `preexec_fn` that puts the child in the group
  oom_kills(key) -> int               how often the kernel's OOM killer struck inside the group
  oom_killed(key) -> bool             whether it struck at all
  cleanup(key)                        idempotent; kills what still runs there, removes the group
  keys(prefix) -> [key]               the groups that exist for keys starting with `prefix`
"""

import errno
import os
import re
import resource
import signal
import time
import uuid
from pathlib import Path

KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
CPU_PERIOD_US = 100_000
MIN_CPU_QUOTA_US = 1_000  # the kernel refuses smaller CFS quotas
CLEANUP_TIMEOUT_SECONDS = 10
PROBE_MEMORY_BYTES = 64 * 2**20


class LimiterError(RuntimeError):
    """The host would not set up or tear down a workspace's limits."""


def detect_limiter(root="/sys/fs/cgroup", name_prefix="dsw", *, mechanism=None):
    """The strongest limiter this host lets us use ("cgroup-v2", "cgroup-v1", else "rlimit").

    `mechanism` skips the choice, e.g. to clean up with the mechanism recorded before a hub
    restart, or to force "rlimit"; a cgroup mechanism that does not work here raises LimiterError.
    """
    builders = {"cgroup-v2": _cgroup_v2_limiter, "cgroup-v1": _cgroup_v1_limiter}
    if mechanism == "rlimit":
        return RlimitLimiter()
    if mechanism is not None:
        if mechanism not in builders:
            raise ValueError(f"unknown limiter mechanism {mechanism!r}")
        limiter = builders[mechanism](Path(root), name_prefix)
        if limiter is None or not _works(limiter):
            raise LimiterError(f"{mechanism} limits are not available on this host")
        return limiter
    for build in builders.values():
        limiter = build(Path(root), name_prefix)
        if limiter is not None and _works(limiter):
            return limiter
    return RlimitLimiter()


class _CgroupLimiter:
    notes = ""

    def __init__(self, name_prefix):
        self.name_prefix = name_prefix

    def group_dirs(self, key):
        """The group's directory in each hierarchy it spans."""
        raise NotImplementedError

    def group_parent(self):
        """Where the groups are made (in the first hierarchy)."""
        raise NotImplementedError

    def preexec(self, key):
        """A `preexec_fn` that moves the new process into the group; call it before dropping root."""
        procs_files = [str(directory / "cgroup.procs") for directory in self.group_dirs(key)]

        def join_group():
            pid = str(os.getpid()).encode()
            for path in procs_files:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, pid)
                finally:
                    os.close(fd)

        return join_group

    def cleanup(self, key):
        """Idempotent: SIGKILL everything left in the group, then remove the group."""
        remaining = [directory for directory in self.group_dirs(key) if directory.is_dir()]
        deadline = time.monotonic() + CLEANUP_TIMEOUT_SECONDS
        while remaining:
            for directory in remaining:
                _kill_members(directory)
            remaining = [directory for directory in remaining if not _removed(directory)]
            if remaining and time.monotonic() > deadline:
                raise LimiterError(f"could not remove {', '.join(map(str, remaining))}: its processes would not die")
            if remaining:
                time.sleep(0.05)

    def _group_name(self, key):
        return f"{self.name_prefix}-{check_key(key)}"

    def keys(self, prefix):
        """Keys starting with `prefix` whose group exists (e.g. left by a hub that died mid-start)."""
        start = f"{self.name_prefix}-{prefix}"
        try:
            return sorted(entry.name[len(self.name_prefix) + 1:] for entry in self.group_parent().iterdir()
                          if entry.is_dir() and entry.name.startswith(start))
        except FileNotFoundError:
            return []


class CgroupV1Limiter(_CgroupLimiter):
    mechanism = "cgroup-v1"

    def __init__(self, memory_parent, cpu_parent, name_prefix):
        super().__init__(name_prefix)
        self.memory_parent = Path(memory_parent)
        self.cpu_parent = Path(cpu_parent)

    def group_dirs(self, key):
        name = self._group_name(key)
        return [self.memory_parent / name, self.cpu_parent / name]

    def group_parent(self):
        return self.memory_parent

    def prepare(self, key, *, memory_bytes, cpu):
        """Idempotent: create the group (memory and cpu hierarchies) and set its limits."""
        _check_amounts(memory_bytes, cpu)
        memory, cpu_dir = self.group_dirs(key)
        memory.mkdir(exist_ok=True)
        cpu_dir.mkdir(exist_ok=True)
        memsw = memory / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            _write(memsw, -1)  # memsw may never be below the plain limit: lift it before changing that
        _write(memory / "memory.limit_in_bytes", memory_bytes)
        if memsw.exists():
            _write(memsw, memory_bytes)  # count swap too, so the limit cannot be escaped by swapping
        period = int((cpu_dir / "cpu.cfs_period_us").read_text())
        _write(cpu_dir / "cpu.cfs_quota_us", _quota(cpu, period))

    def oom_kills(self, key):
        return _counter(self.group_dirs(key)[0] / "memory.oom_control", "oom_kill")

    def oom_killed(self, key):
        return self.oom_kills(key) > 0


class CgroupV2Limiter(_CgroupLimiter):
    mechanism = "cgroup-v2"

    def __init__(self, parent, name_prefix):
        super().__init__(name_prefix)
        self.parent = Path(parent)

    def group_dirs(self, key):
        return [self.parent / self._group_name(key)]

    def group_parent(self):
        return self.parent

    def prepare(self, key, *, memory_bytes, cpu):
        """Idempotent: create the group and set its limits.

        Fails (OSError EBUSY) when the parent group itself holds processes and is not the root:
        cgroup v2 only lets leaf groups hold processes once controllers are delegated.
        """
        _check_amounts(memory_bytes, cpu)
        enabled = (self.parent / "cgroup.subtree_control").read_text().split()
        if not {"memory", "cpu"} <= set(enabled):
            _write(self.parent / "cgroup.subtree_control", "+memory +cpu")
        (group,) = self.group_dirs(key)
        group.mkdir(exist_ok=True)
        _write(group / "memory.max", memory_bytes)
        if (group / "memory.swap.max").exists():
            _write(group / "memory.swap.max", 0)  # no escaping the limit by swapping
        _write(group / "cpu.max", f"{_quota(cpu, CPU_PERIOD_US)} {CPU_PERIOD_US}")

    def oom_kills(self, key):
        return _counter(self.group_dirs(key)[0] / "memory.events", "oom_kill")

    def oom_killed(self, key):
        return self.oom_kills(key) > 0


class RlimitLimiter:
    """Last resort without cgroups: caps each process's address space, nothing more."""

    mechanism = "rlimit"
    notes = ("No cgroups available: memory is capped per process with RLIMIT_AS (virtual memory, "
             "so each process separately and memory-mapping-heavy programs such as CUDA may fail early); "
             "CPU share is not limited, out-of-memory kills are not detected, and leftover processes are not tracked.")

    def __init__(self):
        self._memory_limits = {}

    def prepare(self, key, *, memory_bytes, cpu):
        """Idempotent: remember the memory cap for `preexec`; `cpu` cannot be enforced here."""
        _check_amounts(memory_bytes, cpu)
        self._memory_limits[check_key(key)] = memory_bytes

    def preexec(self, key):
        """A `preexec_fn` that caps the new process's address space."""
        if key not in self._memory_limits:
            raise LimiterError(f"prepare({key!r}) first")
        limit = self._memory_limits[key]

        def cap_memory():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        return cap_memory

    def oom_kills(self, key):
        return 0  # rlimits fail allocations (MemoryError) instead of killing

    def oom_killed(self, key):
        return False

    def cleanup(self, key):
        """Idempotent: forget the key."""
        self._memory_limits.pop(key, None)

    def keys(self, prefix):
        return []  # nothing outlives the process that set the limits


def check_key(key):
    """Keys come from our own ids; anything else is refused rather than rewritten, so two keys never share a group."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError(f"invalid limiter key {key!r}: use lowercase letters, digits, '.', '_' and '-'")
    return key


def _cgroup_v1_limiter(root, name_prefix):
    own = _own_cgroups()
    parents = []
    for controller in ("memory", "cpu"):
        mount = root / controller
        if controller not in own or not (mount / "cgroup.procs").exists():
            return None
        parents.append(_visible(mount, own[controller]))
    return CgroupV1Limiter(*parents, name_prefix)


def _cgroup_v2_limiter(root, name_prefix):
    mount = next((path for path in (root, root / "unified") if (path / "cgroup.controllers").exists()), None)
    if mount is None:
        return None
    parent = _visible(mount, _own_cgroups().get("", "/"))
    if not {"memory", "cpu"} <= set((parent / "cgroup.controllers").read_text().split()):
        return None
    return CgroupV2Limiter(parent, name_prefix)


def _own_cgroups():
    """{controller: path} for this process, from /proc/self/cgroup; "" is the cgroup v2 hierarchy."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def _visible(mount, own_path):
    """Our own group under `mount` when this mount namespace shows it, else the mount's root."""
    nested = mount / own_path.lstrip("/")
    return nested if nested.is_dir() else mount


def _works(limiter):
    key = f"probe-{uuid.uuid4().hex[:12]}"  # unique, so concurrent probes never remove each other's group
    try:
        limiter.prepare(key, memory_bytes=PROBE_MEMORY_BYTES, cpu=0.5)
        return True
    except OSError:
        return False
    finally:
        try:
            limiter.cleanup(key)
        except (OSError, LimiterError):
            pass


def _check_amounts(memory_bytes, cpu):
    if memory_bytes <= 0 or cpu <= 0:
        raise ValueError("memory_bytes and cpu must be positive")


def _quota(cpu, period):
    return max(MIN_CPU_QUOTA_US, round(cpu * period))


def _write(path, value):
    path.write_text(f"{value}\n")


def _counter(path, name):
    """A named counter from a flat-keyed cgroup file (e.g. "oom_kill 1"); 0 if the file is gone."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in lines:
        field, _, value = line.partition(" ")
        if field == name:
            return int(value)
    return 0


def _kill_members(directory):
    try:
        pids = (directory / "cgroup.procs").read_text().split()
    except FileNotFoundError:
        return
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _removed(directory):
    try:
        directory.rmdir()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
        return False
    return True

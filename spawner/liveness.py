"""Is a server still the process we started, and when was it last seen alive?

Servers outlive the hub (a restart re-adopts them by pid), so a pid alone is not enough: after a
reboot or a long outage the number may belong to another process, and a server whose parent died
may linger as a zombie that `kill(pid, 0)` still finds. `process_identity` pins a pid to its start
time; `Liveness` keeps, per server, the last moment a poll found it alive. When a server dies while
nobody watched (the hub was down), that moment is where its bill ends: never later than the truth.
"""

import os
from datetime import datetime, timezone
from pathlib import Path


def process_identity(pid):
    """"<pid>:<start time in clock ticks>" for a live process, None for a gone or zombie one."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    state, start_ticks = fields[0], fields[19]  # fields 3 and 22 of proc(5), counted after the command name
    if state in ("Z", "X"):
        return None
    return f"{int(pid)}:{start_ticks}"


def same_process(pid, identity):
    """Whether `pid` is alive and (when `identity` is known) still the process that had it."""
    current = process_identity(pid)
    return current is not None and (not identity or current == identity)


class Liveness:
    """One small file per server key whose modification time is the last moment it was seen alive."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def _path(self, key):
        return self.directory / key

    def seen(self, key, when=None):
        """Record that `key`'s server was alive at `when` (default now). Cheap: one utime."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(key)
        stamp = (when or datetime.now(timezone.utc)).timestamp()
        try:
            os.utime(path, (stamp, stamp))
        except FileNotFoundError:
            path.touch(mode=0o600)
            os.utime(path, (stamp, stamp))

    def last_seen(self, key):
        """The last moment `key`'s server was seen alive (UTC), or None if never recorded."""
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, timezone.utc)
        except FileNotFoundError:
            return None

    def forget(self, key):
        self._path(key).unlink(missing_ok=True)

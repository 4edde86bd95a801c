"""A private view of the file system for each single-user server (as root, on one machine).

A workspace runs its owner's code, so it must not even see the platform's state. Before the
server drops root, it moves into a mount namespace of its own, where:

- every `hidden` directory (the platform's data directory, the hub's) is an empty, read-only
  tmpfs: databases, secrets, the mail spool and other people's homes are simply not there;
- /tmp is a fresh tmpfs (like systemd's PrivateTmp): nothing another workspace or the platform
  left in /tmp is visible, and nothing written there outlives the server;
- /proc is mounted again with `hidepid=invisible`: the platform's processes (and other people's
  kernels) do not appear, so their command lines cannot be read either;
- each `keep` path (the workspace's own home, the server's Python environment) is put back into
  place when a hidden directory covers it: a detached copy of its mount is taken (open_tree) before
  the tmpfs goes on, and moved onto the same path inside the tmpfs afterwards (move_mount).

Mount changes in the namespace never propagate back to the host (everything is made private
first). The functions here run in the forked child, between fork and exec (or the zygote's
equivalent): no threads, no locks, only system calls.
"""

import ctypes
import os

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_REC = 0x4000
MS_PRIVATE = 0x40000

# open_tree(2) and move_mount(2) (Linux 5.2): the same numbers on every architecture's unified table.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.syscall.restype = ctypes.c_long


class IsolationError(OSError):
    """The server's private mount namespace could not be set up; it must not start without it."""


def _call(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise IsolationError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, fstype, flags, options=None):
    _call(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                      options and options.encode()), f"mount {target}")


def _inside(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def plan(*, hidden, keep):
    """(hidden directories, paths to bind back), normalised: absolute, existing, no hidden directory
    inside another (the outer one already hides it), /tmp always hidden. Pure apart from stat()."""
    directories = sorted({os.path.realpath(path) for path in [*hidden, "/tmp"] if path and os.path.isdir(path)})
    outermost = [path for path in directories if not any(other != path and _inside(path, other) for other in directories)]
    kept = sorted({os.path.realpath(path) for path in keep if path and os.path.exists(path)})
    # Binding back a folder that holds a hidden one would uncover it (a Python environment at /tmp/x
    # when the data directory is /tmp/x/var): such a path is not kept.
    kept = [path for path in kept if not any(_inside(directory, path) for directory in directories)]
    return outermost, [path for path in kept if any(_inside(path, directory) for directory in outermost)]


def enter_private_namespace(*, hidden, keep):
    """In the child, as root: unshare the mount namespace and hide what the plan says. Raises
    IsolationError if any step fails (the caller must then not start the server)."""
    # The platform runs with umask 077; the server's own files (and the mount points made here,
    # which the owner must traverse to reach the home) get the usual 022.
    os.umask(0o022)
    directories, bind_back = plan(hidden=hidden, keep=keep)
    _call(_libc.unshare(CLONE_NEWNS), "unshare the mount namespace")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the host
    # Detached copies of what is put back, taken before the tmpfs covers them.
    handles, folders = {}, {path for path in bind_back if os.path.isdir(path)}
    try:
        for path in bind_back:
            handle = _libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | os.O_CLOEXEC | AT_RECURSIVE)
            if handle < 0:
                _call(-1, f"open_tree {path}")
            handles[path] = handle
        for directory in directories:
            mode = "1777" if directory == "/tmp" else "0755"
            _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=1g" if directory == "/tmp"
                   else f"mode={mode},size=1m")
        for path, handle in handles.items():
            if path in folders:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            _call(_libc.syscall(SYS_MOVE_MOUNT, handle, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
                  f"move_mount {path}")
        for directory in directories:
            if directory != "/tmp":  # the covers are read-only: nobody adds files beside the kept paths
                _mount(None, directory, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    finally:
        for handle in handles.values():
            os.close(handle)

"""Each workspace's persistent home: kept across stops and restarts, removed only on request.

A workspace's home is `<root>/<server name>`. As root, when the spec asks for a disk size, the
home is an ext4 file system in a sparse image file (`<root>/<server name>.img`), loop-mounted
while the server runs: writing past the size fails with "No space left on device", and nothing
else on the host fills up. Without root (or with no size), the home is a plain folder and the
size is not enforced; `Volume.mechanism` says which one a workspace got.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from spawner.accounts import make_passage, untraversable

LOOP = "loop-mounted ext4"
FOLDER = "folder"
# noinit_itable: no background zeroing of inode tables, so a sparse image stays sparse.
MOUNT_OPTIONS = "loop,nodev,nosuid,noinit_itable"


class StorageError(OSError):
    """A home that could not be prepared; the message says why."""


@dataclass(frozen=True)
class Volume:
    path: str  # the server's HOME and notebook directory
    mechanism: str  # LOOP or FOLDER
    size_bytes: int  # enforced size; 0 when not enforced
    note: str = ""  # why the size is not what was asked for, if it is not


def can_loop_mount():
    return os.geteuid() == 0 and bool(shutil.which("mkfs.ext4")) and os.path.exists("/dev/loop-control")


class WorkspaceStorage:
    """Homes of the workspaces of one hub, under `root` (which every account must be able to traverse)."""

    def __init__(self, root):
        self.root = Path(root).absolute()

    def home(self, server_name):
        return self.root / server_name

    def image(self, server_name):
        return self.root / f"{server_name}.img"

    def prepare(self, server_name, *, size_bytes, uid=None, gid=None):
        """Idempotent: the workspace's home, created on first use and mounted if it is an image.

        `uid`/`gid` own the home (per-user mode); None keeps the current account."""
        make_passage(self.root)
        if uid is not None and uid != os.geteuid() and untraversable(self.root):
            raise StorageError(f"{untraversable(self.root)}: workspace homes need a root every account can traverse")
        home, image = self.home(server_name), self.image(server_name)
        note = ""
        if image.exists() or (size_bytes and can_loop_mount() and not _has_files(home)):
            size_bytes = self._mount_image(image, home, size_bytes)
            mechanism = LOOP
        else:
            if size_bytes and not can_loop_mount():
                note = "disk size not enforced (needs root and loop devices)"
            elif size_bytes:
                note = "disk size not enforced (this home was created without a size)"
            home.mkdir(mode=0o700, exist_ok=True)
            mechanism, size_bytes = FOLDER, 0
        if uid is not None:
            os.chown(home, uid, gid)
        os.chmod(home, 0o700)
        return Volume(path=str(home), mechanism=mechanism, size_bytes=size_bytes, note=note)

    def release(self, server_name):
        """Idempotent: unmount the home if it is mounted (the data stays in its image)."""
        home = self.home(server_name)
        if _is_mount_point(home):
            # Lazy: a process that outlived the server (single-user mode has no group to kill it)
            # must not keep the home mounted forever; the kernel detaches it once it lets go.
            _run(["umount", "--lazy", str(home)], f"unmount {home}")

    def delete(self, server_name):
        """Idempotent: remove the workspace's home and its image for good."""
        self.release(server_name)
        shutil.rmtree(self.home(server_name), ignore_errors=True)
        self.image(server_name).unlink(missing_ok=True)

    def _mount_image(self, image, home, size_bytes):
        """Create (or grow) the image and mount it on `home`; answers the image's size."""
        if not image.exists():
            image.touch(mode=0o600)
            os.truncate(image, size_bytes)
            _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image)],
                 f"create a {size_bytes}-byte file system for {home}")
        current = image.stat().st_size
        home.mkdir(mode=0o700, exist_ok=True)
        if not _is_mount_point(home):
            if size_bytes > current:  # a bigger profile: grow offline, before mounting
                os.truncate(image, size_bytes)
                # Exit 1 means fsck fixed something (such as the lost+found we removed): fine to go on.
                _run(["e2fsck", "-f", "-p", str(image)], f"check {image} before growing it", ok=(0, 1))
                _run(["resize2fs", "-f", str(image)], f"grow {image}")
                current = size_bytes
            _run(["mount", "-o", MOUNT_OPTIONS, str(image), str(home)], f"mount {home}")
            lost_and_found = home / "lost+found"
            if lost_and_found.is_dir() and not any(lost_and_found.iterdir()):
                lost_and_found.rmdir()  # mkfs's, empty: not the person's business
        return current


def _has_files(path):
    return path.is_dir() and any(path.iterdir())


def _is_mount_point(path):
    target = str(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        return any(line.split()[4] == target for line in mounts)


def _run(command, what, ok=(0,)):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in ok:
        raise StorageError(f"Could not {what}: {(result.stderr or result.stdout).strip() or result.returncode}")

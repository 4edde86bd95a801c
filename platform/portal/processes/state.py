"""The platform's state directory on one machine, and who may read it.

Workspaces run other people's code as other OS accounts on this machine, so nothing under
PLATFORM_DATA_DIR may be open to them: files are 0600 and folders 0700, owned by the platform's
account. The only exceptions are the folders that hold workspace homes (PLATFORM_WORKSPACES_DIR,
PLATFORM_HOMES_DIR) and the folders above them inside the data directory: those are 0711, so an
account can pass through to its own home (0700, its own) without listing anything.

`state_dir_prepare()` makes the folders with those modes; `state_dir_problems()` says what is
wrong with what is there, so `platform_run` can refuse to start rather than expose it.
"""

import os
import stat
from pathlib import Path

from django.conf import settings

# Folders platform_run needs; each is created 0700.
STATE_FOLDERS = ("celery/broker", "celery/control", "celery/broken", "mail", "hub", "run", "logs", "metrics")


def _passages():
    """Folders inside the data directory that other accounts must be able to pass through (0711):
    the roots of the homes and every folder between them and the data directory."""
    data = settings.PLATFORM_DATA_DIR
    passages = set()
    for root in (settings.PLATFORM_WORKSPACES_DIR, settings.PLATFORM_HOMES_DIR):
        root = Path(root)
        if root == data or data in root.parents:
            passages.add(root)
            passages.update(parent for parent in root.parents if parent == data or data in parent.parents)
    return passages


def _home_roots():
    return {Path(settings.PLATFORM_WORKSPACES_DIR), Path(settings.PLATFORM_HOMES_DIR)}


def _sealed():
    """Folders that must be private themselves (0700, the platform's) but whose insides are not the platform's to
    police: the image builds' store holds image layers with their own owners (uid-mapped) and modes, unreachable
    through the sealed folder."""
    return {Path(settings.PLATFORM_BUILD_DIR)}


def state_dir_prepare():
    """Idempotent: the data directory and platform_run's folders, with owner-only modes."""
    data = settings.PLATFORM_DATA_DIR
    passages = _passages()
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in STATE_FOLDERS:
        (data / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    for sealed in _sealed():
        sealed.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(sealed, 0o700)
    for passage in sorted(passages):
        passage.mkdir(mode=0o711, parents=True, exist_ok=True)
        os.chmod(passage, 0o711)
    if data not in passages:
        os.chmod(data, 0o700)
    # The embedded object store writes some files 0644 whatever the umask (buckets/server.py).
    from buckets.server import weed_data_private

    weed_data_private(data / "s3")


def metrics_dir_reset():
    """Empty the metric files of the previous run (PLATFORM_METRICS_DIR): prometheus_client keeps one file per
    process id, and ids are reused; counters start again from zero, which Prometheus's rate() expects after a
    restart. Call before any child starts."""
    folder = settings.PLATFORM_METRICS_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        path.unlink(missing_ok=True)


def state_dir_problems(*, limit=10):
    """Up to `limit` lines naming state other accounts could read or change, or [] when all is private.

    Homes themselves are their owners' business and are not looked into."""
    data = settings.PLATFORM_DATA_DIR
    if not data.exists():
        return []
    passages, home_roots, sealed, uid = _passages(), _home_roots(), _sealed(), os.geteuid()
    problems = []

    def check(path, info, allowed):
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != uid:
            problems.append(f"{path} belongs to uid {info.st_uid}, not the platform's account (uid {uid})")
        elif mode & ~allowed & 0o077:
            problems.append(f"{path} is mode {mode:04o}; it must be at most {allowed:04o}")

    check(data, data.lstat(), 0o711 if data in passages else 0o700)
    for top, folders, files in os.walk(data):
        top = Path(top)
        for name in list(folders):
            path = top / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                continue
            check(path, info, 0o711 if path in passages else 0o700)
            if path in home_roots or path in sealed:
                folders.remove(name)  # each home is its owner's (0700); the spawner sets it up
        for name in files:
            path = top / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                check(path, info, 0o600)
            elif stat.S_ISSOCK(info.st_mode):
                check(path, info, 0o700)
        if len(problems) >= limit:
            break
    return problems[:limit]


def state_dir_fix_command():
    """The shell command that makes an existing data directory private again."""
    data = settings.PLATFORM_DATA_DIR
    passages = " ".join(str(path) for path in sorted(_passages()))
    keep_homes = " ".join(f"-path {root} -prune -o" for root in sorted(_home_roots() | _sealed()))
    command = f"find {data} {keep_homes} -exec chmod go-rwx {{}} +"
    return f"{command} && chmod 0711 {passages}" if passages else command

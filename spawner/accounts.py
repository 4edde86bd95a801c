"""One OS account per portal user, so one person's server cannot read another person's files.

Needs root (useradd). Accounts are named "<prefix><system name>", have no password (locked) and
no login shell, and a private home (mode 0700). The portal username is recorded in the
account's comment field; an existing account recorded for someone else is never reused.

Accounts are machine-wide, so each platform instance names its accounts with a prefix of its own
(PLATFORM_ACCOUNT_PREFIX, by default derived from its data directory): two instances, or the
test suite and a `make run`, never share or fight over an account.
"""

import hashlib
import os
import pwd
import re
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_PREFIX = "dsw-"  # the default; instances set their own
MAX_ACCOUNT_NAME = 32  # useradd's limit
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
PREFIX = re.compile(r"[a-z][a-z0-9]{0,11}-")
USERADD_NAME_IN_USE = 9


class AccountError(RuntimeError):
    """The OS account for a portal user could not be set up safely."""


@dataclass(frozen=True)
class SystemAccount:
    name: str
    uid: int
    gid: int
    home: str


def instance_prefix(data_dir):
    """The default account prefix of the platform instance whose state is in `data_dir`: "dsw", five
    characters derived from the folder, and "-" (e.g. "dsw3fa9c-")."""
    return "dsw" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:5] + "-"


def check_prefix(prefix):
    """Account prefixes are a lowercase letter, up to 11 more letters or digits, and a '-'."""
    if not isinstance(prefix, str) or not PREFIX.fullmatch(prefix):
        raise ValueError(f"invalid account prefix {prefix!r}: use a lowercase letter, up to 11 letters or digits, "
                         "then '-' (e.g. 'dsw-')")
    return prefix


def system_name(portal_username, prefix=ACCOUNT_PREFIX):
    """The portal username made safe for OS account and directory names, without collisions.

    Already-safe names are kept as they are; any other name becomes a readable stem plus a
    hash of the original, so "Alice" and "alice" never share an account.
    """
    limit = MAX_ACCOUNT_NAME - len(prefix)
    if SAFE_NAME.fullmatch(portal_username) and len(portal_username) <= limit:
        return portal_username
    digest = hashlib.sha256(portal_username.encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9_-]+", "-", portal_username.lower()).strip("-_")[:limit - len(digest) - 1]
    return f"{stem or 'user'}-{digest}"


def account_name(portal_username, prefix=ACCOUNT_PREFIX):
    return check_prefix(prefix) + system_name(portal_username, prefix)


def ensure_system_user(portal_username, home_root, *, prefix=ACCOUNT_PREFIX):
    """Idempotent: the locked OS account for `portal_username`, created with its home if missing.

    The home is `<home_root>/<account name>`, mode 0700, owned by the account.
    """
    home_root = Path(home_root).absolute()
    name = account_name(portal_username, prefix)
    home = home_root / name
    comment = f"portal user {portal_username}"
    _check_reachable(home_root)
    entry = _existing(name)
    if entry is None:
        result = subprocess.run(["useradd", "--comment", comment, "--home-dir", str(home), "--no-create-home",
                                 "--shell", "/usr/sbin/nologin", "--user-group", name],
                                capture_output=True, text=True)
        if result.returncode not in (0, USERADD_NAME_IN_USE):  # in use: a concurrent call just made it
            raise AccountError(f"useradd {name} failed: {result.stderr.strip()}")
        entry = pwd.getpwnam(name)
    if entry.pw_gecos != comment:
        raise AccountError(f"OS account {name} exists but belongs to {entry.pw_gecos!r}, not portal user {portal_username!r}")
    if entry.pw_dir != str(home):
        raise AccountError(f"OS account {name} has home {entry.pw_dir}, expected {home}; was home_root changed?")
    make_passage(home_root)
    home.mkdir(mode=0o700, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    return SystemAccount(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=str(home))


def remove_system_users(prefix):
    """Remove every account this instance made (named with `prefix`, recorded for a portal user), with
    its home. For tests and for uninstalling; answers the names removed."""
    check_prefix(prefix)
    removed = []
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(prefix) and entry.pw_gecos.startswith("portal user "):
            subprocess.run(["pkill", "--signal", "KILL", "--uid", str(entry.pw_uid)], capture_output=True)
            for _ in range(50):  # userdel refuses while a killed process has not quite gone
                if subprocess.run(["userdel", "--remove", entry.pw_name], capture_output=True).returncode in (0, 6):
                    removed.append(entry.pw_name)
                    break
                time.sleep(0.1)
    return removed


def _existing(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _check_reachable(home_root):
    problem = untraversable(home_root)
    if problem:
        raise AccountError(f"{problem}; use a home_root they can traverse")


def make_passage(path):
    """Create `path` and any missing folders above it as 0711 (whatever the umask): other accounts may pass
    through to their own homes inside, but not list them."""
    path = Path(path)
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(exist_ok=True)
            folder.chmod(0o711)


def untraversable(path):
    """Why other accounts cannot reach `path` (an existing ancestor they may not pass through), or ""."""
    path = Path(path)
    for directory in [path, *path.parents]:
        if directory.exists() and not directory.stat().st_mode & stat.S_IXOTH:
            return (f"{directory} (mode {stat.S_IMODE(directory.stat().st_mode):04o}) does not let "
                    f"other accounts reach {path}")
    return ""

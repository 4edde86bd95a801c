"""Per-user OS accounts: real useradd, real file permissions, checked by running commands as those accounts."""

import os
import pwd
import stat
import subprocess
from pathlib import Path

import pytest

from spawner.accounts import AccountError, ensure_system_user, system_name


@pytest.mark.parametrize("portal_username, expected", [
    ("alice", "alice"),
    ("data_sci-2", "data_sci-2"),
])
def test_safe_names_are_kept(portal_username, expected):
    assert system_name(portal_username) == expected


@pytest.mark.parametrize("first, second", [
    ("Alice", "alice"),
    ("alice.b", "alice-b"),
    ("a@b.example", "a-b-example"),
    ("x" * 40, "x" * 41),
    ("..", "user"),
])
def test_unsafe_names_never_collide_and_are_usable(first, second):
    assert system_name(first) != system_name(second)
    for name in (system_name(first), system_name(second)):
        assert len("dsw-" + name) <= 32
        assert name.replace("-", "").replace("_", "").isalnum() and name == name.lower()


def run_as(account, *command):
    return subprocess.run(command, user=account.uid, group=account.gid, extra_groups=[],
                          capture_output=True, text=True, timeout=30)


def test_accounts_are_locked_private_and_idempotent(portal_users, shared_dir):
    name = portal_users("carol")
    account = ensure_system_user(name, shared_dir)
    assert ensure_system_user(name, shared_dir) == account

    entry = pwd.getpwnam(account.name)
    assert account.name == f"dsw-{name}"
    assert (entry.pw_uid, entry.pw_gid, entry.pw_dir) == (account.uid, account.gid, account.home)
    assert entry.pw_shell == "/usr/sbin/nologin"
    shadow = next(line for line in Path("/etc/shadow").read_text().splitlines() if line.startswith(account.name + ":"))
    assert shadow.split(":")[1].startswith("!")  # no password can ever match
    home = Path(account.home)
    assert home.parent == shared_dir
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home.stat().st_uid, home.stat().st_gid) == (account.uid, account.gid)


def test_one_account_cannot_read_anothers_home(portal_users, shared_dir):
    alice = ensure_system_user(portal_users("alice"), shared_dir)
    bob = ensure_system_user(portal_users("bob"), shared_dir)
    for account in (alice, bob):
        secret = Path(account.home) / "notes.txt"
        secret.write_text(f"{account.name}'s notes\n")
        secret.chmod(0o644)  # even a world-readable file: the home's 0700 is what protects it
        os.chown(secret, account.uid, account.gid)

    own = run_as(alice, "cat", f"{alice.home}/notes.txt")
    assert own.returncode == 0 and own.stdout == f"{alice.name}'s notes\n"
    other = run_as(alice, "cat", f"{bob.home}/notes.txt")
    assert other.returncode != 0 and "Permission denied" in other.stderr
    listing = run_as(alice, "ls", bob.home)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr


def test_an_account_recorded_for_someone_else_is_never_reused(portal_users, shared_dir):
    name = portal_users("dave")
    subprocess.run(["useradd", "--comment", "someone else", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", f"dsw-{name}"], check=True)
    with pytest.raises(AccountError, match="belongs to 'someone else'"):
        ensure_system_user(name, shared_dir)


def test_a_home_root_other_accounts_cannot_reach_is_refused(portal_users, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(AccountError, match="does not let other accounts reach"):
        ensure_system_user(portal_users("erin"), private / "homes")

"""Workspace homes: real loop-mounted ext4 images as root, plain folders otherwise."""

import errno
import os
from pathlib import Path

import pytest

from spawner.storage import FOLDER, LOOP, StorageError, WorkspaceStorage, can_loop_mount

MiB = 2**20


@pytest.fixture
def loop_mounts():
    if not can_loop_mount():
        pytest.skip("needs root, mkfs.ext4 and loop devices (CI runs as root with them)")


@pytest.fixture
def storage(shared_dir):
    storage = WorkspaceStorage(shared_dir / "workspaces")
    yield storage
    for image in storage.root.glob("*.img"):
        storage.release(image.stem)  # never leave a mount behind a failed test


def is_mounted(path):
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        return any(line.split()[4] == str(path) for line in mounts)


def fill(path, megabytes):
    with open(path, "wb") as file:
        for _ in range(megabytes):
            file.write(b"\0" * MiB)
            file.flush()
            os.fsync(file.fileno())


def test_a_sized_home_is_a_mounted_image_that_refuses_to_overflow(loop_mounts, storage):
    volume = storage.prepare("ws-1", size_bytes=32 * MiB)
    assert (volume.mechanism, volume.size_bytes, volume.note) == (LOOP, 32 * MiB, "")
    assert is_mounted(volume.path) and os.stat(volume.path).st_mode & 0o777 == 0o700
    assert not (Path(volume.path) / "lost+found").exists()
    with pytest.raises(OSError) as full:
        fill(Path(volume.path) / "big", 40)
    assert full.value.errno == errno.ENOSPC
    assert storage.image("ws-1").stat().st_blocks * 512 < 40 * MiB  # sparse: the host only pays for what is used


def test_the_home_survives_a_stop_and_grows_with_a_bigger_profile(loop_mounts, storage):
    home = Path(storage.prepare("ws-2", size_bytes=16 * MiB).path)
    (home / "notebook.ipynb").write_text("{}")
    storage.release("ws-2")
    assert not is_mounted(home) and not (home / "notebook.ipynb").exists()  # the files live in the image

    grown = storage.prepare("ws-2", size_bytes=48 * MiB)
    assert grown.size_bytes == 48 * MiB and (home / "notebook.ipynb").read_text() == "{}"
    fill(home / "more", 30)  # would not have fitted in 16 MiB
    storage.release("ws-2")
    storage.release("ws-2")  # idempotent


def test_a_home_is_owned_by_its_account(loop_mounts, storage):
    volume = storage.prepare("ws-3", size_bytes=16 * MiB, uid=12345, gid=12345)
    assert (os.stat(volume.path).st_uid, os.stat(volume.path).st_gid) == (12345, 12345)


def test_delete_removes_the_home_and_its_image(loop_mounts, storage):
    home = Path(storage.prepare("ws-4", size_bytes=16 * MiB).path)
    (home / "data.csv").write_text("a,b\n")
    storage.delete("ws-4")
    assert not home.exists() and not storage.image("ws-4").exists() and not is_mounted(home)
    storage.delete("ws-4")  # idempotent


def test_without_a_size_the_home_is_a_folder(storage):
    volume = storage.prepare("ws-5", size_bytes=0)
    assert (volume.mechanism, volume.size_bytes, volume.note) == (FOLDER, 0, "")
    assert Path(volume.path).is_dir() and not is_mounted(volume.path)
    storage.delete("ws-5")
    assert not Path(volume.path).exists()


def test_an_existing_folder_home_is_never_hidden_under_a_new_image(storage):
    home = storage.home("ws-6")
    home.mkdir(parents=True)
    (home / "thesis.tex").write_text("keep me")
    volume = storage.prepare("ws-6", size_bytes=16 * MiB)
    assert volume.mechanism == FOLDER and "not enforced" in volume.note
    assert (home / "thesis.tex").read_text() == "keep me"


def test_homes_other_accounts_cannot_reach_are_refused(root, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(StorageError, match="does not let other accounts reach"):
        WorkspaceStorage(private / "workspaces").prepare("ws-7", size_bytes=0, uid=12345, gid=12345)


def test_one_account_cannot_read_anothers_workspace_home(portal_users, storage):
    import subprocess

    from spawner.accounts import ensure_system_user

    alice, bob = (ensure_system_user(portal_users(name), storage.root.parent / "homes") for name in ("alice", "bob"))
    volume = storage.prepare("ws-8", size_bytes=16 * MiB if can_loop_mount() else 0, uid=alice.uid, gid=alice.gid)
    secret = Path(volume.path) / "secret.txt"
    secret.write_text("alice's")
    os.chown(secret, alice.uid, alice.gid)

    def read_as(account):
        return subprocess.run(["runuser", "-u", account.name, "--", "cat", str(secret)], capture_output=True, text=True)

    assert read_as(alice).stdout == "alice's"
    denied = read_as(bob)
    assert denied.returncode != 0 and "Permission denied" in denied.stderr

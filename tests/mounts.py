"""Clean-up of directories that may still hold workspace homes mounted into them (no Django: benchmarks use it)."""

import shutil
import subprocess


def remove_tree_and_mounts(directory):
    """Remove a test's directory, unmounting first any workspace home still mounted in it."""
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        inside = [line.split()[4] for line in mounts if line.split()[4].startswith(f"{directory}/")]
    for mount_point in sorted(inside, reverse=True):
        subprocess.run(["umount", "--lazy", mount_point], capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)

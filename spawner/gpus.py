"""Which GPUs a workspace may use: exclusive allocations that survive hub restarts.

Allocations live in a JSON state file; every change happens under an fcntl lock on a
sidecar lock file and is written atomically (write, fsync, rename), so separate processes
and restarts never hand the same device to two workspaces.
"""

import fcntl
import json
import os
import shutil
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

VENDOR_WORDS = {"nvidia", "tesla", "geforce", "quadro"}


class GpuUnavailable(RuntimeError):
    """Not enough matching free GPUs; the message is written for people ("needs 2 × h100 GPUs, 1 free of 4")."""


class GpuInventory:
    def __init__(self, state_file, devices):
        """`devices`: [{"index": "0", "type": "h100"}, ...]; types compare case-insensitively."""
        self.state_file = Path(state_file)
        self.devices = [{"index": str(device["index"]), "type": str(device["type"]).lower()} for device in devices]

    @classmethod
    def detect(cls, state_file):
        """The NVIDIA GPUs `nvidia-smi` reports; no devices when nvidia-smi is not installed."""
        binary = shutil.which("nvidia-smi")
        if binary is None:
            return cls(state_file, [])
        result = subprocess.run([binary, "--query-gpu=index,name", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"nvidia-smi failed: {result.stderr.strip() or result.stdout.strip()}")
        devices = []
        for line in result.stdout.splitlines():
            if line.strip():
                index, name = (part.strip() for part in line.split(",", 1))
                devices.append({"index": index, "type": gpu_type_from_name(name)})
        return cls(state_file, devices)

    def can_satisfy(self, count, gpu_type=""):
        """(ok, message): could this host ever run `count` GPUs of `gpu_type`, ignoring current use?"""
        total = len(self._matching(gpu_type))
        if total >= count:
            return True, ""
        return False, f"needs {describe(count, gpu_type)}, this host has {self._summary()}"

    def allocate(self, key, count, gpu_type=""):
        """Give `key` exactly `count` free devices of `gpu_type` ("" = any type); returns their indices.

        Idempotent: a key that already holds such a set gets the same devices back. Raises
        GpuUnavailable (and changes nothing) when not enough matching devices are free.
        """
        with self._allocations() as allocations:
            held = allocations.pop(key, [])
            matching = self._matching(gpu_type)
            if len(held) == count and set(held) <= set(matching):
                chosen = held
            else:
                busy = {index for indices in allocations.values() for index in indices}
                free = [index for index in matching if index not in busy]
                if len(free) < count:
                    raise GpuUnavailable(f"needs {describe(count, gpu_type)}, {len(free)} free of {len(matching)}")
                chosen = free[:count]
            if chosen:
                allocations[key] = chosen
            return chosen

    def release(self, key):
        """Idempotent: free whatever `key` holds."""
        with self._allocations() as allocations:
            allocations.pop(key, None)

    def holders(self, prefix=""):
        """Keys that hold devices, those starting with `prefix`."""
        with self._allocations() as allocations:
            return sorted(key for key in allocations if key.startswith(prefix))

    def _matching(self, gpu_type):
        return [device["index"] for device in self.devices if not gpu_type or device["type"] == gpu_type.lower()]

    def _summary(self):
        if not self.devices:
            return "no GPUs"
        counts = Counter(device["type"] for device in self.devices)
        return ", ".join(f"{count} × {gpu_type}" for gpu_type, count in sorted(counts.items()))

    @contextmanager
    def _allocations(self):
        """The recorded allocations, under an exclusive lock; saved only if the block succeeds."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_name(self.state_file.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            allocations = self._read()
            yield allocations
            self._write(allocations)

    def _read(self):
        try:
            return json.loads(self.state_file.read_text())["allocations"]
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError) as exc:
            raise RuntimeError(f"GPU allocation state {self.state_file} is unreadable ({exc}); fix or remove it") from exc

    def _write(self, allocations):
        temporary = self.state_file.with_name(self.state_file.name + ".tmp")
        with open(temporary, "w") as handle:
            json.dump({"allocations": allocations}, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.state_file)


def gpu_type_from_name(name):
    """A short type for matching profiles: "NVIDIA H100 80GB HBM3" -> "h100", "Tesla T4" -> "t4"."""
    words = [word for word in name.lower().replace("-", " ").split() if word not in VENDOR_WORDS]
    return words[0] if words else name.lower()


def describe(count, gpu_type=""):
    """ "2 × h100 GPUs", "1 GPU"."""
    noun = "GPU" if count == 1 else "GPUs"
    return f"{count} × {gpu_type} {noun}" if gpu_type else f"{count} {noun}"

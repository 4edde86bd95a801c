"""Can this host run a launch spec at all? Checked before anything is allocated or started."""

import os


def launch_problems(spec, *, gpus, host_cpus, host_memory_bytes):
    """Reasons this host can never run `spec`, each phrased "needs …" for people; empty if it can.

    `gpus` is the host's GpuInventory; capacity is compared, not current use.
    """
    problems = []
    environment = spec.environment
    if environment["kind"] == "image":
        problems.append(f"needs a container runtime for image {environment['reference']}, "
                        "but this hub runs workspaces as local processes")
    elif not os.access(environment["python"], os.X_OK):
        problems.append(f"needs the Python at {environment['python']}, which is not an executable on this host")
    if spec.cpu > host_cpus:
        problems.append(f"needs {spec.cpu:g} CPU cores, this host has {host_cpus}")
    if spec.memory_bytes > host_memory_bytes:
        problems.append(f"needs {_gib(spec.memory_bytes)} of memory, this host has {_gib(host_memory_bytes)}")
    enough_gpus, message = gpus.can_satisfy(spec.gpus, spec.gpu_type)
    if not enough_gpus:
        problems.append(message)
    return problems


def host_memory_bytes():
    """Physical memory, from /proc/meminfo."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/meminfo has no MemTotal")


def _gib(size):
    return f"{size / 2**30:.1f} GiB"

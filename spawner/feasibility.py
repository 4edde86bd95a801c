"""Can this host run a launch spec at all? Checked before anything is allocated or started."""

import os


def launch_problems(spec, *, gpus, host_cpus, host_memory_bytes, containers=None):
    """Reasons this host can never run `spec`, each phrased "needs …" for people; empty if it can.

    `gpus` is the host's GpuInventory; capacity is compared, not current use. `containers` is
    spawner.containers.detect_runtime()'s (runtime or None, why not), for image environments.
    """
    problems = []
    environment = spec.environment
    if environment["kind"] == "image":
        runtime, why_not = containers or (None, "")
        if runtime is None:
            problems.append(f"needs a container runtime for image {environment['reference']}, "
                            f"but this hub runs workspaces as local processes ({why_not or 'none configured'})")
        elif spec.gpus:
            problems.append("needs GPUs inside a container, which this hub does not pass through yet")
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

"""The launch spec: what the portal tells the spawner to run (served as JSON by the portal).

`LaunchSpec.from_dict` is the only way in, and it is strict: the spawner runs whatever
passes it, so anything unexpected is refused with the name of the field at fault.
"""

import math
import os
import re
from dataclasses import asdict, dataclass

IMAGE_REFERENCE = re.compile(r"[^\s@]+@sha256:[0-9a-f]{64}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Where an image workspace finds the platform's lab configuration (workspaces/lab): mounted read-only there by
# the local spawner, copied there by docker/singleuser.Dockerfile for Kubernetes. Absent in a catalog image that
# does not build FROM ours: Jupyter skips a missing config path, and the server runs as its image built it.
CONTAINER_LAB_DIR = "/opt/dsw/lab"


class ServerEvent:
    """What the spawner reports to the portal (`POST /api/internal/server-event/`, field `event`); both sides
    use these names. Every report carries `user`, `server` and, once the spec is known, `generation`."""

    SPAWN_FAILED = "spawn_failed"  # the start was refused or failed: `message`, `out_of_memory`
    SERVER_EXITED = "server_exited"  # it ended without being asked to: `exit_status`, `out_of_memory`, `last_seen_alive`, `log_tail`
    OUT_OF_MEMORY = "out_of_memory"  # the OOM killer took a process but the server lives on
    HOME_DELETED = "home_deleted"  # a deleted workspace's home is gone, as its owner asked
    ALL = (SPAWN_FAILED, SERVER_EXITED, OUT_OF_MEMORY, HOME_DELETED)


class LaunchSpecError(ValueError):
    """A launch spec the spawner must not run; `field` names the part at fault."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LaunchSpec:
    workspace_id: int
    generation: int
    owner: str
    team: str
    profile: str
    server_name: str
    cpu: float
    memory_bytes: int
    gpus: int
    gpu_type: str
    disk_bytes: int
    environment: dict
    env: dict
    idle_timeout_seconds: int

    @classmethod
    def from_dict(cls, data):
        """Validate `data` (parsed JSON) and build the spec; raises LaunchSpecError."""
        if not isinstance(data, dict):
            raise LaunchSpecError("spec", "must be a JSON object")
        expected = set(cls.__dataclass_fields__)
        unknown, missing = sorted(set(data) - expected), sorted(expected - set(data))
        if unknown:
            raise LaunchSpecError(unknown[0], "is not a launch spec field")
        if missing:
            raise LaunchSpecError(missing[0], "is required")
        return cls(
            workspace_id=_integer(data, "workspace_id", minimum=1),
            generation=_integer(data, "generation", minimum=0),
            owner=_text(data, "owner", required=True),
            team=_text(data, "team", required=True),
            profile=_text(data, "profile", required=True),
            server_name=_server_name(data),
            cpu=_cores(data),
            memory_bytes=_integer(data, "memory_bytes", minimum=1),
            gpus=_integer(data, "gpus", minimum=0),
            gpu_type=_text(data, "gpu_type", required=False),
            disk_bytes=_integer(data, "disk_bytes", minimum=0),
            environment=_environment(data["environment"]),
            env=_env(data["env"]),
            idle_timeout_seconds=_integer(data, "idle_timeout_seconds", minimum=0),
        )

    def to_dict(self):
        """The JSON-ready form; `LaunchSpec.from_dict(spec.to_dict()) == spec`."""
        return asdict(self)


def _integer(data, field, *, minimum):
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise LaunchSpecError(field, f"must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise LaunchSpecError(field, f"must be at least {minimum}")
    return value


def _text(data, field, *, required):
    value = data[field]
    if not isinstance(value, str):
        raise LaunchSpecError(field, f"must be a string, not {type(value).__name__}")
    if required and not value:
        raise LaunchSpecError(field, "must not be empty")
    return value


def _server_name(data):
    value = _text(data, "server_name", required=True)
    if "/" in value:
        raise LaunchSpecError("server_name", "must not contain '/'")
    return value


def _cores(data):
    value = data["cpu"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LaunchSpecError("cpu", f"must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise LaunchSpecError("cpu", "must be a positive number of cores")
    return float(value)


def _environment(value):
    if not isinstance(value, dict):
        raise LaunchSpecError("environment", "must be an object")
    kind = value.get("kind")
    if kind == "local":
        _exact_keys(value, {"kind", "python"})
        python = value["python"]
        if not isinstance(python, str) or not os.path.isabs(python):
            raise LaunchSpecError("environment.python", "must be an absolute path to a python executable")
        return {"kind": "local", "python": python}
    if kind == "image":
        _exact_keys(value, {"kind", "reference"})
        reference = value["reference"]
        if not isinstance(reference, str) or not IMAGE_REFERENCE.fullmatch(reference):
            raise LaunchSpecError("environment.reference",
                                  "must be pinned by digest (registry/repo@sha256:<64 hex>), not a floating tag")
        return {"kind": "image", "reference": reference}
    raise LaunchSpecError("environment.kind", "must be 'local' or 'image'")


def _exact_keys(value, keys):
    unknown, missing = sorted(set(value) - keys), sorted(keys - set(value))
    if unknown:
        raise LaunchSpecError(f"environment.{unknown[0]}", "is not allowed for this kind")
    if missing:
        raise LaunchSpecError(f"environment.{missing[0]}", "is required")


def _env(value):
    if not isinstance(value, dict):
        raise LaunchSpecError("env", "must be an object of strings")
    for name, text in value.items():
        if not ENV_NAME.fullmatch(name):
            raise LaunchSpecError(f"env.{name}", "is not a valid environment variable name")
        if not isinstance(text, str) or "\0" in text:
            raise LaunchSpecError(f"env.{name}", "must be a string without NUL characters")
    return dict(value)

"""Experiment names and artifact paths, and the project each belongs to. Pure: no Django, no MLflow.

A project's experiment namespace is its `team/project` path (the name `Project.__str__` gives): the experiment
of that name, and every experiment whose name starts with `team/project/`. Its artifacts live under
`team/project/` in the platform's tracking bucket (the experiment's artifact location is set by the portal,
never by a client), so an artifact URL names its project too.
"""

import re
from dataclasses import dataclass

_SLUG = r"[a-z0-9][a-z0-9-]*"
_NAME = re.compile(rf"({_SLUG})/({_SLUG})(?:/(.+))?")


@dataclass(frozen=True)
class ProjectKey:
    team: str
    project: str

    def __str__(self):
        return f"{self.team}/{self.project}"


def project_of_experiment(name):
    """The project an experiment name belongs to, or None (a name outside every project namespace)."""
    match = _NAME.fullmatch((name or "").strip())
    if match is None or (match.group(3) is not None and not match.group(3).strip()):
        return None
    return ProjectKey(match.group(1), match.group(2))


def artifact_location(key):
    """Where the experiments of a project keep their artifacts (MLflow's proxied-artifacts scheme): the
    project's prefix in the tracking bucket."""
    return f"mlflow-artifacts:/{key.team}/{key.project}"


def project_of_artifact_path(path):
    """The project an artifact path (below `mlflow-artifacts/artifacts/`) belongs to, or None. Paths with
    empty, `.` or `..` segments or backslashes name no project: a client must not walk out of its prefix."""
    if not path or "\\" in path:
        return None
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or len(parts) < 2:
        return None
    if not (re.fullmatch(_SLUG, parts[0]) and re.fullmatch(_SLUG, parts[1])):
        return None
    return ProjectKey(parts[0], parts[1])

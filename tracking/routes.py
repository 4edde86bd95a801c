"""Which MLflow route a request is, and what it touches. Pure: a table, tested as one.

The platform answers for MLflow: every request through /mlflow/ is matched here, and anything not in the table
is refused (MLflow grows routes every release; a new one stays closed until someone reads what it does). A
rule names the access it needs (read or write) and where the request names its resource:

- `experiment`: `experiment_id` (query or JSON body);
- `experiments`: `experiment_ids`, every one;
- `run`: `run_id` or `run_uuid`;
- `runs`: `run_ids` / `run_id` given several times;
- `name`: an experiment name (`experiment_name`, or `name` for a create);
- `artifact`: the artifact path in the URL (or `path` in the query, for a listing);
- `graphql`: the UI's read queries, each top-level field checked as its REST twin (tracking/graphql.py);
- `search`: none up front; the answer is filtered down to what the caller may read;
- `shell`: the UI's page and static files, open to anyone signed in;
- `server-info`: what the server can do, as the platform offers it (artifacts go through the platform's route
  only: no presigned object-store URLs, whose store a workspace may not reach).
"""

import re
from dataclasses import dataclass

PREFIX = "/mlflow"
READ, WRITE = "read", "write"


@dataclass(frozen=True)
class Rule:
    access: str
    kind: str
    endpoint: str = ""


_API = {
    # Experiments
    "experiments/get": (READ, "experiment"),
    "experiments/get-by-name": (READ, "name"),
    "experiments/search": (READ, "search"),
    "experiments/create": (WRITE, "name"),
    "experiments/update": (WRITE, "experiment"),
    "experiments/delete": (WRITE, "experiment"),
    "experiments/restore": (WRITE, "experiment"),
    "experiments/set-experiment-tag": (WRITE, "experiment"),
    "experiments/delete-experiment-tag": (WRITE, "experiment"),
    # Runs
    "runs/create": (WRITE, "experiment"),
    "runs/get": (READ, "run"),
    "runs/search": (READ, "experiments"),
    "runs/update": (WRITE, "run"),
    "runs/delete": (WRITE, "run"),
    "runs/restore": (WRITE, "run"),
    "runs/log-metric": (WRITE, "run"),
    "runs/log-parameter": (WRITE, "run"),
    "runs/set-tag": (WRITE, "run"),
    "runs/delete-tag": (WRITE, "run"),
    "runs/log-batch": (WRITE, "run"),
    "runs/log-inputs": (WRITE, "run"),
    "runs/log-outputs": (WRITE, "run"),
    "runs/log-model": (WRITE, "run"),
    "metrics/get-history": (READ, "run"),
    "metrics/get-history-bulk": (READ, "runs"),
    "metrics/get-history-bulk-interval": (READ, "runs"),
    "artifacts/list": (READ, "run"),
    # The UI's own upload button.
    "upload-artifact": (WRITE, "run"),
    "logged-models/search": (READ, "experiments"),
}

_API_PATH = re.compile(rf"{PREFIX}/(?:api|ajax-api)/[23]\.0/mlflow/(.+?)/?")
_ARTIFACTS = re.compile(rf"{PREFIX}/(?:api|ajax-api)/2\.0/mlflow-artifacts/(artifacts|mpu/create|mpu/complete|mpu/abort)(?:/(.*))?")
_SHELL = re.compile(rf"{PREFIX}/(?:|static-files/.*|favicon\.ico|health|version)")
_SERVER_INFO = re.compile(rf"{PREFIX}/(?:ajax-)?api/3\.0/mlflow/server-info/?")


def rule_for(method, path):
    """The rule for a request, or None (refused). `path` is the request's path, /mlflow/… included."""
    method = method.upper()
    if _SHELL.fullmatch(path):
        return Rule(READ, "shell") if method in ("GET", "HEAD") else None
    if _SERVER_INFO.fullmatch(path):
        return Rule(READ, "server-info") if method in ("GET", "HEAD") else None
    if path == f"{PREFIX}/graphql" and method == "POST":
        return Rule(READ, "graphql")
    if path == f"{PREFIX}/get-artifact" and method in ("GET", "HEAD"):
        return Rule(READ, "run", "get-artifact")
    match = _ARTIFACTS.fullmatch(path)
    if match:
        action = match.group(1)
        if action == "artifacts" and method in ("GET", "HEAD"):
            return Rule(READ, "artifact", action)
        if action == "artifacts" and method in ("PUT", "DELETE") or action != "artifacts" and method == "POST":
            return Rule(WRITE, "artifact", action)
        return None
    match = _API_PATH.fullmatch(path)
    if match and match.group(1) in _API:
        access, kind = _API[match.group(1)]
        return Rule(access, kind, match.group(1))
    return None

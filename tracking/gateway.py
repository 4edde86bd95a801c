"""The platform's permission layer in front of MLflow: what a request may do, decided from the route
(tracking/routes.py), the experiment namespace (tracking/names.py) and the project's members (tracking/access.py).

`request_check` is the whole rule. It looks up what an id belongs to through MLflow (cached: an experiment's
name changes only through this layer, a run never moves), and answers a Refusal, or a Pass that may carry a
rewritten body (an experiment's artifact location and a run's user are the platform's to set, never a
client's) or a filter for the answer (experiment searches show only what the caller may read).
"""

import json
from dataclasses import dataclass, field

from django.core.cache import cache

from tracking import mlflow_client
from tracking.graphql import Refused, graphql_needs
from tracking.access import ProjectAccess, project_access, writable_namespaces
from tracking.names import artifact_location, project_of_artifact_path, project_of_experiment
from tracking.routes import READ, WRITE

_CACHE_SECONDS = 600
# A person's access to a project is remembered this long: a membership change reaches MLflow within it.
_ACCESS_SECONDS = 5


@dataclass(frozen=True)
class Refusal:
    status: int
    error_code: str
    message: str


@dataclass
class Pass:
    body: bytes | None = None  # a rewritten JSON body, or None to send the request's own
    filter_experiments: bool = False
    projects: list = field(default_factory=list)


def _not_found(what):
    return Refusal(404, "RESOURCE_DOES_NOT_EXIST", f"No {what} found.")


def _outside_namespaces(user, name):
    mine = writable_namespaces(user=user)
    where = (f"one of your projects: {', '.join(mine)}" if mine else
             "a project you are a member of (you are in none yet)")
    return Refusal(403, "PERMISSION_DENIED",
                   f"Experiment {name!r} is outside your projects. Experiment names start with {where}; "
                   f"e.g. mlflow.set_experiment('{mine[0] if mine else 'team/project'}').")


def _cached(key, fetch, timeout):
    """`fetch()` remembered under `key`; a None answer (no such thing) is not remembered."""
    value = cache.get(key)
    if value is None:
        value = fetch()
        if value is not None:
            cache.set(key, value, timeout)
    return value


def _experiment_name(experiment_id):
    return _cached(f"tracking:experiment:{experiment_id}",
                   lambda: getattr(mlflow_client.experiment_get(experiment_id), "name", None), _CACHE_SECONDS)


def experiment_forget(experiment_id):
    cache.delete(f"tracking:experiment:{experiment_id}")


def _run_experiment(run_id):
    # A run never moves to another experiment: remembered for good.
    return _cached(f"tracking:run:{run_id}", lambda: mlflow_client.run_experiment_id(run_id), None)


def _access(user, key):
    if key is None:
        return ProjectAccess(None, False, False)
    return _cached(f"tracking:access:{user.pk}:{key}", lambda: project_access(user=user, key=key), _ACCESS_SECONDS)


def _check_project(user, allowed, access, can_write):
    """None when allowed; hidden (404) when the caller may not read, 403 when they read but may not write."""
    project = allowed.project
    if project is None or not allowed.can_read:
        return _not_found("experiment")
    if access == WRITE and not (can_write and allowed.can_write):
        why = ("the project is archived" if project.is_archived else
               "your token only reads" if not can_write else "you are not a member of the project")
        return Refusal(403, "PERMISSION_DENIED",
                       f"You can read the experiments of {project.team.slug}/{project.slug} but not change them: {why}.")
    return None


def _check_experiment(user, experiment_id, access, can_write):
    if not experiment_id:
        return Refusal(400, "INVALID_PARAMETER_VALUE", "experiment_id is required.")
    name = _experiment_name(str(experiment_id))
    if name is None:
        return _not_found("experiment")
    key = project_of_experiment(name)
    if key is None:
        # MLflow's Default experiment and any other name outside the namespaces: nobody's, so nobody's to use.
        if access == WRITE:
            return _outside_namespaces(user, name)
        return None if user.is_platform_admin else _not_found("experiment")
    return _check_project(user, _access(user, key), access, can_write)


def _check_run(user, run_id, access, can_write):
    if not run_id:
        return Refusal(400, "INVALID_PARAMETER_VALUE", "run_id is required.")
    experiment_id = _run_experiment(str(run_id))
    if experiment_id is None:
        return _not_found("run")
    refusal = _check_experiment(user, experiment_id, access, can_write)
    return _not_found("run") if refusal is not None and refusal.status == 404 else refusal


def _check_name(user, name, access, can_write):
    if not isinstance(name, str) or not name.strip():
        return Refusal(400, "INVALID_PARAMETER_VALUE", "An experiment name is required.")
    key = project_of_experiment(name)
    allowed = _access(user, key)
    if not allowed.can_read:
        return _outside_namespaces(user, name) if access == WRITE else _not_found("experiment")
    return _check_project(user, allowed, access, can_write)


def _param(query, body, *names):
    for name in names:
        if body.get(name) not in (None, ""):
            return body[name]
        if query.get(name):
            return query[name]
    return None


def request_check(*, user, can_write, rule, query, body, artifact_path=None):
    """Refusal or Pass for one MLflow request. `query` is a QueryDict (lists for repeated names), `body` the
    parsed JSON body ({} when there is none)."""
    kind = rule.kind
    if kind in ("shell", "server-info"):
        return Pass()
    if kind == "search":
        return Pass(filter_experiments=True)
    if kind == "graphql":
        try:
            needs = graphql_needs(body)
        except Refused as exc:
            return Refusal(400, "INVALID_PARAMETER_VALUE", str(exc))
        for experiment_id in needs.experiments:
            refusal = _check_experiment(user, experiment_id, READ, can_write)
            if refusal is not None:
                return refusal
        for run_id in needs.runs:
            refusal = _check_run(user, run_id, READ, can_write)
            if refusal is not None:
                return refusal
        return Pass()
    if kind == "artifact":
        path = (artifact_path if artifact_path is not None else query.get("path", "")).strip("/")
        if not path and rule.access == READ:
            return _not_found("artifact")
        key = project_of_artifact_path(path)
        if key is None:
            return Refusal(400, "INVALID_PARAMETER_VALUE", f"{path!r} is not an artifact path of a project.")
        refusal = _check_project(user, _access(user, key), rule.access, can_write)
        return (_not_found("artifact") if refusal is not None and refusal.status == 404 else refusal) or Pass()
    if kind == "experiment":
        refusal = _check_experiment(user, _param(query, body, "experiment_id"), rule.access, can_write)
        if refusal is None and rule.endpoint == "experiments/update" and body.get("new_name") is not None:
            refusal = _check_name(user, body["new_name"], WRITE, can_write)
            experiment_forget(str(body.get("experiment_id")))
        if refusal is None and rule.endpoint == "runs/create":
            # The run's user is the person signed in, not the workspace's OS account.
            body = {**body, "user_id": user.get_username(),
                    "tags": [tag for tag in body.get("tags", []) if tag.get("key") != "mlflow.user"]
                    + [{"key": "mlflow.user", "value": user.get_username()}]}
            return Pass(body=json.dumps(body).encode())
        return refusal or Pass()
    if kind == "experiments":
        ids = body.get("experiment_ids") if body else query.getlist("experiment_ids")
        if not ids or not isinstance(ids, list):
            return Refusal(400, "INVALID_PARAMETER_VALUE", "experiment_ids is required.")
        for experiment_id in ids:
            refusal = _check_experiment(user, experiment_id, READ, can_write)
            if refusal is not None:
                return refusal
        return Pass()
    if kind == "run":
        return _check_run(user, _param(query, body, "run_id", "run_uuid"), rule.access, can_write) or Pass()
    if kind == "runs":
        ids = query.getlist("run_ids") or query.getlist("run_id") or body.get("run_ids") or []
        if not ids:
            return Refusal(400, "INVALID_PARAMETER_VALUE", "run_ids is required.")
        for run_id in ids:
            refusal = _check_run(user, run_id, READ, can_write)
            if refusal is not None:
                return refusal
        return Pass()
    if kind == "name":
        name = _param(query, body, "experiment_name", "name")
        refusal = _check_name(user, name, rule.access, can_write)
        if refusal is None and rule.endpoint == "experiments/create":
            # Its artifacts go under the project's prefix, whatever the client asked for.
            body = {**body, "artifact_location": artifact_location(project_of_experiment(name))}
            return Pass(body=json.dumps(body).encode())
        return refusal or Pass()
    return Refusal(403, "PERMISSION_DENIED", "This MLflow feature is not offered by the platform.")


def experiments_visible(*, user, experiments):
    """The experiments (MLflow's JSON objects) of a search answer that the caller may read."""
    readable = {}
    visible = []
    for experiment in experiments:
        key = project_of_experiment(experiment.get("name", ""))
        if key is None:
            if user.is_platform_admin:
                visible.append(experiment)
            continue
        if key not in readable:
            readable[key] = _access(user, key).can_read
        if readable[key]:
            visible.append(experiment)
    return visible

"""Pure builders: a launch spec (plus the spawner's configuration) in, Kubernetes fields and
objects out. No I/O, no KubeSpawner: spawner/kube.py applies them, tests compare dicts."""

import re

from kubespawner.slugs import is_valid_label, safe_slug

from spawner.gpus import describe

LABEL_PREFIX = "dsw"  # our label/annotation keys: dsw/workspace, dsw/team, …
DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
HOME = "/home/jovyan"


class GpuTypeUnknown(ValueError):
    """The spec asks for a GPU type no node pool was configured for."""


def label_value(text):
    """`text` as a valid label value: kept when it already is one, else a readable slug with a hash."""
    text = str(text)
    return text if is_valid_label(text) and len(text) <= 63 else safe_slug(text, is_valid=is_valid_label, max_length=63)


def cost_labels(spec):
    """Labels for cost attribution (selectable: `kubectl get pods -l dsw/team=research`)."""
    return {
        f"{LABEL_PREFIX}/workspace": str(spec.workspace_id),
        f"{LABEL_PREFIX}/owner": label_value(spec.owner),
        f"{LABEL_PREFIX}/team": label_value(spec.team),
        f"{LABEL_PREFIX}/profile": label_value(spec.profile),
    }


def cost_annotations(spec):
    """The exact names (labels may have had to be slugged) and the resources asked for."""
    return {
        f"{LABEL_PREFIX}/owner": spec.owner,
        f"{LABEL_PREFIX}/team": spec.team,
        f"{LABEL_PREFIX}/profile": spec.profile,
        f"{LABEL_PREFIX}/resources": _resources_text(spec),
    }


def gpu_placement(spec, gpu_types, *, default_resource=DEFAULT_GPU_RESOURCE):
    """Extended resource, node selector and tolerations for the spec's GPUs.

    `gpu_types` maps a GPU type to its pool: {"h100": {"resource": "nvidia.com/gpu",
    "nodeSelector": {...}, "tolerations": [...]}} (every key optional). A spec for "" (any type)
    may land on any configured pool: it tolerates every pool's taints and selects none.
    Raises GpuTypeUnknown for a type with no pool.
    """
    if not spec.gpus:
        return {"resources": {}, "node_selector": {}, "tolerations": []}
    if spec.gpu_type:
        if spec.gpu_type not in gpu_types:
            known = ", ".join(sorted(gpu_types)) or "none"
            raise GpuTypeUnknown(f"needs {describe(spec.gpus, spec.gpu_type)}, and this cluster has no "
                                 f"{spec.gpu_type} node pool (configured GPU types: {known})")
        pool = gpu_types[spec.gpu_type]
        return {
            "resources": {pool.get("resource", default_resource): str(spec.gpus)},
            "node_selector": dict(pool.get("nodeSelector", {})),
            "tolerations": list(pool.get("tolerations", [])),
        }
    tolerations = []
    for name in sorted(gpu_types):
        tolerations += [t for t in gpu_types[name].get("tolerations", []) if t not in tolerations]
    return {"resources": {default_resource: str(spec.gpus)}, "node_selector": {}, "tolerations": tolerations}


def resource_settings(spec):
    """KubeSpawner's request/limit traits. Requests equal limits: a workspace gets exactly what its
    profile promises (Guaranteed QoS), and is never the first evicted when a node runs short."""
    return {
        "cpu_guarantee": spec.cpu,
        "cpu_limit": spec.cpu,
        "mem_guarantee": spec.memory_bytes,
        "mem_limit": spec.memory_bytes,
    }


def security_contexts(*, uid, gid):
    """Pod and container security contexts: non-root, no privilege escalation, no capabilities,
    the runtime's default seccomp profile (what the "restricted" Pod Security Standard asks), and a
    read-only root file system: what a person writes goes to the home volume or /tmp (scratch_volume),
    and `pip install` falls back to their home by itself when the image's packages are not writable."""
    pod = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
           "seccompProfile": {"type": "RuntimeDefault"}}
    container = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "allowPrivilegeEscalation": False,
                 "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
                 "readOnlyRootFilesystem": True}
    return {"pod": pod, "container": container}


def home_volume(pvc_name):
    """The workspace's persistent home (its PVC) as KubeSpawner volume and mount."""
    return ({"name": "home", "persistentVolumeClaim": {"claimName": pvc_name}},
            {"name": "home", "mountPath": HOME})


def scratch_volume():
    """/tmp for a workspace whose root file system is read-only: an emptyDir, gone with the pod."""
    return ({"name": "tmp", "emptyDir": {}}, {"name": "tmp", "mountPath": "/tmp"})


def storage_capacity(spec, default):
    """The PVC's size: the profile's disk_bytes, or `default` when the profile says 0 (no limit)."""
    return str(spec.disk_bytes) if spec.disk_bytes else default


def team_namespace(name, team):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {f"{LABEL_PREFIX}/team": label_value(team),
                                                  "pod-security.kubernetes.io/enforce": "restricted"},
                         "annotations": {f"{LABEL_PREFIX}/team": team}}}


def team_resource_quota(namespace, hard):
    """What every workspace of a team may use together, e.g. {"requests.cpu": "32", "requests.nvidia.com/gpu": "4"}."""
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "workspaces", "namespace": namespace},
            "spec": {"hard": {key: str(value) for key, value in hard.items()}}}


_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*\w)")


def describe_pod_event(event, spec, *, gpu_resources=(DEFAULT_GPU_RESOURCE,)):
    """A progress message a person understands, for one Kubernetes event about the workspace's pod."""
    reason, text = event.get("reason") or "", event.get("message") or ""
    if reason == "FailedScheduling":
        return f"{pending_reason(text, spec, gpu_resources=gpu_resources)} ({text})"
    if reason == "Scheduled":
        return f"Placed on node {_node_of(text)}"
    if reason == "Pulling":
        return "Pulling the workspace image (the first start on a node can take a few minutes)"
    if reason == "Pulled":
        return "Image ready"
    if reason in ("Failed", "ErrImagePull", "ImagePullBackOff", "BackOff") and "image" in text.lower():
        return f"The workspace image cannot be pulled: {text}"
    if reason == "FailedMount":
        return f"Waiting for the workspace's disk: {text}"
    return text or reason


def pending_reason(scheduler_message, spec, *, gpu_resources=(DEFAULT_GPU_RESOURCE,)):
    """Why a pod waits, from the scheduler's FailedScheduling message, in the person's terms."""
    short = set(_INSUFFICIENT.findall(scheduler_message))
    if spec.gpus and short & set(gpu_resources):
        return (f"Waiting for {describe(spec.gpus, spec.gpu_type)}: every GPU node that fits is in use. "
                "The workspace starts as soon as one is free, or stop it and try a smaller profile")
    if spec.gpus and "node affinity/selector" in scheduler_message and not short:
        return f"No node offers {describe(spec.gpus, spec.gpu_type)} right now (the GPU pool may be scaled to zero)"
    if short & {"cpu", "memory"}:
        return (f"Waiting for a node with {spec.cpu:g} CPU and {spec.memory_bytes / 2**30:.1f} GiB memory free: "
                "the cluster is full right now")
    if "persistentvolumeclaim" in scheduler_message.lower():
        return "Waiting for the workspace's disk to be provisioned"
    return "Waiting for the cluster to find room for the workspace"


def _node_of(scheduled_message):
    match = re.search(r"to (\S+)\s*$", scheduled_message)
    return match.group(1) if match else "?"


def _resources_text(spec):
    gpus = f", {describe(spec.gpus, spec.gpu_type)}" if spec.gpus else ""
    return f"{spec.cpu:g} CPU, {spec.memory_bytes} bytes memory{gpus}, {spec.disk_bytes} bytes disk"


# Launch-spec variables that are secrets: on Kubernetes they live in a per-person Secret the pod refers
# to, never in the pod spec (which anyone who may list pods can read).
SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_TOKEN")


def env_secret_name(spec):
    return f"{LABEL_PREFIX}-env-{safe_slug(spec.owner, is_valid=lambda s: bool(re.fullmatch(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?', s)), max_length=50)}"


def split_secret_env(env, secret_name):
    """(the env with each secret replaced by a secretKeyRef, the Secret's data); no secret: (env, {})."""
    data = {name: env[name] for name in SECRET_ENV if name in env}
    refs = {name: {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": name}}} for name in data}
    return {**env, **refs}, data


def env_secret(name, namespace, data, labels):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "stringData": data}

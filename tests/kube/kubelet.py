"""A "process kubelet" for the test control plane: runs each pod the real scheduler placed on one of
our simulated nodes as a local process on its own loopback address, and reports it Running.

It binds PersistentVolumeClaims to host-directory volumes (so a workspace's home survives a stop).
Without a controller-manager it also runs Jobs (helm's migration hook) to completion itself.
With one (`with_controller_manager=True`, as root) it runs whole applications: the pods the real
Deployment and Job controllers create, readiness probes, Services through tests/kube/serviceproxy.py
with their names in each pod's /etc/hosts (a private mount namespace per pod), ServiceAccount
tokens, and the image's paths (/app is this checkout). It speaks only the public API, like a kubelet.

Where a process is not a container: the pod's ServiceAccount token reaches it as a KUBECONFIG (the
in-cluster path /var/run/secrets/... does not exist on the host), "0.0.0.0" in its command and
environment becomes the pod's own address, and security contexts are recorded, not enforced.
"""

import base64
import itertools
import json
import os
import re
import socket
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from tests.kube.cluster import kill_process_group
from tests.kube.serviceproxy import ServiceProxy

# "0.0.0.0" as a listen address, not inside a network such as 10.0.0.0/8.
ANY_ADDRESS = re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d./])")

ROOT = Path(__file__).resolve().parents[2]
IMAGE_PATHS = {"/app": ROOT}
_INSTANCES = itertools.count()  # where our Dockerfiles put the code, and where that code is here


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ProcessKubelet:
    def __init__(self, cluster, workdir, *, bin_dir, with_controller_manager=False):
        self.cluster = cluster
        self.with_controller_manager = with_controller_manager
        self.workdir = Path(workdir)
        self.bin_dir = Path(bin_dir)  # where pod commands (jupyterhub-singleuser, python) are looked up
        self.processes = {}  # pod uid -> (Popen, namespace, name)
        self.jobs = {}  # job uid -> thread
        self.addresses = {}  # pod uid -> 127.x.y.z
        # Each kubelet gets its own 127.<n>.0.0/16, so two test workers never share an address.
        self._prefix = f"127.{os.getpid() % 250 + 2}"
        # Two kubelets of one worker (the session's and a module's own cluster) never share addresses either:
        # pods take 127.<n>.<50 i ...>.x, Services 127.<n>.<200 + i>.x.
        instance = next(_INSTANCES)
        self._next = 10 + instance * 50 * 250
        self.services = (ServiceProxy(f"{self._prefix}.{200 + instance}", self.workdir / "hosts")
                         if with_controller_manager else None)
        self.unready = {}  # pod uid -> (pod, container, address): readiness probe not passed yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="process-kubelet")
        self.errors = []

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        for process, _, _ in list(self.processes.values()):
            _kill(process)
        if self.services:
            self.services.stop()

    def exec(self, namespace, pod_name, command):
        """`kubectl exec`: a command with the pod's environment and working directory, as the pod sees them."""
        pod = self.cluster.api("GET", f"/api/v1/namespaces/{namespace}/pods/{pod_name}")
        container = pod["spec"]["containers"][0]
        env, cwd = self._environment(pod, container)
        argv = self._argv({"command": command})
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)

    def address_of(self, pod_uid):
        return self.addresses.get(pod_uid)

    # --- the loop --------------------------------------------------------------------------------

    def _loop(self):
        while not self._stop.is_set():
            try:
                self._bind_claims()
                if self.services:
                    self.services.sync(self.cluster.api("GET", "/api/v1/services")["items"],
                                       self.cluster.api("GET", "/api/v1/pods")["items"])
                self._sync_pods()
                if self.with_controller_manager:
                    self._probe_unready()
                else:
                    self._run_jobs()
            except Exception as exc:  # keep going: a test's assertion will say what is missing
                self.errors.append(repr(exc))
            self._stop.wait(0.2)

    def _sync_pods(self):
        pods = self.cluster.api("GET", "/api/v1/pods")["items"]
        seen = set()
        for pod in pods:
            meta, uid = pod["metadata"], pod["metadata"]["uid"]
            if not pod["spec"].get("nodeName"):
                continue
            seen.add(uid)
            if meta.get("deletionTimestamp"):
                self._delete(pod)
            elif uid not in self.processes and pod["status"].get("phase") == "Pending":
                self._start_pod(pod)
            elif uid in self.processes:
                process = self.processes[uid][0]
                if process.poll() is not None and pod["status"].get("phase") == "Running":
                    self._report_exit(pod, process.returncode)
        for uid in set(self.processes) - seen:  # deleted outright (grace period 0)
            _kill(self.processes.pop(uid)[0])

    # --- pods ------------------------------------------------------------------------------------

    def _start_pod(self, pod):
        meta, spec = pod["metadata"], pod["spec"]
        container = spec["containers"][0]
        address = f"{self._prefix}.{self._next // 250}.{self._next % 250 + 1}"
        self._next += 1
        env, cwd = self._environment(pod, container)
        if "JUPYTERHUB_SERVICE_URL" in env:  # bind where the hub will look: the pod's IP
            url = urlsplit(env["JUPYTERHUB_SERVICE_URL"])
            env["JUPYTERHUB_SERVICE_URL"] = urlunsplit(url._replace(netloc=f"{address}:{url.port or 8888}"))
        argv = self._argv(container, self._volume_paths(pod, container) if self.with_controller_manager else None)
        if os.geteuid() == 0 and argv and argv[0].endswith("jupyterhub-singleuser"):
            argv.append("--allow-root")  # the pod asks for uid 1000; here everything runs as the test's user
        if self.with_controller_manager:
            # Listen on the pod's own address (pods share the host's network here), find Services by name.
            argv = [ANY_ADDRESS.sub(address, a) for a in argv]
            env = {k: ANY_ADDRESS.sub(address, v) for k, v in env.items()}
            env.update(self._service_account_env(pod))
            argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    'mount --bind "$0" /etc/hosts && exec "$@"', str(self.services.hosts_file), *argv]
        log = (self.workdir / f"pod-{meta['namespace']}-{meta['name']}.log").open("w")
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[meta["uid"]] = (process, meta["namespace"], meta["name"])
        self.addresses[meta["uid"]] = address
        now = _now()
        ready = "readinessProbe" not in container
        if not ready:
            self.unready[meta["uid"]] = (pod, container, address)
        status = {"phase": "Running", "podIP": address, "podIPs": [{"ip": address}], "hostIP": "127.0.0.1",
                  "startTime": now, **_running(container, process.pid, ready=ready, now=now)}
        self._patch_status(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", status)
        self._event(pod, "Started", f"Started process {process.pid} on {address}")

    def _probe_unready(self):
        for uid, (pod, container, address) in list(self.unready.items()):
            if uid not in self.processes:
                self.unready.pop(uid)
            elif _probe(container["readinessProbe"], container, address):
                self.unready.pop(uid)
                meta = pod["metadata"]
                self._patch_status(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                                   _running(container, self.processes[uid][0].pid, ready=True, now=_now()))

    def _service_account_env(self, pod):
        """The pod's ServiceAccount token (TokenRequest bound to the pod, as a kubelet asks for it) as a KUBECONFIG
        with the cluster's CA, for clients that fall back from in-cluster configuration."""
        meta, spec = pod["metadata"], pod["spec"]
        if spec.get("automountServiceAccountToken") is False:
            return {}
        account = spec.get("serviceAccountName") or "default"
        answer = self.cluster.api("POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token",
                                  json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                        "spec": {"expirationSeconds": 3600, "boundObjectRef": {
                                            "kind": "Pod", "apiVersion": "v1", "name": meta["name"], "uid": meta["uid"]}}})
        path = self.workdir / "serviceaccount" / meta["uid"] / "kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "pod",
            "clusters": [{"name": "cluster", "cluster": {"server": self.cluster.url,
                                                         "certificate-authority": str(self.cluster.ca_file)}}],
            "users": [{"name": account, "user": {"token": answer["status"]["token"]}}],
            "contexts": [{"name": "pod", "context": {"cluster": "cluster", "user": account,
                                                     "namespace": meta["namespace"]}}]}))
        return {"KUBECONFIG": str(path)}

    def _report_exit(self, pod, code):
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]
        now = _now()
        self._patch_status(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", {
            "phase": "Succeeded" if code == 0 else "Failed",
            "containerStatuses": [{"name": container["name"], "ready": False, "started": False, "restartCount": 0,
                                   "image": container["image"], "imageID": container["image"],
                                   "state": {"terminated": {"exitCode": code, "startedAt": now, "finishedAt": now}}}],
        })

    def _delete(self, pod):
        meta = pod["metadata"]
        entry = self.processes.pop(meta["uid"], None)
        if entry:
            _kill(entry[0])
        # What a kubelet does once the containers are gone: finish the graceful deletion.
        self.cluster.api("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                         json={"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}, expect=(200, 404, 409))

    def _argv(self, container, volume_paths=None):
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        # One pass, first match wins: a mapped path (this checkout, a volume's directory) may itself lie under /tmp.
        mappings = [*(volume_paths or {}).items(), *IMAGE_PATHS.items()]
        argv = [next((str(here) + a[len(there):] for there, here in mappings
                      if a == there or a.startswith(there + "/")), a) for a in argv]
        if argv and not os.path.isabs(argv[0]) and (self.bin_dir / argv[0]).exists():
            argv[0] = str(self.bin_dir / argv[0])
        return argv

    def _volume_paths(self, pod, container):
        """Mount path -> host directory: a PVC to its bound volume's directory, an emptyDir to a fresh one."""
        namespace = pod["metadata"]["namespace"]
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        paths = {}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"], {})
            if "persistentVolumeClaim" in volume:
                paths[mount["mountPath"]] = self._claim_dir(namespace, volume["persistentVolumeClaim"]["claimName"])
            elif "emptyDir" in volume:
                directory = self.workdir / "emptydir" / pod["metadata"]["uid"] / mount["name"]
                directory.mkdir(parents=True, exist_ok=True)
                paths[mount["mountPath"]] = directory
        return paths

    def _environment(self, pod, container):
        """The container's environment (values, Secret and ConfigMap references, fields) and working directory,
        with volume paths mapped to host directories."""
        namespace = pod["metadata"]["namespace"]
        paths = self._volume_paths(pod, container)
        env = {}
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif "secretKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = self._secret(namespace, ref["name"])[ref["key"]]
            elif "configMapKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["configMapKeyRef"]
                env[item["name"]] = self._config_map(namespace, ref["name"])[ref["key"]]
            elif "fieldRef" in item.get("valueFrom", {}):
                field = item["valueFrom"]["fieldRef"]["fieldPath"]
                env[item["name"]] = {"metadata.namespace": namespace, "metadata.name": pod["metadata"]["name"],
                                     "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                                     }.get(field, "")
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                env.update(self._secret(namespace, source["secretRef"]["name"]))
            elif "configMapRef" in source:
                env.update(self._config_map(namespace, source["configMapRef"]["name"]))
        for name, value in env.items():
            for mount_path, directory in paths.items():
                if value == mount_path or value.startswith(mount_path + "/"):
                    env[name] = str(directory) + value[len(mount_path):]
                    break
            else:  # a directory above mounts (a data dir holding a mail volume): a per-pod tree linking to them
                below = {m: d for m, d in paths.items() if value.startswith("/") and m.startswith(value.rstrip("/") + "/")}
                if below:
                    tree = self.workdir / "podroot" / pod["metadata"]["uid"]
                    for mount_path, directory in below.items():
                        link = tree / mount_path.lstrip("/")
                        link.parent.mkdir(parents=True, exist_ok=True)
                        if not link.is_symlink():
                            link.symlink_to(directory)
                    env[name] = str(tree / value.lstrip("/"))
        # The host's own paths are never volume paths (a checkout under /tmp must not map to a /tmp volume).
        env = {"PATH": f"{self.bin_dir}:/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}", **env}
        working_dir = container.get("workingDir")
        cwd = paths.get(working_dir) if working_dir else None
        if cwd:
            env["HOME"] = str(cwd)
        return env, str(cwd or ROOT)

    def _secret(self, namespace, name):
        data = self.cluster.api("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}").get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def _config_map(self, namespace, name):
        return self.cluster.api("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}").get("data") or {}

    # --- volumes ---------------------------------------------------------------------------------

    def _claim_dir(self, namespace, claim):
        directory = self.workdir / "volumes" / namespace / claim
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _bind_claims(self):
        for claim in self.cluster.api("GET", "/api/v1/persistentvolumeclaims")["items"]:
            meta = claim["metadata"]
            if claim.get("status", {}).get("phase") == "Bound" or meta.get("deletionTimestamp"):
                continue
            size = claim["spec"]["resources"]["requests"]["storage"]
            name = f"pv-{meta['uid']}"
            self.cluster.apply({
                "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                "spec": {"capacity": {"storage": size}, "accessModes": claim["spec"]["accessModes"],
                         "persistentVolumeReclaimPolicy": "Delete",
                         "storageClassName": claim["spec"].get("storageClassName") or "",
                         "hostPath": {"path": str(self._claim_dir(meta["namespace"], meta["name"]))},
                         "claimRef": {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}},
            }, path="/api/v1/persistentvolumes")
            self._patch_status(f"/api/v1/persistentvolumes/{name}", {"phase": "Bound"})
            path = f"/api/v1/namespaces/{meta['namespace']}/persistentvolumeclaims/{meta['name']}"
            # bind-completed: the scheduler counts a claim as bound only with the PV controller's annotation.
            self.cluster.api("PATCH", path, json={"metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
                                                  "spec": {"volumeName": name}},
                             headers={"Content-Type": "application/merge-patch+json"})
            self._patch_status(path, {"phase": "Bound", "accessModes": claim["spec"]["accessModes"],
                                      "capacity": {"storage": size}})

    # --- jobs ------------------------------------------------------------------------------------

    def _run_jobs(self):
        for job in self.cluster.api("GET", "/apis/batch/v1/jobs")["items"]:
            uid = job["metadata"]["uid"]
            if uid in self.jobs or job.get("status", {}).get("conditions"):
                continue
            self.jobs[uid] = threading.Thread(target=self._run_job, args=(job,), daemon=True)
            self.jobs[uid].start()

    def _run_job(self, job):
        meta = job["metadata"]
        pod = {"metadata": {"namespace": meta["namespace"], "uid": meta["uid"], "name": meta["name"]},
               "spec": job["spec"]["template"]["spec"]}
        container = pod["spec"]["containers"][0]
        env, cwd = self._environment(pod, container)
        started = _now()
        path = f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}"
        self._patch_status(path, {"startTime": started, "active": 1})
        log = self.workdir / f"job-{meta['namespace']}-{meta['name']}.log"
        result = subprocess.run(self._argv(container), env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                timeout=600)
        now = _now()
        if result.returncode == 0:
            conditions = [{"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                          {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}]
            status = {"startTime": started, "completionTime": now, "succeeded": 1, "active": 0, "conditions": conditions}
        else:
            conditions = [{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                           "lastProbeTime": now, "lastTransitionTime": now},
                          {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                           "message": log.read_text()[-500:], "lastProbeTime": now, "lastTransitionTime": now}]
            status = {"startTime": started, "failed": 1, "active": 0, "conditions": conditions}
        self._patch_status(path, status)

    # --- API helpers -----------------------------------------------------------------------------

    def _patch_status(self, path, status):
        self.cluster.api("PATCH", f"{path}/status", json={"status": status},
                         headers={"Content-Type": "application/merge-patch+json"})

    def _event(self, pod, reason, message):
        meta = pod["metadata"]
        self.cluster.api("POST", f"/api/v1/namespaces/{meta['namespace']}/events", json={
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                               "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Normal", "source": {"component": "process-kubelet"},
            "firstTimestamp": _now(), "lastTimestamp": _now(), "count": 1}, expect=(201,))


def _running(container, pid, *, ready, now):
    """A running pod's conditions and container status: Ready once its readiness probe (if any) passed."""
    return {
        "conditions": [{"type": t, "status": "True" if ready or t in ("PodScheduled", "Initialized") else "False",
                        "lastTransitionTime": now} for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
        "containerStatuses": [{"name": container["name"], "ready": ready, "started": True, "restartCount": 0,
                               "image": container["image"], "imageID": container["image"],
                               "containerID": f"process://{pid}", "state": {"running": {"startedAt": now}}}],
    }


def _probe(probe, container, address):
    """One readiness probe (httpGet or tcpSocket) against the pod's address."""
    def port_number(port):
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        return int(named.get(port, port))

    try:
        if "httpGet" in probe:
            get = probe["httpGet"]
            answer = requests.get(f"http://{address}:{port_number(get['port'])}{get.get('path', '/')}", timeout=1,
                                  allow_redirects=False)
            return 200 <= answer.status_code < 400
        if "tcpSocket" in probe:
            with socket.create_connection((address, port_number(probe["tcpSocket"]["port"])), timeout=1):
                return True
    except (OSError, requests.RequestException):
        return False
    return True  # exec probes: nothing to run them in; the process being up must do


def _kill(process):
    kill_process_group(process, grace=5)


"""PortalKubeSpawner: runs a workspace as a Kubernetes pod, from the portal's launch spec.

KubeSpawner does the Kubernetes work; this subclass only decides *what* to run. JupyterHub's
`load_user_options()` hook (called first thing in KubeSpawner's start) fetches the spec from the
portal, never from options a client sent, and sets KubeSpawner's traits from it with the pure
builders of spawner/kube_objects.py: requests and limits, GPUs, image, home PVC, labels,
security context. Scheduling problems become plain progress messages, and a spawn that times out
waiting for capacity is reported to the portal with the reason.
"""

import asyncio

from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from traitlets import Bool, Dict, Integer, Unicode

from spawner import kube_objects as objects
from spawner.portal import LaunchError, PortalSpecMixin
from spawner.spec import ServerEvent


class PortalKubeSpawner(PortalSpecMixin, KubeSpawner):
    gpu_types = Dict(
        value_trait=Dict(),
        help="""GPU node pools by the GPU type profiles ask for, e.g.
        {"h100": {"resource": "nvidia.com/gpu",
                  "nodeSelector": {"dsw/gpu-type": "h100"},
                  "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}.
        A profile with a type missing here is refused with a message naming the configured types.""",
    ).tag(config=True)
    gpu_resource = Unicode(
        objects.DEFAULT_GPU_RESOURCE,
        help="The extended resource for GPUs of a type without its own `resource` (and for 'any type').",
    ).tag(config=True)
    default_storage_capacity = Unicode(
        "10Gi", help="Home PVC size for profiles whose disk_bytes is 0 (no limit of their own).",
    ).tag(config=True)
    run_as_uid = Integer(1000, help="UID of the server's processes (the image's jovyan).").tag(config=True)
    run_as_gid = Integer(100, help="GID of the server's processes and owner of the home volume.").tag(config=True)
    namespace_per_team = Bool(
        False,
        help="""Run each team's workspaces in their own namespace (team_namespace_template), created on first
        use with a ResourceQuota from team_quotas. The hub then needs cluster-wide RBAC (the chart's workspaces.namespacePerTeam).""",
    ).tag(config=True)
    team_namespace_template = Unicode("dsw-team-{team}", help="Namespace name; {team} is the team's slug.").tag(config=True)
    team_quotas = Dict(
        value_trait=Dict(),
        help="""ResourceQuota `hard` limits per team slug, "*" for every other team, e.g.
        {"*": {"requests.cpu": "32", "requests.memory": "128Gi", "requests.nvidia.com/gpu": "2"}}.
        Applied (and updated) each time a workspace of the team starts. Empty: no quota.""",
    ).tag(config=True)

    _spec = None
    _default_image = None  # the configured `image`, kept while a catalog image is in use

    async def load_user_options(self):
        """Fetch the launch spec and configure the pod from it (JupyterHub's hook, first step of start)."""
        self._spec = spec = await self.load_launch_spec()
        try:
            placement = objects.gpu_placement(spec, self.gpu_types, default_resource=self.gpu_resource)
        except objects.GpuTypeUnknown as exc:
            raise LaunchError(f"This workspace {exc}.", reason="capacity") from exc
        for name, value in objects.resource_settings(spec).items():
            setattr(self, name, value)
        self.extra_resource_limits = placement["resources"]
        self.extra_resource_guarantees = placement["resources"]
        self.node_selector = placement["node_selector"]
        self.tolerations = placement["tolerations"]
        if self._default_image is None:
            self._default_image = self.image
        # kind "local" (the platform's default environment) runs the configured default image.
        self.image = spec.environment["reference"] if spec.environment["kind"] == "image" else self._default_image
        self.cmd = ["jupyterhub-singleuser"]
        self.extra_labels = {**self.extra_labels, **objects.cost_labels(spec)}
        self.extra_annotations = {**self.extra_annotations, **objects.cost_annotations(spec)}
        self.storage_extra_labels = {**self.storage_extra_labels, **objects.cost_labels(spec)}
        self.storage_pvc_ensure = True
        self.storage_capacity = objects.storage_capacity(spec, self.default_storage_capacity)
        (home, home_mount), (scratch, scratch_mount) = objects.home_volume("{pvc_name}"), objects.scratch_volume()
        self.volumes = [home, scratch]
        self.volume_mounts = [home_mount, scratch_mount]
        self.working_dir = objects.HOME
        self.uid, self.gid, self.fs_gid = self.run_as_uid, self.run_as_gid, self.run_as_gid
        contexts = objects.security_contexts(uid=self.run_as_uid, gid=self.run_as_gid)
        self.pod_security_context = contexts["pod"]
        self.container_security_context = contexts["container"]
        self.allow_privilege_escalation = False
        self.automount_service_account_token = False  # a workspace has no business with the API server
        if self.namespace_per_team:
            # KubeSpawner keeps one pod watch per namespace, and remembers the namespace in the hub's state.
            self.namespace = self.team_namespace_template.format(team=objects.label_value(spec.team))
            await self._ensure_team_namespace(spec)

    async def _ensure_team_namespace(self, spec):
        """The team's namespace (labelled, restricted Pod Security) and its quota; both may already exist."""
        await self._create_or_replace("namespace", objects.team_namespace(self.namespace, spec.team))
        hard = self.team_quotas.get(spec.team, self.team_quotas.get("*"))
        if hard:
            await self._create_or_replace("resourcequota", objects.team_resource_quota(self.namespace, hard))

    async def _create_or_replace(self, kind, manifest):
        name = manifest["metadata"]["name"]
        if kind == "namespace":
            create, replace, args = self.api.create_namespace, None, ()
        else:
            create = self.api.create_namespaced_resource_quota
            replace = self.api.replace_namespaced_resource_quota
            args = (self.namespace,)
        try:
            await asyncio.wait_for(create(*args, manifest), self.k8s_api_request_timeout)
        except ApiException as exc:
            if exc.status != 409:  # "already exists" is success
                raise
            if replace:
                current = await asyncio.wait_for(self.api.read_namespaced_resource_quota(name, *args),
                                                 self.k8s_api_request_timeout)
                manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
                await asyncio.wait_for(replace(name, *args, manifest), self.k8s_api_request_timeout)

    def get_env(self):
        """The spec's `env` under JupyterHub's and KubeSpawner's own variables; the spec's secrets (S3 keys)
        as references to the person's Secret (see _ensure_env_secret), never as values in the pod."""
        env = super().get_env()
        spec_env = self._spec.env if self._spec else {}
        if self._spec:
            spec_env, _ = objects.split_secret_env(spec_env, objects.env_secret_name(self._spec))
        return {**spec_env, **env}

    async def _ensure_env_secret(self):
        """Create or update the person's Secret with the spec's secrets (a rotated key replaces the old)."""
        _, data = objects.split_secret_env(self._spec.env, objects.env_secret_name(self._spec))
        if not data:
            return
        name = objects.env_secret_name(self._spec)
        manifest = objects.env_secret(name, self.namespace, data, objects.cost_labels(self._spec))
        try:
            await asyncio.wait_for(self.api.create_namespaced_secret(self.namespace, manifest), self.k8s_api_request_timeout)
        except ApiException as exc:
            if exc.status != 409:
                raise
            await asyncio.wait_for(self.api.replace_namespaced_secret(name, self.namespace, manifest),
                                   self.k8s_api_request_timeout)

    async def _start(self):
        try:
            if self._spec is not None:
                await self._ensure_env_secret()
            return await super()._start()
        except LaunchError as exc:
            if exc.reason != "portal":  # the portal cannot be told what it cannot be reached for
                await self._report_to_portal(ServerEvent.SPAWN_FAILED, message=exc.jupyterhub_message)
            raise
        except (TimeoutError, asyncio.CancelledError):
            # The hub gave up (start_timeout). If the pod was waiting for room, say so: "did not start
            # in 300 seconds" alone would hide that the cluster has no free GPU.
            waiting = self.pending_message()
            if waiting:
                await self._report_to_portal(
                    ServerEvent.SPAWN_FAILED, message=f"The workspace could not start within {self.start_timeout} seconds. {waiting}.")
            raise

    def pending_message(self):
        """Why the pod is not running yet, from the scheduler's latest complaint; "" when it has none."""
        if self._spec is None:
            return ""
        failed = [e for e in self.events if e.get("reason") == "FailedScheduling"]
        if not failed:
            return ""
        return objects.pending_reason(failed[-1].get("message") or "", self._spec, gpu_resources=self._gpu_resources())

    async def progress(self):
        """KubeSpawner's event stream, each message rewritten for people (see kube_objects.describe_pod_event)."""
        async for event in super().progress():
            raw = event.get("raw_event")
            if raw is not None and self._spec is not None:
                event = {**event, "message": objects.describe_pod_event(raw, self._spec,
                                                                       gpu_resources=self._gpu_resources())}
            elif raw is None and self.pending_message():
                # KubeSpawner's "please be patient" would hide why: the portal shows the latest message.
                event = {**event, "message": f"{self.pending_message()}."}
            yield event

    async def delete_forever(self):
        """JupyterHub calls this when the named server (the workspace) is removed. The home PVC goes only
        when the workspace is deleted together with its home."""
        if not await self._should_delete_storage():
            self.log.info("Keeping the home volume %s of %s", self.pvc_name, self._log_name)
            return
        await super().delete_forever()
        await self._report_to_portal(ServerEvent.HOME_DELETED)

    async def _should_delete_storage(self):
        """Whether the workspace's home must be deleted with it: the portal decides (see PortalSpecMixin)."""
        return await self.portal_says_delete_home()

    def _gpu_resources(self):
        return {self.gpu_resource, *(pool.get("resource", self.gpu_resource) for pool in self.gpu_types.values())}

"""The back-end-neutral launch spec the spawner receives (the contract is in spawner/spec.py)."""

from datetime import timedelta

from django.conf import settings

from buckets.launch import storage_env
from spawner.spec import CONTAINER_LAB_DIR, LaunchSpec
from tracking.launch import tracking_env
from workspaces.environments import launch_environment
from workspaces.lab import CONFIG_DIR, lab_env
from workspaces.lab_access import lab_grant_for
from workspaces.lab_static import lab_static_env


def fork_server_warm_up_env():
    """The lab variables of a local launch that the local spawner's fork server warms up with before it forks any
    server (spawner/zygote_warmup.py): the same configuration a local workspace's server gets, none of it secret."""
    return {"JUPYTER_CONFIG_PATH": str(CONFIG_DIR), **lab_static_env()}


def launch_spec_for(workspace):
    """The spec of the workspace's current run, as the spawner's own LaunchSpec builds and checks it (JSON-ready)."""
    profile = workspace.profile
    environment = launch_environment(workspace.image)
    env = {"PLATFORM_WORKSPACE_ID": str(workspace.pk), "PLATFORM_WORKSPACE_NAME": workspace.name}
    # The platform's lab configuration (names the lab, the way back to the portal, ~/.platform/buckets.json): in
    # place for a local server, at CONTAINER_LAB_DIR inside an image's container.
    config_dir = CONFIG_DIR if environment["kind"] == "local" else f"{CONTAINER_LAB_DIR}/config"
    env |= lab_env(size=profile.name, portal_url=settings.PLATFORM_PUBLIC_URL, grant=lab_grant_for(workspace),
                   config_dir=config_dir)
    if environment["kind"] == "local":
        env |= lab_static_env()  # this Python's JupyterLab and extensions, cached once per browser
    # The person's S3 credentials and buckets (AWS_*; on Kubernetes the spawner moves the secrets into a
    # Secret). From the database only: an object-store outage never blocks a launch.
    env |= storage_env(user=workspace.owner)
    # MLflow's client variables (tracking/launch.py): the person's own token, never a platform secret.
    env |= tracking_env(user=workspace.owner, workspace_id=workspace.pk, project=workspace.project)
    return LaunchSpec(
        workspace_id=workspace.pk,
        generation=workspace.generation,  # the spawner's reports carry it, so a late one about an earlier run is known
        owner=workspace.owner.get_username(),
        team=workspace.team.slug,  # cost attribution (Kubernetes labels, per-team namespaces)
        profile=profile.name,
        server_name=workspace.server_name,
        cpu=float(profile.cpu),
        memory_bytes=profile.memory_bytes,
        gpus=profile.gpus,
        gpu_type=profile.gpu_type,
        disk_bytes=profile.disk_bytes,
        environment=environment,
        env=env,
        idle_timeout_seconds=int((profile.culling_limits().idle_timeout or timedelta(0)).total_seconds()),
    ).to_dict()

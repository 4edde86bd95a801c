"""The platform's processes on one machine, and how each is started.

`platform_run` supervises these children (see supervisor.py); the tests and benchmarks start
single ones with the same builders, so every process runs the way `make run` runs it.

Ports, from the public one (PLATFORM_PORT = P): P the proxy (the one public origin), P+1 the
proxy's API, P+2 the hub, P+3 the portal, P+4 Prometheus (with PLATFORM_PROMETHEUS=1), P+5 the image registry,
P+6 the object store (S3; its own components and their gRPC ports take P+7 … P+15, see buckets/server.py),
P+16 MLflow (tracking/server.py).
"""

import json
import os
import secrets
import sys

from django.conf import settings

from buckets.server import embedded_s3_command
from images.registry_server import embedded_registry_command
from images.services import pull_auth_file_ensure
from observability.prometheus_server import prometheus_command, prometheus_files_write, prometheus_installed
from portal.processes.supervisor import ChildSpec
from tracking.server import embedded_mlflow
from workspaces.launch import fork_server_warm_up_env


def ports(public_port):
    return {"public": public_port, "proxy_api": public_port + 1, "hub": public_port + 2, "portal": public_port + 3,
            "prometheus": public_port + 4, "registry": public_port + 5, "s3": public_port + 6,
            "mlflow": public_port + 16}


def _python_env():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(settings.BASE_DIR / "platform"), str(settings.BASE_DIR)])}
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    return env


def hub_oauth_client_ensure():
    """Register (or update) the hub as a trusted OAuth2 client of the portal. Idempotent.

    Trusted means no consent screen: opening a workspace signs the person in to the hub
    with their portal session, without a second password or an extra click.
    """
    from oauth2_provider.models import Application

    redirect_uri = f"{settings.PLATFORM_PUBLIC_URL}/hub/oauth_callback"
    application, _ = Application.objects.update_or_create(
        client_id=settings.PLATFORM_HUB_OAUTH_CLIENT_ID,
        defaults={
            "name": "JupyterHub",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": redirect_uri,
            "client_secret": settings.PLATFORM_HUB_OAUTH_CLIENT_SECRET,
            "skip_authorization": True,
            "algorithm": "",
        },
    )
    return application


def hub_environment(*, portal_internal_url, hub_port, proxy_api_port, proxy_token=None, proxy_external=False):
    """The variables spawner/jupyterhub_config.py reads. The hub starts the proxy itself unless
    `proxy_external` (platform_run runs it as a child of its own, so it outlives a hub restart)."""
    return {
        "PLATFORM_PUBLIC_URL": settings.PLATFORM_PUBLIC_URL,
        "PLATFORM_PORTAL_INTERNAL_URL": portal_internal_url,
        "PLATFORM_HUB_BIND_URL": f"http://127.0.0.1:{hub_port}",
        "PLATFORM_PROXY_API_URL": f"http://127.0.0.1:{proxy_api_port}",
        "PLATFORM_PROXY_EXTERNAL": "true" if proxy_external else "false",
        "PLATFORM_HUB_API_TOKEN": settings.PLATFORM_HUB_API_TOKEN,
        "PLATFORM_METRICS_TOKEN": settings.PLATFORM_METRICS_TOKEN,
        "PLATFORM_HUB_OAUTH_CLIENT_ID": settings.PLATFORM_HUB_OAUTH_CLIENT_ID,
        "PLATFORM_HUB_OAUTH_CLIENT_SECRET": settings.PLATFORM_HUB_OAUTH_CLIENT_SECRET,
        "PLATFORM_DATA_DIR": str(settings.PLATFORM_DATA_DIR),
        "PLATFORM_HUB_DATA_DIR": str(settings.PLATFORM_DATA_DIR / "hub"),
        "PLATFORM_HOMES_DIR": str(settings.PLATFORM_HOMES_DIR),
        "PLATFORM_WORKSPACES_DIR": str(settings.PLATFORM_WORKSPACES_DIR),
        "PLATFORM_ACCOUNT_PREFIX": settings.PLATFORM_ACCOUNT_PREFIX,
        "PLATFORM_SPAWN_TIMEOUT": str(settings.PLATFORM_SPAWN_TIMEOUT),
        "PLATFORM_SPAWNER_POLL_INTERVAL": str(settings.PLATFORM_SPAWNER_POLL_INTERVAL),
        "PLATFORM_SITE_NAME": settings.PLATFORM_SITE_NAME,
        "PLATFORM_WORKSPACE_SUBDOMAINS": "true" if settings.PLATFORM_WORKSPACE_SUBDOMAINS else "false",
        # The local spawner's fork server warms up with a local launch's lab configuration (spawner/zygote_warmup.py).
        "PLATFORM_FORK_SERVER_WARM_UP": json.dumps(fork_server_warm_up_env()),
        # One proxy per platform: a fresh token at each start is enough (the hub and proxy get the same one).
        "CONFIGPROXY_AUTH_TOKEN": proxy_token or secrets.token_hex(32),
        **{name: os.environ[name] for name in ("PLATFORM_ISOLATION", "PLATFORM_GPU_DEVICES") if name in os.environ},
    }


def proxy_command(*, public_port, api_port, portal_url, hub_url):
    """configurable-http-proxy as JupyterHub itself would start it, on loopback (its Python port, routing by
    host for per-user subdomains: spawner/proxy_server.py)."""
    command = [sys.executable, "-m", "spawner.proxy_server",
               "--ip", "127.0.0.1", "--port", str(public_port), "--api-ip", "127.0.0.1", "--api-port", str(api_port),
               f"--default-target={portal_url}", f"--error-target={hub_url}/hub/error", "--log-level", "warning"]
    return [*command, "--host-routing", "true"] if settings.PLATFORM_WORKSPACE_SUBDOMAINS else command


def platform_children(*, web_workers):
    """(the ChildSpecs of the whole platform in start order, a line about the registry for people)."""
    data = settings.PLATFORM_DATA_DIR
    port = ports(settings.PLATFORM_PORT)
    portal_url, hub_url = f"http://127.0.0.1:{port['portal']}", f"http://127.0.0.1:{port['hub']}"
    python, env, cwd = sys.executable, _python_env(), str(settings.BASE_DIR)
    # The portal, the worker and beat write their metrics there and /metrics merges them; only these: the hub
    # and the servers it starts must not inherit it (observability/metrics.py).
    metered = {**env, "PROMETHEUS_MULTIPROC_DIR": str(settings.PLATFORM_METRICS_DIR)}
    proxy_token = secrets.token_hex(32)
    hub_env = {**env, **hub_environment(portal_internal_url=portal_url, hub_port=port["hub"],
                                        proxy_api_port=port["proxy_api"], proxy_token=proxy_token, proxy_external=True)}
    run = data / "run"
    specs = [
        ChildSpec("web", [python, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port['portal']}",
                          # No gunicorn access log: the portal logs each request once, with its id
                          # (observability/middleware.py).
                          "--workers", str(web_workers), "--threads", "4",
                          "--graceful-timeout", "10", "--control-socket", str(run / "gunicorn.ctl")], metered, cwd),
        ChildSpec("proxy", proxy_command(public_port=port["public"], api_port=port["proxy_api"], portal_url=portal_url,
                                         hub_url=hub_url), {**env, "CONFIGPROXY_AUTH_TOKEN": proxy_token}, cwd,
                  ready_port=port["proxy_api"]),
        ChildSpec("hub", [python, "-m", "jupyterhub", "-f", str(settings.BASE_DIR / "spawner" / "jupyterhub_config.py")],
                  # What follows (Celery's worker and beat, registry, object store, MLflow: 4 s of imports alone)
                  # waits for the hub to listen: on two cores, everything importing at once kept the portal and the
                  # hub from answering for 9 s. A launch asked for meanwhile waits in the broker for the worker.
                  hub_env, str(data / "hub"), ready_port=port["hub"]),
        ChildSpec("worker", [python, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO",
                             "--concurrency", "2"], metered, cwd),
        ChildSpec("beat", [python, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
                           "--schedule", str(data / "celery" / "beat-schedule"), "--pidfile", str(run / "beat.pid")],
                  metered, cwd),
    ]
    registry, registry_note = embedded_registry_command(registry_port=port["registry"], portal_internal_url=portal_url)
    if registry:
        specs.append(ChildSpec("registry", registry, env, cwd))
        if not os.environ.get("PLATFORM_REGISTRY_PULL_AUTH_FILE"):
            # The hub pulls catalog images with a pull-only robot of its own (admin guide: "Pull credential").
            hub_env["PLATFORM_REGISTRY_PULL_AUTH_FILE"] = str(pull_auth_file_ensure(
                data / "registry" / "pull-auth.json", registry_host=settings.PLATFORM_REGISTRY_HOST))
    s3, s3_note = embedded_s3_command(s3_port=port["s3"])
    if s3:
        specs.append(ChildSpec("s3", s3, env, cwd, ready_port=port["s3"]))
    mlflow, mlflow_env, mlflow_note = embedded_mlflow(port=port["mlflow"])
    if mlflow:
        # Its own child, like the hub: restarted when it dies; the portal says "unavailable" meanwhile.
        specs.append(ChildSpec("mlflow", mlflow, {**env, **mlflow_env}, cwd))
    s3_note += f"\n  {mlflow_note}"
    prometheus, prometheus_note = embedded_prometheus_command(port=port)
    if prometheus:
        specs.append(ChildSpec("prometheus", prometheus, env, cwd, ready_port=port["prometheus"]))
    return specs, f"{registry_note}\n  {s3_note}" + (f"\n  {prometheus_note}" if prometheus_note else "")


def embedded_prometheus_command(*, port):
    """(argv or None, a line for people or "") for `PLATFORM_PROMETHEUS=1 make run`: Debian's prometheus with the
    chart's rules, scraping the portal and the hub on loopback, its data under PLATFORM_DATA_DIR/prometheus."""
    if not settings.PLATFORM_PROMETHEUS:
        return None, ""
    if not prometheus_installed():
        return None, "PLATFORM_PROMETHEUS is set but prometheus is not installed (apt-get install prometheus)."
    folder = settings.PLATFORM_DATA_DIR / "prometheus"
    config = prometheus_files_write(folder, portal_target=f"127.0.0.1:{port['portal']}",
                                    hub_target=f"127.0.0.1:{port['hub']}")
    listen = f"127.0.0.1:{port['prometheus']}"
    return (prometheus_command(config=config, data_dir=folder / "data", listen=listen),
            f"Prometheus:      http://{listen}/  (the platform's rules loaded; alerts at http://{listen}/alerts)")

"""JupyterHub's configuration, filled in from the environment the portal starts it with.

`manage.py platform_run` sets these variables (see docs/configuration.md):
PLATFORM_PUBLIC_URL, PLATFORM_PORTAL_INTERNAL_URL, PLATFORM_HUB_BIND_URL,
PLATFORM_PROXY_API_URL, PLATFORM_HUB_API_TOKEN, PLATFORM_HUB_OAUTH_CLIENT_ID,
PLATFORM_HUB_OAUTH_CLIENT_SECRET, PLATFORM_HUB_DATA_DIR, CONFIGPROXY_AUTH_TOKEN.
PLATFORM_SPAWNER=kubernetes switches to the Kubernetes back end (PLATFORM_KUBE_* variables; the
Helm chart sets them), and PLATFORM_PROXY_EXTERNAL=true leaves the proxy to its own Deployment.
"""

import json
import os
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)
env = os.environ
# The hub's database, cookie secret and spawner state are the platform's alone: workspaces run other
# people's code on this machine. Servers set their own umask (spawner/isolation.py).
os.umask(0o077)

public_url = env["PLATFORM_PUBLIC_URL"].rstrip("/")
portal_url = env["PLATFORM_PORTAL_INTERNAL_URL"].rstrip("/")
data_dir = Path(env["PLATFORM_HUB_DATA_DIR"])
data_dir.mkdir(parents=True, exist_ok=True)

# One public origin: the proxy listens on the public address; the hub serves only /hub/;
# everything the hub does not claim (/, /api/, /o/, stopped /user/… servers) goes to the portal.
c.JupyterHub.bind_url = public_url + "/"
c.JupyterHub.hub_bind_url = env["PLATFORM_HUB_BIND_URL"]
c.JupyterHub.hub_routespec = "/hub/"
# Per-user subdomains: each person's servers answer on <name>.<host>, an origin of their own, so a page a
# workspace serves can never act with the portal session of whoever opens it. Routes then carry hosts,
# and the proxy routes by host (spawner/proxy_server.py).
if env.get("PLATFORM_WORKSPACE_SUBDOMAINS", "false").lower() in ("true", "1", "yes"):
    c.JupyterHub.subdomain_host = public_url
    c.JupyterHub.hub_routespec = f"{urlsplit(public_url).hostname}/hub/"
c.ConfigurableHTTPProxy.api_url = env["PLATFORM_PROXY_API_URL"]
# Where servers reach the hub's API when that is not the bind address (a Kubernetes Service).
if env.get("PLATFORM_HUB_CONNECT_URL"):
    c.JupyterHub.hub_connect_url = env["PLATFORM_HUB_CONNECT_URL"]
# In Kubernetes the proxy is its own Deployment, and `make run` runs it as a process of its own: it keeps
# routes (and open notebooks) while the hub restarts, and the hub puts routes back if the proxy restarts.
proxy_external = env.get("PLATFORM_PROXY_EXTERNAL", "false").lower() in ("true", "1", "yes")
c.ConfigurableHTTPProxy.should_start = not proxy_external
if proxy_external:
    c.JupyterHub.proxy_class = "spawner.proxy.SupervisedProxy"
c.ConfigurableHTTPProxy.pid_file = str(data_dir / "proxy.pid")  # per instance, never in the checkout
# configurable-http-proxy's Python port, with routing by host (spawner/proxy_server.py).
c.ConfigurableHTTPProxy.command = [sys.executable, "-m", "spawner.proxy_server", f"--default-target={portal_url}"]
c.JupyterHub.default_url = "/workspaces/"
c.JupyterHub.db_url = f"sqlite:///{data_dir / 'jupyterhub.sqlite'}"


# SQLite as the portal uses it (portal/settings.py): write-ahead log, synced at checkpoints. In the default
# rollback-journal mode every commit synced the journal and the file, and the hub commits many times per spawn:
# a third of its busy time during launches went to commits (py-spy, benchmarks/launch.py). A power loss can undo
# the last commits (never corrupt the file); the portal reconciles the hub's servers with what it asked for.
@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _sqlite_write_ahead(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
c.JupyterHub.cookie_secret_file = str(data_dir / "cookie_secret")
c.JupyterHub.pid_file = str(data_dir / "jupyterhub.pid")
# Servers outlive the hub (a restart or an upgrade re-adopts them: spawner/local.py), as pods do on
# Kubernetes. A hub that is only ever started for one session (a test) may stop them as it exits.
c.JupyterHub.cleanup_servers = env.get("PLATFORM_HUB_CLEANUP_SERVERS", "false").lower() in ("true", "1", "yes")
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 0
# Many workspaces may start at once; the portal is the one that limits launches.
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0
# Answer the portal's start request at once (202) and let it follow progress: it never waits,
# and this skips the hub's own wait-and-poll path, which can race a server that is still starting.
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}

# The portal's service account: only what it needs to run servers for people. `tokens` lets it mint a
# token of one person's that opens one server (workspaces/hub.py server_token): the idle check's kernel
# reads and project files go into a workspace with such a token, never with this one, which the
# workspace's code could read from the request. `access:servers` grants no hub administration beyond
# admin:servers, which it has anyway; the portal no longer sends this token to servers.
c.JupyterHub.services = [{"name": "portal", "api_token": env["PLATFORM_HUB_API_TOKEN"]}]
# The services' tokens are random (50 characters from the chart, 32 bytes from make run's data directory), not
# passwords: checked with one round of hashing like the hub's own tokens, not 16,384 (which the hub spent on
# every call the portal made: an eighth of its busy time during launches).
c.JupyterHub.trust_user_provided_tokens = True
c.JupyterHub.load_roles = [
    {"name": "portal", "services": ["portal"],
     "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users", "tokens",
                # Live workspace sharing (sharing/): the portal grants and revokes shares of a server, its owner's
                # choice checked by the portal; people get no `shares` scope of their own.
                "shares"]},
    # Users reach their own servers but cannot start or stop them here: the portal decides.
    {"name": "user", "scopes": ["access:servers!user", "read:users:name!user", "read:users:groups!user",
                                "read:servers!user", "users:activity!user"]},
]
# How long a server trusts the hub's word on who may use it. JupyterHub's default (300 s) would let a live share
# that was revoked (sharing/live.py) keep working for minutes; one second ends it within a second, for about one
# small hub API call per second per busy server. (0 would mean "forever" to JupyterHub, so it is not allowed.)
c.Spawner.args = [f"--HubOAuth.cache_max_age={max(1, int(env.get('PLATFORM_SERVER_AUTH_CACHE_SECONDS', '1')))}"]

# Prometheus scrapes /hub/metrics with the platform's metrics token (the one /metrics asks for): a
# service that may read metrics and nothing else (docs/operations/metrics.md).
if env.get("PLATFORM_METRICS_TOKEN"):
    c.JupyterHub.services.append({"name": "metrics", "api_token": env["PLATFORM_METRICS_TOKEN"]})
    c.JupyterHub.load_roles.append({"name": "metrics", "services": ["metrics"], "scopes": ["read:metrics"]})

# Sign-in through the portal (it is the OAuth2 provider), so there is no second password.
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = env["PLATFORM_HUB_OAUTH_CLIENT_ID"]
c.GenericOAuthenticator.client_secret = env["PLATFORM_HUB_OAUTH_CLIENT_SECRET"]
c.GenericOAuthenticator.oauth_callback_url = f"{public_url}/hub/oauth_callback"
c.GenericOAuthenticator.authorize_url = f"{public_url}/o/authorize/"
c.GenericOAuthenticator.token_url = f"{portal_url}/o/token/"
c.GenericOAuthenticator.userdata_url = f"{portal_url}/api/v1/users/me/"
c.GenericOAuthenticator.username_claim = "username"
c.GenericOAuthenticator.scope = ["read"]
c.GenericOAuthenticator.allow_all = True
c.GenericOAuthenticator.auto_login = True
c.GenericOAuthenticator.login_service = env.get("PLATFORM_SITE_NAME", "Workspaces")

# Servers are launched from the portal's launch spec, never from options a client sent.
back_end = env.get("PLATFORM_SPAWNER", "local")
if back_end == "kubernetes":
    c.JupyterHub.spawner_class = "spawner.kube.PortalKubeSpawner"
    kube = c.PortalKubeSpawner
    c.JupyterHub.cleanup_servers = False  # workspaces are pods: they outlive a hub restart (an upgrade)
    kube.portal_url = portal_url
    kube.portal_token = env["PLATFORM_HUB_API_TOKEN"]
    if env.get("PLATFORM_KUBE_NAMESPACE"):  # default: the hub's own namespace
        kube.namespace = env["PLATFORM_KUBE_NAMESPACE"]
    kube.image = env["PLATFORM_KUBE_IMAGE"]  # the default environment's image (pin it by digest)
    kube.image_pull_secrets = [name for name in env.get("PLATFORM_KUBE_IMAGE_PULL_SECRETS", "").split(",") if name]
    # e.g. {"h100": {"nodeSelector": {...}, "tolerations": [...], "resource": "nvidia.com/gpu"}}
    kube.gpu_types = json.loads(env.get("PLATFORM_KUBE_GPU_TYPES") or "{}")
    kube.storage_class = env.get("PLATFORM_KUBE_STORAGE_CLASS", "")
    kube.default_storage_capacity = env.get("PLATFORM_KUBE_DEFAULT_STORAGE", "10Gi")
    kube.namespace_per_team = env.get("PLATFORM_KUBE_NAMESPACE_PER_TEAM", "false").lower() in ("true", "1", "yes")
    kube.team_quotas = json.loads(env.get("PLATFORM_KUBE_TEAM_QUOTAS") or "{}")
    kube.pod_name_template = env.get("PLATFORM_KUBE_POD_NAME_TEMPLATE", "ws-{user_server}")
    kube.pvc_name_template = env.get("PLATFORM_KUBE_PVC_NAME_TEMPLATE", "home-{user_server}")
    # Labels every workspace pod gets (the chart's NetworkPolicies select workspace pods by them).
    kube.extra_labels = json.loads(env.get("PLATFORM_KUBE_POD_LABELS") or "{}")
elif back_end == "local":
    c.JupyterHub.spawner_class = "spawner.local.PortalLocalSpawner"
    c.PortalLocalSpawner.portal_url = portal_url
    c.PortalLocalSpawner.portal_token = env["PLATFORM_HUB_API_TOKEN"]
    c.PortalLocalSpawner.state_dir = str(data_dir / "spawner")
    c.PortalLocalSpawner.report_outbox = str(data_dir / "spawner" / "outbox")
    c.PortalLocalSpawner.home_root = env.get("PLATFORM_HOMES_DIR", str(data_dir.parent / "homes"))
    c.PortalLocalSpawner.workspace_root = env.get("PLATFORM_WORKSPACES_DIR", str(data_dir.parent / "workspaces"))
    c.PortalLocalSpawner.isolation = env.get("PLATFORM_ISOLATION", "auto")
    c.PortalLocalSpawner.account_prefix = env.get("PLATFORM_ACCOUNT_PREFIX", "dsw-")
    # What no workspace may see: the platform's state and the hub's (and any extra, e.g. the test services).
    c.PortalLocalSpawner.hidden_paths = [path for path in [env.get("PLATFORM_DATA_DIR", ""), str(data_dir),
                                                           *env.get("PLATFORM_HIDDEN_PATHS", "").split(os.pathsep)] if path]
    # e.g. [{"index": "0", "type": "h100"}, {"index": "1", "type": "h100"}]; empty: ask nvidia-smi.
    c.PortalLocalSpawner.gpu_devices = json.loads(env.get("PLATFORM_GPU_DEVICES") or "[]")
    # The lab configuration image workspaces mount read-only (local ones read it in place): a folder, not an import.
    c.PortalLocalSpawner.lab_dir = str(Path(__file__).resolve().parent.parent / "workspaces" / "lab")
    # The fork server, warmed with a local launch's lab configuration (workspaces/launch.py), a few seconds after
    # the hub is up: the first launch does not wait for it.
    if env.get("PLATFORM_FORK_SERVER_WARM_UP"):
        from spawner.local import fork_server_prestart

        fork_server_prestart(str(data_dir / "spawner"), json.loads(env["PLATFORM_FORK_SERVER_WARM_UP"]),
                             delay=float(env.get("PLATFORM_FORK_SERVER_PRESTART_DELAY", "5")))
else:
    raise ValueError(f"PLATFORM_SPAWNER must be 'local' or 'kubernetes', not {back_end!r}")
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = int(env.get("PLATFORM_SPAWN_TIMEOUT", "300"))
c.Spawner.http_timeout = 120
# How often the hub checks servers (and the spawner reports out-of-memory kills).
c.Spawner.poll_interval = int(env.get("PLATFORM_SPAWNER_POLL_INTERVAL", "30"))

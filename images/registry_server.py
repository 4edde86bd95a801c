"""Running Debian's docker-registry (distribution 2.8) next to the portal: its configuration.

Used by `make run` (platform_run) and by the test suite, so both run the same set-up: filesystem
storage, token auth by the portal, push notifications to the portal's webhook.
"""

import hashlib
import json
import shutil
from pathlib import Path

from django.conf import settings

from images.tokens import ensure_signing_material

REGISTRY_BINARY = "docker-registry"


def registry_installed():
    return shutil.which(REGISTRY_BINARY) is not None


def registry_config(*, listen, storage_dir, portal_url, webhook_url=None):
    """The registry's configuration as a dict (written as JSON, which is valid YAML)."""
    _, cert_path = ensure_signing_material()
    portal_url = portal_url.rstrip("/")
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage_dir)}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        # Signs the registry's upload state; derived so the Django key itself never lands in a file.
        "http": {"addr": listen, "secret": hashlib.sha256(f"registry-http:{settings.SECRET_KEY}".encode()).hexdigest()},
        "auth": {"token": {
            "realm": f"{portal_url}/api/v1/images/registry/token/",
            "service": settings.PLATFORM_REGISTRY_SERVICE,
            "issuer": settings.PLATFORM_REGISTRY_TOKEN_ISSUER,
            "rootcertbundle": str(cert_path),
        }},
        "notifications": {"endpoints": [{
            "name": "portal",
            "url": webhook_url or f"{portal_url}/api/v1/images/registry/events/",
            "headers": {"Authorization": [f"Bearer {settings.PLATFORM_REGISTRY_WEBHOOK_TOKEN}"]},
            "timeout": "5s",
            "threshold": 3,
            "backoff": "1s",
            "ignoredmediatypes": ["application/octet-stream"],
        }]},
    }


def registry_config_write(path, **kwargs):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registry_config(**kwargs), indent=2))
    path.chmod(0o600)  # it holds the webhook token
    return path


def registry_command(config_path):
    return [shutil.which(REGISTRY_BINARY) or REGISTRY_BINARY, "serve", str(config_path)]


def embedded_registry_command(*, registry_port, portal_internal_url):
    """(argv or None, a line for people) for `make run`: start docker-registry when it is installed and the
    registry setting points at the embedded one; otherwise say plainly what the catalog offers."""
    url = settings.PLATFORM_REGISTRY_URL
    if not url:
        return None, ("No image registry: docker-registry is not installed (apt-get install docker-registry) and "
                      "PLATFORM_REGISTRY_URL is not set, so the image catalog offers local environments only.")
    if url != f"http://127.0.0.1:{registry_port}":
        return None, f"Image registry: {url} (external; the portal issues its tokens)."
    if not registry_installed():
        return None, (f"PLATFORM_REGISTRY_URL is {url} but docker-registry is not installed: "
                      "the image catalog offers local environments only.")
    data = settings.PLATFORM_DATA_DIR / "registry"
    config = registry_config_write(data / "config.json", listen=f"127.0.0.1:{registry_port}", storage_dir=data / "storage",
                                   portal_url=settings.PLATFORM_PUBLIC_URL,
                                   webhook_url=f"{portal_internal_url}/api/v1/images/registry/events/")
    return registry_command(config), f"Image registry: {url} (push to {settings.PLATFORM_REGISTRY_HOST}/platform/…)"

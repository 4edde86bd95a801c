"""Running Debian's docker-registry (distribution 2.8) next to the portal: its configuration.

Used by `make run` (platform_run) and by the test suite, so both run the same set-up: filesystem
storage, token auth by the portal, push notifications to the portal's webhook.
"""

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
        "http": {"addr": listen, "secret": settings.SECRET_KEY[:32]},
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

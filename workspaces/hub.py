"""The one place that builds the hub client from settings (so tests and modes swap it in one spot)."""

import os

from django.conf import settings

from portal.integrations.jupyterhub import HubClient


def hub_client():
    return HubClient(settings.PLATFORM_HUB_API_URL, settings.PLATFORM_HUB_API_TOKEN,
                     servers_url=settings.PLATFORM_SERVERS_URL or settings.PLATFORM_PUBLIC_URL,
                     pool_size=settings.PLATFORM_CULL_CONCURRENCY)


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


def hub_environment(*, portal_internal_url, hub_port, proxy_api_port):
    """The variables spawner/jupyterhub_config.py reads."""
    return {
        "PLATFORM_PUBLIC_URL": settings.PLATFORM_PUBLIC_URL,
        "PLATFORM_PORTAL_INTERNAL_URL": portal_internal_url,
        "PLATFORM_HUB_BIND_URL": f"http://127.0.0.1:{hub_port}",
        "PLATFORM_PROXY_API_URL": f"http://127.0.0.1:{proxy_api_port}",
        "PLATFORM_HUB_API_TOKEN": settings.PLATFORM_HUB_API_TOKEN,
        "PLATFORM_HUB_OAUTH_CLIENT_ID": settings.PLATFORM_HUB_OAUTH_CLIENT_ID,
        "PLATFORM_HUB_OAUTH_CLIENT_SECRET": settings.PLATFORM_HUB_OAUTH_CLIENT_SECRET,
        "PLATFORM_HUB_DATA_DIR": str(settings.PLATFORM_DATA_DIR / "hub"),
        "PLATFORM_HOMES_DIR": str(settings.PLATFORM_HOMES_DIR),
        "PLATFORM_WORKSPACES_DIR": str(settings.PLATFORM_WORKSPACES_DIR),
        "PLATFORM_SPAWN_TIMEOUT": str(settings.PLATFORM_SPAWN_TIMEOUT),
        "PLATFORM_SITE_NAME": settings.PLATFORM_SITE_NAME,
        "CONFIGPROXY_AUTH_TOKEN": _proxy_token(),
        **{name: os.environ[name] for name in ("PLATFORM_ISOLATION", "PLATFORM_GPU_DEVICES") if name in os.environ},
    }


def _proxy_token():
    import secrets

    # One proxy per platform: a fresh token at each start is fine (the hub starts the proxy).
    return secrets.token_hex(32)

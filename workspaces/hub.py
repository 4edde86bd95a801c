"""The one place that builds the hub client from settings (so tests and modes swap it in one spot)."""

from django.conf import settings

from portal.integrations.jupyterhub import HubClient


def hub_client():
    return HubClient(settings.PLATFORM_HUB_API_URL, settings.PLATFORM_HUB_API_TOKEN,
                     servers_url=settings.PLATFORM_SERVERS_URL or settings.PLATFORM_PUBLIC_URL,
                     pool_size=settings.PLATFORM_CULL_CONCURRENCY)

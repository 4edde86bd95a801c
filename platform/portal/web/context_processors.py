from django.conf import settings


def platform(request):
    return {
        "site_name": settings.PLATFORM_SITE_NAME,
        "sso_enabled": bool(settings.PLATFORM_OIDC_ISSUER),
        "sso_display_name": settings.PLATFORM_OIDC_DISPLAY_NAME,
        "embedded_mode": not settings.PRODUCTION,
    }

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class CostsConfig(AppConfig):
    name = "costs"
    verbose_name = "Costs and budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from costs.currencies import MINOR_DIGITS

        if settings.PLATFORM_CURRENCY not in MINOR_DIGITS:
            raise ImproperlyConfigured(f"PLATFORM_CURRENCY={settings.PLATFORM_CURRENCY!r} is not a known ISO 4217 currency code.")

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self):
        from portal.accounts import signals  # noqa: F401  (audit of Django's own login events)

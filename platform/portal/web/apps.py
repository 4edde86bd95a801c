from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _cache_table_ensure(using, **kwargs):
    """The database cache's table (the embedded default's shared cache; see settings.CACHES).

    After every `migrate`, so `make run` needs no extra step; createcachetable skips tables that
    exist and caches that are not database caches."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class WebConfig(AppConfig):
    name = "portal.web"
    label = "web"
    verbose_name = "Web shell"

    def ready(self):
        post_migrate.connect(_cache_table_ensure, sender=self, dispatch_uid="portal.web.cache_table")

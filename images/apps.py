"""The image catalog: which environments workspaces may launch from."""
from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_builtin_environment(sender, using="default", **kwargs):
    from images.services import local_default_ensure

    local_default_ensure(using=using)


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Image catalog"

    def ready(self):
        # After every migrate (and every test database flush, which re-sends post_migrate), like
        # Django's own content types: the platform's own Python is always in the catalog.
        post_migrate.connect(_ensure_builtin_environment, sender=self, dispatch_uid="images_builtin_environment")

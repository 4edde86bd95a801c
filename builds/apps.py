from django.apps import AppConfig


class BuildsConfig(AppConfig):
    name = "builds"
    verbose_name = "Image builds"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class BucketsConfig(AppConfig):
    name = "buckets"
    verbose_name = "Buckets and data access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from buckets import signals  # noqa: F401  (queue a sync when people, teams or memberships change)

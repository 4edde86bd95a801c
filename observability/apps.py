from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self):
        # Connected in every process that loads Django: the portal publishes tasks, workers run them.
        from observability import task_signals  # noqa: F401

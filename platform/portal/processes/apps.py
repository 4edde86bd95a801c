from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "portal.processes"
    label = "processes"
    verbose_name = "The platform's processes on one machine"

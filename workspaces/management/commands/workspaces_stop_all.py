"""Stop every running workspace (homes are kept): before a planned shutdown of the whole machine, or to
free it. Servers outlive `platform_run`, so this is how an operator stops them all; the platform must be
running, since its worker and the hub do the stopping."""

from django.core.management.base import BaseCommand

from workspaces.models import Workspace
from workspaces.services import workspace_request_stop


class Command(BaseCommand):
    help = "Ask every running or starting workspace to stop (homes are kept); the platform must be running."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="stopped by an operator",
                            help="shown to the owners in their workspace's history")

    def handle(self, *args, reason, **options):
        stopped = 0
        for workspace in Workspace.objects.filter(desired_state=Workspace.Desired.RUNNING):
            workspace_request_stop(workspace=workspace, actor=None, reason=reason, kind="stop_requested")
            stopped += 1
        self.stdout.write(f"Asked {stopped} workspace{'s' if stopped != 1 else ''} to stop; the worker stops "
                          "them through the hub in the next seconds (homes are kept).")

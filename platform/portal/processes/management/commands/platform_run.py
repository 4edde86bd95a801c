"""Run the whole platform on one machine behind one public address (PLATFORM_PORT): the portal
(gunicorn), the Celery worker and beat, the proxy, JupyterHub and the image registry.

A child that dies is started again with back-off (portal/processes/supervisor.py); the platform
gives up only when one keeps failing fast, and says why in one line. Ctrl-C (SIGINT), SIGTERM or
SIGHUP stop every child; workspace servers keep running (as pods do on Kubernetes) and the next
start re-adopts them. Nothing else outlives this command, even when it is killed with SIGKILL.
"""

import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.processes.children import hub_oauth_client_ensure, platform_children, ports
from portal.processes.state import metrics_dir_reset, state_dir_fix_command, state_dir_prepare, state_dir_problems


class Command(BaseCommand):
    help = ("Start the portal, the Celery worker and beat, the proxy, JupyterHub and the image registry, and keep "
            "them running; Ctrl-C stops them (workspaces keep running).")
    # Django's system checks import every view (1.4 s before the first child starts, and the views held in a
    # process that serves nothing). `make run` runs them with `migrate` just before; the portal's workers load
    # the same views and fail loudly if they cannot.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("PLATFORM_WEB_WORKERS", "2")))

    def handle(self, *args, web_workers, **options):
        from portal.processes.supervisor import Supervisor

        state_dir_prepare()
        problems = state_dir_problems()
        if problems:
            raise CommandError(
                "Refusing to start: workspaces run other people's code on this machine, and the platform's state "
                "is open to other accounts:\n  " + "\n  ".join(problems)
                + f"\nMake it private with:\n  {state_dir_fix_command()}")
        metrics_dir_reset()
        hub_oauth_client_ensure()
        specs, registry_note = platform_children(web_workers=web_workers)
        supervisor = Supervisor(specs, output=self._child_output, log=self._log, on_restart=self._restarted)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, supervisor.request_stop)
        supervisor.start_all()
        self._janitor_soon()
        self._banner(supervisor, registry_note)
        reason = supervisor.run()
        self.stdout.write("Stopping…")
        supervisor.stop_all()
        self.stdout.write(self._after_stop_message())
        if reason:
            raise CommandError(f"Gave up: {reason}. Everything was stopped.")

    def _child_output(self, name, line):
        self.stdout.write(f"{name:>8} | {line}")
        self.stdout.flush()

    def _log(self, message):
        self.stderr.write(f"platform: {message}")

    def _restarted(self, name):
        if name in ("worker", "hub"):
            # A worker killed mid-task lost that task; a restarted hub forgot spawns in flight. The janitor
            # queues a reconcile for every workspace that is not settled, so those launches go on.
            self._janitor_soon()

    def _janitor_soon(self):
        from workspaces.tasks import workspace_reconcile_all_task

        try:
            workspace_reconcile_all_task.apply_async(countdown=3)
        except Exception as exc:  # noqa: BLE001  (beat runs the janitor every 30 s anyway)
            self._log(f"could not queue the janitor: {exc}")

    def _banner(self, supervisor, registry_note):
        url = settings.PLATFORM_PUBLIC_URL
        port = ports(settings.PLATFORM_PORT)
        lines = [
            "",
            f"The platform is up at {url}/  (Ctrl-C stops it; workspaces keep running)",
            f"  portal and API   {url}/  (API docs {url}/api/docs/; portal process on 127.0.0.1:{port['portal']})",
            f"  JupyterHub       {url}/hub/  (hub on 127.0.0.1:{port['hub']}, proxy API on 127.0.0.1:{port['proxy_api']})",
            f"  tasks            Celery worker and beat (broker: {settings.CELERY_BROKER_URL.split('://')[0]})",
            f"  {registry_note}",
            f"  metrics          {url}/metrics and {url}/hub/metrics with Authorization: Bearer {self._token_hint()}",
            f"  health           {url}/healthz (alive), {url}/readyz (database, broker, hub)",
            f"  state            {settings.PLATFORM_DATA_DIR} (private to this account)",
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
        self.stdout.flush()

    @staticmethod
    def _token_hint():
        if os.environ.get("PLATFORM_METRICS_TOKEN") or os.environ.get("PLATFORM_METRICS_TOKEN_FILE"):
            return "$PLATFORM_METRICS_TOKEN"
        return f"$(cat {settings.PLATFORM_DATA_DIR / 'metrics_token'})"

    def _after_stop_message(self):
        from workspaces.models import Workspace

        try:
            running = Workspace.objects.filter(desired_state=Workspace.Desired.RUNNING,
                                               observed_state=Workspace.Observed.RUNNING).count()
        except Exception:  # noqa: BLE001  (the database itself may be what failed)
            return "Stopped."
        if not running:
            return "Stopped. No workspace was running."
        return (f"Stopped. {running} workspace{'s keep' if running != 1 else ' keeps'} running: servers outlive the "
                f"platform and the next start re-adopts them. To stop them all, start the platform and run\n"
                f"  {sys.executable} manage.py workspaces_stop_all")

"""Run the whole platform on one machine: the proxy and JupyterHub, the portal, and the
Celery worker with beat, behind one public address (PLATFORM_PORT).

Ctrl-C (SIGINT) or SIGTERM stops every child and waits for it; if one child dies,
the others are stopped too, so nothing is left running behind.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from images.registry_server import embedded_registry_command
from workspaces.hub import hub_environment, hub_oauth_client_ensure

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Children get SIGTERM if this supervisor is killed without a chance to clean up."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Command(BaseCommand):
    help = "Start the proxy, JupyterHub, the portal (gunicorn) and a Celery worker with beat; Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("PLATFORM_WEB_WORKERS", "2")))

    def handle(self, *args, web_workers, **options):
        self._prepare_dirs()
        hub_oauth_client_ensure()
        port = settings.PLATFORM_PORT
        portal_port, hub_port, proxy_api_port = port + 3, port + 2, port + 1
        python = sys.executable
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(settings.BASE_DIR / "platform"), str(settings.BASE_DIR)])}
        env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        hub_env = {**env, **hub_environment(portal_internal_url=f"http://127.0.0.1:{portal_port}",
                                            hub_port=hub_port, proxy_api_port=proxy_api_port)}
        commands = {
            "web": [python, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{portal_port}",
                    "--workers", str(web_workers), "--threads", "4", "--access-logfile", "-",
                    "--graceful-timeout", "10"],
            "worker": [python, "-m", "celery", "-A", "portal", "worker", "--beat", "--loglevel", "INFO",
                       "--concurrency", "2", "--schedule", str(settings.PLATFORM_DATA_DIR / "celery" / "beat-schedule")],
        }
        self.children = {}
        self.stopping = False
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        commands["hub"] = [python, "-m", "jupyterhub", "-f", str(settings.BASE_DIR / "spawner" / "jupyterhub_config.py")]
        registry, registry_note = embedded_registry_command(registry_port=port + 5, portal_internal_url=f"http://127.0.0.1:{portal_port}")
        if registry:
            commands["registry"] = registry
        self.stdout.write(registry_note)
        for name, argv in commands.items():
            self.children[name] = subprocess.Popen(argv, env=hub_env if name == "hub" else env, cwd=settings.BASE_DIR,
                                                   start_new_session=True, preexec_fn=_die_with_parent)
        self.stdout.write(self.style.SUCCESS(f"\nThe platform is up at {settings.PLATFORM_PUBLIC_URL}/  (Ctrl-C stops it)\n"))
        exit_code = self._wait()
        self._stop_all()
        if exit_code:
            raise CommandError(f"A process exited unexpectedly (status {exit_code}); everything was stopped.")

    def _prepare_dirs(self):
        for sub in ("celery/broker", "celery/control", "mail", "hub"):
            (settings.PLATFORM_DATA_DIR / sub).mkdir(parents=True, exist_ok=True)

    def _request_stop(self, signum, frame):
        self.stopping = True

    def _wait(self):
        while not self.stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"{name} exited with status {code}")
                    return code or 1
            time.sleep(0.3)
        return 0

    def _stop_all(self, timeout=15):
        self.stdout.write("Stopping…")
        for child in self.children.values():
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal_group(child, signal.SIGKILL)
                child.wait()
        for child in self.children.values():  # stragglers of a child that died first
            self._signal_group(child, signal.SIGKILL)
        self.stdout.write("Stopped.")

    @staticmethod
    def _signal_group(child, signum):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

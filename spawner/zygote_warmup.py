"""Warming the fork server: one throwaway Jupyter server, run inside it before it forks the servers that count.

A forked server shares the fork server's pages until it writes to them; CPython writes to an object whenever
it is used (its reference count, the specialising interpreter's caches in the code it runs) and whenever a
first use fills a lazy cache (mimetypes, compiled templates and patterns, translations, entry points). Code
that no server ran before the fork therefore costs every server its own copy of each page it touches. The
warm-up runs what every server runs next through the platform's lab configuration, once: start, the lab page
and the lab's first requests, a notebook's kernel started (the warmed kernel of dsw_warm_kernel.py) and shut
down; then it takes everything down again. What the servers forked afterwards find already warm stays shared.
Measured (benchmarks/density.py): a server whose lab was opened and whose warmed kernel came and went keeps
about 3.4 MiB less of its own.

The throwaway server listens on the loopback address for the few seconds it runs, with a random token, as the
fork server's account (root in per-user mode), its home a fresh folder inside the fork server's own private
directory. Its kernel talks over ZeroMQ sockets in that folder (`ipc`), not over TCP ports.
"""

import asyncio
import gc
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time

from traitlets.config import SingletonConfigurable

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2)
# What JupyterLab asks for as it loads, in order (a browser opening it does the same).
_LAB_REQUESTS = ["/api/status", "/lab", "/lab/api/settings", "/api/kernelspecs", "/api/contents?content=1",
                 "/lab/api/translations/en", "/api/sessions", "/api/kernels", "/lab/api/workspaces", "/api/me",
                 "/api/terminals", "/lsp/status", "/lab/api/extensions", "/api/config/notebook"]


class WarmUpFailed(Exception):
    pass


class ThreadsLeft(WarmUpFailed):
    """The throwaway server left a thread running: the process must not fork any more."""


def warm_up(environment, directory, *, timeout=60):
    """Run one throwaway server with `environment` (a launch's lab variables: zygote.WARM_UP_ENVIRONMENT), its files
    under `directory`; leave the process as it found it (environment, working folder, signal handlers, sys.path,
    singletons, event loop policy, threads). Returns the seconds it took; raises WarmUpFailed."""
    started = time.monotonic()
    saved_environ, saved_cwd, saved_path = dict(os.environ), os.getcwd(), list(sys.path)
    saved_signals = {number: signal.getsignal(number) for number in _SIGNALS}
    saved_policy = asyncio.events._event_loop_policy
    threads_before = _thread_count()
    home = tempfile.mkdtemp(prefix="warm-up-", dir=directory)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel is our child while it runs: jupyter_client reaps it
    try:
        os.environ.clear()
        os.environ.update({name: saved_environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH")
                           if name in saved_environ})
        os.environ.update(environment)
        os.environ.update(HOME=home, JUPYTER_RUNTIME_DIR=os.path.join(home, "runtime"),
                          JUPYTER_DATA_DIR=os.path.join(home, "data"), IPYTHONDIR=os.path.join(home, "ipython"))
        os.chdir(home)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(asyncio.wait_for(_serve_once(home), timeout))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (anything the throwaway server raised, even its exit on a
        # configuration it cannot load: the fork server goes on cold)
        said = f" ({_LastError.message})" if _LastError.message else ""
        raise WarmUpFailed(f"{exc.__class__.__name__}: {exc}{said}") from exc
    finally:
        _close_zmq_contexts()
        _clear_singletons()
        asyncio.events._event_loop_policy = saved_policy  # a fresh policy: the forked server makes its own loop
        os.environ.clear()
        os.environ.update(saved_environ)
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for number, handler in saved_signals.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        shutil.rmtree(home, ignore_errors=True)
        gc.collect()
    _wait_for_threads(threads_before)
    return time.monotonic() - started


async def _serve_once(home):
    from jupyter_server.serverapp import ServerApp
    from tornado.httpclient import AsyncHTTPClient

    token = secrets.token_hex(32)
    app = ServerApp.instance()
    app.log.addHandler(_LastError(logging.ERROR))
    app.initialize(argv=["--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
                         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
                         "--ServerApp.allow_root=True", f"--ServerApp.root_dir={home}",
                         "--KernelManager.transport=ipc", f"--KernelManager.ip={os.path.join(home, 'kernel')}"])
    app.start_app()
    client = AsyncHTTPClient(force_instance=True)
    try:
        await app._post_start()
        [port] = {sock.getsockname()[1] for sock in app.http_server._sockets.values()}
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
        for path in _LAB_REQUESTS:
            response = await client.fetch(base + path, headers=headers, raise_error=False)
            if path in ("/api/status", "/lab") and response.code != 200:
                raise WarmUpFailed(f"{path} answered {response.code}")
        # A notebook's session: its kernel is the one the lab page warmed (dsw_warm_kernel), started and idle.
        response = await client.fetch(base + "/api/sessions", method="POST", headers=headers, raise_error=False,
                                      body=json.dumps({"path": "warm-up.ipynb", "type": "notebook", "name": "",
                                                       "kernel": {"name": "python3"}}))
        if response.code != 201:
            raise WarmUpFailed(f"starting a notebook's kernel answered {response.code}")
        kernel_id = json.loads(response.body)["kernel"]["id"]
        await app.kernel_manager.get_kernel(kernel_id).ready
    finally:
        client.close()
        await app._cleanup()  # the kernels shut down, the extensions stopped, the listener closed


class _LastError(logging.Handler):
    """The last error the throwaway server logged: an application that exits says why only in its log."""

    message = ""

    def emit(self, record):
        type(self).message = record.getMessage().strip().splitlines()[-1][:300] if record.getMessage().strip() else ""


def _clear_singletons():
    """Forget every configurable singleton the throwaway server made (ServerApp, LabApp, …): the forked server
    makes its own, and traitlets refuses a second application class while one instance is held."""
    pending = [SingletonConfigurable]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__dict__.get("_instance") is not None:
            cls._instance = None
    for module_name in ("dsw_warm_kernel",):  # the lab page's hook holds the throwaway server's kernel manager
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "_WarmOnLabPage"):
            module._WarmOnLabPage.kernel_manager = None


def _close_zmq_contexts():
    """Every ZeroMQ context the throwaway server opened (the kernel managers' and their clients'): each runs two
    threads of its own until it is closed."""
    import zmq

    for context in [obj for obj in gc.get_objects() if isinstance(obj, zmq.Context)]:
        if not context.closed:
            context.destroy(linger=0)
    zmq.Context._instance = None


def _thread_count():
    return len(os.listdir("/proc/self/task"))


def _wait_for_threads(expected, timeout=10):
    """Forking with a helper thread alive would leave the child a lock it can never take: wait for the throwaway
    server's threads (a worker pool's idle threads end on their own) and fail if they stay."""
    deadline = time.monotonic() + timeout
    while _thread_count() > expected:
        if time.monotonic() > deadline:
            raise ThreadsLeft(f"{_thread_count() - expected} of its threads are still running")
        time.sleep(0.05)

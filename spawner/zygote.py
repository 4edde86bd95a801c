"""A fork server for local single-user servers.

`python -m jupyterhub.singleuser` spends about 1.3 s of CPU importing JupyterHub's own modules
(its ORM, SQLAlchemy, Alembic, aiohttp) before it serves anything, more than a bare `jupyter
server` needs in all. The zygote imports the single-user code once, then forks a process per
launch that already has it: the child joins its limit group, drops to the owner's account, takes
the server's environment and arguments, and runs the server.

Run by PortalLocalSpawner as `python -m spawner.zygote SOCKET [WARM_UP_ENVIRONMENT [first|when-idle]]`
(as root, SOCKET in a directory only root can enter). With WARM_UP_ENVIRONMENT (JSON: the lab
configuration of a launch) it runs one throwaway server (spawner/zygote_warmup.py), so that the servers
it forks afterwards share what that warmed: `first` before it says it is ready (the hub starts it so,
ahead of any launch), `when-idle` once no server was forked for a second (a launch that found none
running starts it so, and need not wait for the warm-up). One JSON request per connection, one JSON answer:

    {"op": "spawn", "argv": [...], "env": {...}, "cwd": "/home/...", "user": "dsw-alice" | null,
     "join": ["/sys/fs/cgroup/.../cgroup.procs", ...], "rlimit_as": bytes | null,
     "private_view": {"hidden": [...], "keep": [...]} | null, "log": "/path/server.log" | null}  -> {"pid": N}
    {"op": "status", "pid": N}  -> {"status": null while it runs, else its exit code}
    {"op": "warm-up"}  -> {"warm_up": "pending" | "done" | "failed: <why>" | "off"}

It exits when the hub that started it goes away; servers it forked keep running.
"""

import gc
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

PRELOAD = ["jupyterhub.singleuser", "jupyterhub.singleuser.extension", "jupyter_server.serverapp",
           "jupyterlab", "jupyter_lsp", "jupyter_server_terminals", "notebook_shim", "ipykernel", "spawner.isolation",
           # What a server imports as it loads its extensions and handlers, found by comparing a started server's
           # sys.modules with the list above: imported here, their code is shared by every server instead of
           # copied into each (about 250 modules; IPython, rich and httpx come with JupyterLab's extension manager).
           "jupyterlab.labapp", "jupyterlab.commands", "jupyterlab.extensions.pypi", "jupyterlab.extensions.readonly",
           "jupyterlab.handlers.build_handler", "jupyterlab.handlers.error_handler",
           "jupyterlab.handlers.extension_manager_handler", "jupyterlab.handlers.plugin_manager_handler",
           "jupyterlab_server.process", "notebook_shim.nbserver", "jupyter_server.view.handlers",
           "jupyter_server.kernelspecs.handlers", "jupyter_server.nbconvert.handlers",
           "jupyter_server.services.api.handlers", "jupyter_server.services.config.handlers",
           "jupyter_server.services.contents.handlers", "jupyter_server.services.events.handlers",
           "jupyter_server.services.kernels.handlers", "jupyter_server.services.kernelspecs.handlers",
           "jupyter_server.services.nbconvert.handlers", "jupyter_server.services.security.handlers",
           "jupyter_server.services.sessions.handlers", "jupyter_server.services.shutdown",
           "tornado.platform.asyncio", "IPython", "rich", "httpx", "tarfile", "xmlrpc.client",
           # ... and as it answers JupyterLab's first requests (the extension manager's HTTP client, translations).
           "httpcore", "h11", "anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled",
           "anyio.streams.tls", "babel.dates", "babel.numbers", "babel.localtime", "ipykernel.kernelspec", "jinja2.ext",
           "jupyter_lsp.virtual_documents_shadow", "psutil",
           # nbdime's server extension imports GitPython, which runs `git version` as it loads: 100 ms a server.
           "nbdime.webapp.nb_server_extension"]

# What of a launch's environment the fork server warms up with: the lab configuration and the addresses it serves the
# lab from (none of them secret).
WARM_UP_ENVIRONMENT = ("JUPYTER_CONFIG_PATH", "PLATFORM_LAB_STATIC_URL", "PLATFORM_LAB_EXTENSIONS")

_exits = {}  # pid -> exit code, for children that ended
_warm_up = {"state": "off"}  # what the "warm-up" request answers
# A fork server started for a launch warms up once it forked no server for this long: the launch that started it (and
# any made with it) is forked first.
WARM_UP_WHEN_IDLE_SECONDS = 1.0


def _reap(*_):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exits[pid] = os.waitstatus_to_exitcode(status)


def _run_server(request, listener):
    """In the forked child: become the workspace's server. Never returns."""
    code = 1
    try:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        if request.get("log"):  # the server's own log (opened as root: it lies where the server cannot look)
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)
        for procs_file in request["join"]:  # the limit group, while still root
            with open(procs_file, "w") as procs:
                procs.write(str(os.getpid()))
        if request.get("rlimit_as"):
            resource.setrlimit(resource.RLIMIT_AS, (request["rlimit_as"], request["rlimit_as"]))
        if request.get("private_view"):
            from spawner.isolation import enter_private_namespace

            enter_private_namespace(**request["private_view"])
        if request.get("user"):
            from jupyterhub.spawner import set_user_setuid

            set_user_setuid(request["user"], chdir=False)()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        from jupyterhub.singleuser import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001  (the server's own failure: say why on its stderr)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _answer(connection, listener):
    with connection:
        request = json.loads(connection.makefile("rb").readline())
        if request["op"] == "status":
            pid = request["pid"]
            status = _exits.get(pid)
            if status is None and not _alive(pid):
                status = 0  # not ours (any more) and gone
            reply = {"status": status}
        elif request["op"] == "warm-up":
            reply = {"warm_up": _warm_up["state"]}
        elif request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                connection.close()
                _run_server(request, listener)
            reply = {"pid": pid}
        else:
            reply = {"error": f"unknown op {request['op']!r}"}
        connection.sendall(json.dumps(reply).encode() + b"\n")
        return request["op"]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _warm(environment, socket_path):
    """The warm-up (spawner/zygote_warmup.py). A failed one leaves the servers to start cold; one that left a thread
    running makes forking unsafe (a child would inherit locks held by threads it does not have), so this process
    becomes a fresh fork server without it."""
    from spawner.zygote_warmup import ThreadsLeft, WarmUpFailed, warm_up

    # Our stdout says "ready" to the spawner, our stderr is the hub's log: what the throwaway server and its kernel
    # print goes nowhere (its logging still runs: every server logs the same way, and that code is warmed too).
    saved = os.dup(1), os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)
    try:
        seconds, problem = warm_up(environment, os.path.dirname(socket_path)), None
    except WarmUpFailed as exc:
        seconds, problem = None, exc
    finally:
        for fd, original in zip((1, 2), saved):
            os.dup2(original, fd)
            os.close(original)
    _reap()  # servers forked before it that ended while it ran (warm_up put our SIGCHLD handler back)
    start_again = isinstance(problem, ThreadsLeft)
    _warm_up["state"] = "done" if problem is None else f"failed: {problem}"
    if problem is None:
        print(f"zygote: warmed up in {seconds:.1f} s", file=sys.stderr, flush=True)
    else:
        print(f"zygote: the warm-up failed ({problem}); " + ("starting again without it" if start_again else "servers start cold"),
              file=sys.stderr, flush=True)
    if start_again:
        os.execv(sys.executable, [sys.executable, "-m", "spawner.zygote", socket_path])


def _freeze():
    """Everything imported (and warmed) so far moves to the collector's permanent generation: a forked server's
    collections then never walk (and so never write to, and copy) the pages it shares with us."""
    gc.collect()
    gc.freeze()


def main(socket_path, warm_up_environment=None, when="first"):
    for module in PRELOAD:
        try:
            __import__(module)
        except ImportError:
            pass  # optional extensions: the server imports what it has
    if warm_up_environment:
        _warm_up["state"] = "pending"
        if when == "first":
            _warm(warm_up_environment, socket_path)
    _freeze()
    signal.signal(signal.SIGCHLD, _reap)
    old_umask = os.umask(0o077)
    listener = socket.socket(socket.AF_UNIX)
    if os.path.exists(socket_path):  # ours, from before an exec (see _warm)
        os.unlink(socket_path)
    listener.bind(socket_path)
    os.umask(old_umask)
    listener.listen(64)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    print("ready", flush=True)
    os.dup2(2, 1)  # the servers' stdout: the spawner stops reading this pipe once we are ready
    last_fork = time.monotonic()
    while True:
        if _warm_up["state"] == "pending":
            # Warmed once no server was forked for a moment (status questions do not count: the hub asks them all the
            # time). Servers forked before keep the pages they share; this process writes its own copies of what the
            # warm-up touches (once), and the servers forked from then on share those.
            wait = last_fork + WARM_UP_WHEN_IDLE_SECONDS - time.monotonic()
            if wait <= 0:
                _warm(warm_up_environment, socket_path)
                _freeze()
                listener.settimeout(None)
                continue
            listener.settimeout(wait)
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        try:
            if _answer(connection, listener) == "spawn":
                last_fork = time.monotonic()
        except (OSError, ValueError, KeyError) as exc:
            print(f"zygote: bad request: {exc}", file=sys.stderr, flush=True)


# --- The spawner's side ----------------------------------------------------------------------

def call(socket_path, request):
    """One request to the fork server listening at `socket_path`, its answer."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(30)
        connection.connect(socket_path)
        connection.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(connection.makefile("rb").readline())
    if "error" in reply:
        raise OSError(reply["error"])
    return reply


class Zygote:
    """A running zygote for one Python, started on first use (blocking calls: run them in a thread)."""

    _by_python = {}
    _lock = threading.Lock()

    def __init__(self, python, directory, warm_up_environment=None, warm_up_first=True):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.socket_path = os.path.join(directory, f"zygote-{os.getpid()}.sock")
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        # Only what a server's environment could hold anyway: a forked server inherits the zygote's memory,
        # and the hub's own environment holds the platform's secrets.
        env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ") if name in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        # Only the lab variables go onto the command line (a launch's environment also holds its tokens).
        warm_up_environment = {name: value for name, value in (warm_up_environment or {}).items()
                               if name in WARM_UP_ENVIRONMENT}
        warm_up = [json.dumps(warm_up_environment), "first" if warm_up_first else "when-idle"] if warm_up_environment else []
        self.process = subprocess.Popen([python, "-m", "spawner.zygote", self.socket_path, *warm_up], env=env,
                                        stdout=subprocess.PIPE, start_new_session=True)
        if self.process.stdout.readline().strip() != b"ready":
            raise OSError(f"the fork server for {python} did not start (exit {self.process.poll()})")

    @classmethod
    def for_python(cls, python, directory, warm_up_environment=None, warm_up_first=False):
        """The running fork server for `python`, started if there is none (warmed up before it is ready with
        `warm_up_first`, else once idle: a launch waiting for it need not wait for the warm-up too)."""
        with cls._lock:
            zygote = cls._by_python.get(python)
            if zygote is None or zygote.process.poll() is not None:
                zygote = cls._by_python[python] = cls(python, directory, warm_up_environment, warm_up_first)
            return zygote

    def call(self, request):
        return call(self.socket_path, request)

    def warm_up_state(self):
        return self.call({"op": "warm-up"})["warm_up"]

    def spawn(self, **request):
        return ForkedProcess(self, self.call({"op": "spawn", **request})["pid"])


class ForkedProcess(subprocess.Popen):
    """What LocalProcessSpawner needs of a Popen (its `proc` trait wants one), for a server the zygote forked."""

    _child_created = False  # not our child: Popen's own clean-up has nothing to do

    def __init__(self, zygote, pid):  # noqa: super().__init__ would start a process
        self.zygote, self.pid, self.returncode = zygote, pid, None
        self.stdin = self.stdout = self.stderr = None

    def poll(self):
        if self.returncode is None:
            try:
                self.returncode = self.zygote.call({"op": "status", "pid": self.pid})["status"]
            except (OSError, ValueError):  # the zygote is gone: its children were re-parented
                self.returncode = None if _alive(self.pid) else 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else None, *sys.argv[3:4])

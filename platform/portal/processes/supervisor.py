"""Keep a set of child processes running: restart whatever dies, with back-off, and give up only
when one keeps failing fast.

Django-free, so it is tested with plain processes. Each child:
- runs in a process group of its own and gets SIGTERM if the supervisor itself dies, even by
  SIGKILL (a parent-death signal), so nothing outlives `platform_run`;
- has its output forwarded line by line with its name in front, and the last lines kept, so a
  failure is reported with what the child itself said last.

A child that exits while the supervisor is not stopping is restarted after a back-off that doubles
from `backoff_initial` to `backoff_max` and is reset once the child has stayed up for
`stable_seconds`. A child that failed `give_up_after` times in a row, each time within
`stable_seconds` of starting, makes `run()` return a one-line reason instead.
"""

import collections
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1
TAIL_LINES = 20


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list
    env: dict = field(default_factory=dict)
    cwd: str = None
    # A loopback port the child listens on: start_all() waits for it before starting the next child
    # (the hub needs the proxy's API at once; the rest of the platform waits for the hub).
    ready_port: int = None


def _die_with_parent():
    """Runs in the child before exec: SIGTERM when the supervisor goes away, however it goes."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for_port(child, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", child.spec.ready_port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def describe_exit(code):
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Child:
    def __init__(self, spec, output):
        self.spec = spec
        self.output = output
        self.process = None
        self.started_at = 0.0
        self.fast_failures = 0
        self.restarts = 0
        self.restart_at = None  # monotonic time of the next start, while waiting to restart
        self.tail = collections.deque(maxlen=TAIL_LINES)
        self._reader = None

    def start(self):
        self.process = subprocess.Popen(self.spec.argv, env=self.spec.env or None, cwd=self.spec.cwd,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        self.restart_at = None
        self._reader = threading.Thread(target=self._forward, args=(self.process.stdout,), daemon=True,
                                        name=f"output-{self.spec.name}")
        self._reader.start()

    def _forward(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.tail.append(line)
            self.output(self.spec.name, line)
        stream.close()

    def last_words(self):
        """The child's last line of output that says something, for a one-line reason."""
        if self._reader is not None:
            self._reader.join(timeout=1)  # what it wrote before it died
        for line in reversed(self.tail):
            if line.strip():
                return line.strip()[:300]
        return ""

    def signal_group(self, signum):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


class Supervisor:
    def __init__(self, specs, *, output, log, backoff_initial=1.0, backoff_max=30.0, stable_seconds=30.0,
                 give_up_after=5, on_restart=None):
        """`output(name, line)` receives the children's output, `log(message)` the supervisor's own;
        `on_restart(name)` is called after a child was started again."""
        self.children = {spec.name: Child(spec, output) for spec in specs}
        self.log = log
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_seconds = stable_seconds
        self.give_up_after = give_up_after
        self.on_restart = on_restart
        self.stopping = threading.Event()

    def start_all(self, ready_timeout=30.0):
        for child in self.children.values():
            child.start()
            if child.spec.ready_port:
                _wait_for_port(child, ready_timeout)

    def request_stop(self, *_):
        self.stopping.set()

    def run(self, poll_seconds=0.2):
        """Until request_stop(): restart what dies. Returns None, or a one-line reason to give up."""
        while not self.stopping.is_set():
            now = time.monotonic()
            for child in self.children.values():
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self._restart(child)
                    continue
                code = child.process.poll()
                if code is None:
                    if child.fast_failures and now - child.started_at >= self.stable_seconds:
                        child.fast_failures = 0  # it stayed up: the next failure starts the back-off afresh
                    continue
                reason = self._on_exit(child, code, now)
                if reason:
                    return reason
            self.stopping.wait(poll_seconds)
        return None

    def _on_exit(self, child, code, now):
        child.signal_group(signal.SIGKILL)  # whatever it left behind in its group
        words = child.last_words()
        said = f" (last output: {words})" if words else ""
        if now - child.started_at < self.stable_seconds:
            child.fast_failures += 1
        else:
            child.fast_failures = 1
        if child.fast_failures >= self.give_up_after:
            return (f"{child.spec.name} {describe_exit(code)} {child.fast_failures} times in a row, each within "
                    f"{self.stable_seconds:g} s of starting{said}")
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (child.fast_failures - 1))
        self.log(f"{child.spec.name} {describe_exit(code)}{said}; restarting it in {delay:g} s")
        child.restart_at = now + delay
        return None

    def _restart(self, child):
        try:
            child.start()
        except OSError as exc:
            child.fast_failures += 1
            child.restart_at = time.monotonic() + self.backoff_max
            self.log(f"{child.spec.name} could not be started again: {exc}; trying again in {self.backoff_max:g} s")
            return
        child.restarts += 1
        self.log(f"{child.spec.name} started again (restart {child.restarts})")
        if self.on_restart:
            self.on_restart(child.spec.name)

    def stop_all(self, timeout=20.0, order=None):
        """SIGTERM every child (in `order`, default the reverse of the start order), wait up to `timeout`
        in all, then SIGKILL what is left, group by group. The signal goes to the child alone: gunicorn's
        master and Celery's main process stop their own workers in order (a signal to their whole group
        makes Celery's pool die under it and its main process wait for it)."""
        names = order or list(reversed(self.children))
        running = [self.children[name] for name in names if self.children[name].process is not None]
        for child in running:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{child.spec.name} did not stop within {timeout:g} s; killing it")
        for child in running:
            child.signal_group(signal.SIGKILL)  # stragglers in its group
            if child.process.poll() is None:
                child.process.wait(5)

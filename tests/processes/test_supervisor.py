"""The supervisor with plain processes: what dies is started again, what keeps dying fast makes it give
up with the child's own last words, and nothing outlives it, not even when it is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from portal.processes.supervisor import ChildSpec, Supervisor, describe_exit


def supervise(specs, **options):
    lines, log = [], []
    supervisor = Supervisor(specs, output=lambda name, line: lines.append((name, line)), log=log.append, **options)
    return supervisor, lines, log


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def wait_for(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_child_that_dies_is_started_again_after_a_back_off():
    supervisor, lines, log = supervise([ChildSpec("sleeper", ["sleep", "600"])], backoff_initial=0.2, stable_seconds=60)
    supervisor.start_all()
    runner = threading.Thread(target=supervisor.run, kwargs={"poll_seconds": 0.05})
    runner.start()
    try:
        first = supervisor.children["sleeper"].process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: any("sleeper started again (restart 1)" in line for line in log))
        assert supervisor.children["sleeper"].process.pid != first
        assert alive(supervisor.children["sleeper"].process.pid)
        assert any("sleeper killed by SIGKILL; restarting it in 0.2 s" in line for line in log), log
    finally:
        supervisor.request_stop()
        runner.join()
        supervisor.stop_all(timeout=5)
    assert not alive(supervisor.children["sleeper"].process.pid)


def test_repeated_fast_failures_give_up_with_the_childs_last_words():
    crash = [sys.executable, "-c", "import sys; print('starting'); print('database is locked', file=sys.stderr); sys.exit(3)"]
    steady = ChildSpec("steady", ["sleep", "600"])
    supervisor, lines, log = supervise([ChildSpec("crasher", crash), steady], backoff_initial=0.01, backoff_max=0.05,
                                       give_up_after=4)
    supervisor.start_all()
    reason = supervisor.run(poll_seconds=0.01)
    supervisor.stop_all(timeout=5)
    assert reason == ("crasher exited with status 3 4 times in a row, each within 30 s of starting "
                      "(last output: database is locked)")
    assert ("crasher", "starting") in lines  # the children's output is passed on, named
    assert len([line for line in log if "restarting it in" in line]) == 3
    assert not alive(supervisor.children["steady"].process.pid)


def test_the_back_off_doubles_and_resets_once_a_child_stayed_up():
    supervisor, _, log = supervise([ChildSpec("flaky", [sys.executable, "-c", "import time; time.sleep(0.3)"])],
                                   backoff_initial=0.05, backoff_max=0.2, stable_seconds=0.25, give_up_after=3)
    supervisor.start_all()
    runner = threading.Thread(target=supervisor.run, kwargs={"poll_seconds": 0.01})
    runner.start()
    try:
        wait_for(lambda: len([line for line in log if "restarting" in line]) >= 3)
    finally:
        supervisor.request_stop()
        runner.join()
        supervisor.stop_all(timeout=5)
    # It ran longer than stable_seconds each time: never a fast failure, so it is never given up on.
    assert all("restarting it in 0.05 s" in line for line in log if "restarting" in line), log


def test_stop_all_ends_whole_process_groups():
    script = "import subprocess, time; subprocess.Popen(['sleep', '600']); time.sleep(600)"
    supervisor, _, _ = supervise([ChildSpec("parent", [sys.executable, "-c", script])])
    supervisor.start_all()
    child = supervisor.children["parent"].process.pid
    wait_for(lambda: _children_of(child))
    grandchild = _children_of(child)[0]
    supervisor.stop_all(timeout=5)
    wait_for(lambda: not alive(child) and not alive(grandchild), timeout=5)  # the signal takes a moment


def test_nothing_outlives_a_supervisor_killed_with_sigkill(tmp_path):
    program = tmp_path / "supervise.py"
    program.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / 'platform')!r})
        from portal.processes.supervisor import ChildSpec, Supervisor
        supervisor = Supervisor([ChildSpec("a", ["sleep", "600"]), ChildSpec("b", ["sleep", "601"])],
                                output=lambda name, line: None, log=print)
        supervisor.start_all()
        print(" ".join(str(child.process.pid) for child in supervisor.children.values()), flush=True)
        supervisor.run()
    """))
    process = subprocess.Popen([sys.executable, str(program)], stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in process.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    process.kill()
    process.wait()
    wait_for(lambda: not any(alive(pid) for pid in pids), timeout=10)


def test_exits_are_described_for_people():
    assert describe_exit(1) == "exited with status 1"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"


def _children_of(pid):
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, ValueError):
                pass
    return found

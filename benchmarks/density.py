"""Memory per idle workspace: the platform's servers against bare `jupyter server`s, in the same run.

    .venv/bin/python benchmarks/density.py [--counts 1 5 10] [--open-lab]

Starts the whole platform (`manage.py platform_run`, embedded mode, single-user isolation, in a
temporary data directory) and launches idle workspaces until each count is reached; for each count
it sums the proportional set size (PSS, `/proc/<pid>/smaps_rollup`: shared pages divided among the
processes that share them) of the servers the fork server (spawner/zygote.py) made, plus the fork
server itself, and divides by the number of servers. The baseline is the same number of bare
`jupyter server`s started from scratch at once. Prints PSS per server, the ratio, and how many idle
servers would fit in 24 GiB at that rate. `--open-lab` first requests each server's lab page, as a browser
opening JupyterLab would: the lab's state is built and a kernel is warmed for the first notebook (counted: the
servers' kernels are part of the figure); the bare servers serve their lab page too. With `--settle 135` the
warmed kernels nobody claimed are gone: "JupyterLab open, no kernel" on both sides.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.launch import Platform, bare_server, bare_server_stop, wait_ok  # noqa: E402
from tests.mounts import remove_tree_and_mounts  # noqa: E402

GIB = 2**30


def pss_bytes(pid):
    """PSS of one process, from the kernel's own roll-up (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def processes():
    """{pid: (parent pid, command line)} of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            found[int(entry.name)] = (parent, (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def platform_pss(data_dir):
    """(servers, total PSS) of the fork server of this platform, the servers it forked and everything they run
    (kernels: a warmed one once the lab was opened)."""
    table = processes()
    # Forked servers keep the fork server's command line: the fork server is the one whose parent is not one.
    ours = {pid for pid, (_, command) in table.items() if "spawner.zygote" in command and str(data_dir) in command}
    [zygote] = [pid for pid in ours if table[pid][0] not in ours]
    servers = [pid for pid, (parent, _) in table.items() if parent == zygote]
    descendants, frontier = set(), set(servers)
    while frontier:
        descendants |= frontier
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - descendants
    return len(servers), pss_bytes(zygote) + sum(pss_bytes(pid) for pid in descendants)


def open_lab(status_url, headers):
    """What a browser's first request does to an idle server, given its /api/status URL: its lab page served (the
    lab's state built, and on the platform a kernel warmed for the first notebook: dsw_warm_kernel.py)."""
    requests.get(status_url.replace("/api/status", "/lab"), headers=headers, timeout=60).raise_for_status()


def bare_servers_pss(count, python, *, open_lab_page=False):
    """Total PSS of `count` bare `jupyter server`s, started together and measured once all answer (with
    `open_lab_page`, once each has served its lab page too, as the platform's have)."""
    started = []
    try:
        for _ in range(count):
            started.append(bare_server(python))
        for _, status_url, headers in started:
            wait_ok(status_url, headers=headers)
            if open_lab_page:
                open_lab(status_url, headers)
        return sum(pss_bytes(proc.pid) for proc, _, _ in started)
    finally:
        for proc, _, _ in started:
            bare_server_stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--open-lab", action="store_true",
                        help="request each server's lab page (as a browser opening it would) before measuring")
    parser.add_argument("--settle", type=float, default=10,
                        help="seconds to wait after opening the labs (past 120: the warmed kernels nobody claimed are gone)")
    args = parser.parse_args()
    rows = []
    data_dir = tempfile.mkdtemp(prefix="dsw-bench-density-")
    platform = Platform(Path(data_dir))
    platform.start()
    try:
        launched = 0
        for count in sorted(args.counts):
            while launched < count:
                _, workspace_id = platform.launch(f"idle-{launched}")
                if args.open_lab:
                    open_lab(*platform.server_status(workspace_id))
                launched += 1
            if args.open_lab:
                time.sleep(args.settle)  # the warmed kernels up and idle (or, past their 2 minutes, shut down)
            servers, total = platform_pss(data_dir)
            assert servers == count, f"{servers} servers forked, expected {count}"
            rows.append((count, total / count, bare_servers_pss(count, sys.executable, open_lab_page=args.open_lab) / count))
            print(f"{count} idle servers measured", flush=True)
    finally:
        platform.stop()
        remove_tree_and_mounts(data_dir)  # a home still mounted by a server that is slow to go
    print(f"{'idle servers':>12} {'platform PSS/server':>20} {'bare PSS/server':>16} {'ratio':>6} {'fit in 24 GiB':>14}")
    for count, ours, bare in rows:
        print(f"{count:>12} {ours / 2**20:>16.1f} MiB {bare / 2**20:>12.1f} MiB {ours / bare:>6.2f} {int(24 * GIB // ours):>14}")


if __name__ == "__main__":
    main()

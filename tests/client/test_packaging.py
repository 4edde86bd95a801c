"""`pip install ./client` gives `dsw` in a fresh environment, with nothing but requests and click; the
client imports nothing of the platform, and `dsw --version` does not even import requests."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.client.conftest import DSW
from tests.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pip_install_of_the_folder_gives_dsw_with_only_requests_and_click(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(CLIENT)], check=True, timeout=600,
                   cwd=tmp_path)
    version = subprocess.run([str(venv / "bin" / "dsw"), "--version"], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert version.stdout == "dsw 0.1.0\n"

    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"], capture_output=True,
                            text=True, check=True)
    installed = {canonical(item["name"]) for item in json.loads(listed.stdout)} - {"pip", "setuptools"}
    requirements = subprocess.run([str(venv / "bin" / "python"), "-c", (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d: m.requires(d) or [] for d in ('dsw-client', 'requests', 'click')}))")],
        capture_output=True, text=True, check=True)
    requires = json.loads(requirements.stdout)
    assert [re.match(r"[A-Za-z0-9_.-]+", line)[0] for line in requires["dsw-client"]] == ["requests", "click"]
    # Everything else there is what requests and click need (not their extras).
    needed = {canonical(re.match(r"[A-Za-z0-9_.-]+", line)[0]) for name in ("requests", "click")
              for line in requires[name] if "extra ==" not in line and "platform_system" not in line}
    assert installed == {"dsw-client", "requests", "click"} | needed, installed


def test_the_client_imports_only_the_standard_library_requests_and_click():
    allowed = set(sys.stdlib_module_names) | {"requests", "click", "dsw_client"}
    for source in sorted((CLIENT / "dsw_client").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{source.name} imports {name}"


def imported_modules(*args, env=None):
    """The modules `dsw ARGS` imported (Python's own import log), and its exit code."""
    result = subprocess.run([str(DSW), *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1", **(env or {})})
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return modules, result.returncode


def test_dsw_version_imports_no_http_library(tmp_path):
    modules, code = imported_modules("--version")
    assert code == 0 and "click" in modules
    assert "requests" not in modules and "urllib3" not in modules and "ssl" not in modules

    [port] = free_ports(1)  # a command that talks to the platform does import it (the probe above can tell)
    modules, code = imported_modules("whoami", env={"DSW_URL": f"http://127.0.0.1:{port}", "DSW_TOKEN": "dsw_x",
                                                   "DSW_CONFIG": str(tmp_path / "none.json")})
    assert code == 8 and "requests" in modules

"""The first notebook sooner (issue 22, benchmarks/first_cell.py): a kernel warmed while the lab loads
(workspaces/lab/config/dsw_warm_kernel.py) and JupyterLab's bundle at one cached address for every local
workspace (workspaces/lab_static.py). Checked on a real `jupyter lab` with a workspace's environment, and
on the portal's middleware; the browser tests run a cell through both."""

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.embedded import wait_until
from tests.workspaces.test_lab import start_lab
from workspaces.lab_static import lab_extensions, lab_extensions_url, lab_static_dir, lab_static_env, lab_static_url

TOKEN = {"Authorization": "token t0ken"}


@pytest.fixture
def lab(tmp_path):
    started = []

    def start(*args, extra_env=None):
        base, process = start_lab(tmp_path, extra_env=extra_env, args=args)
        started.append(process)
        return base, process

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def kernel_processes(server_pid):
    """{kernel id: pid} of the ipykernels the server started (their connection file names the kernel)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and "ipykernel_launcher" in command:
            found[re.search(r"kernel-([0-9a-f-]+)\.json", command)[1]] = int(entry.name)
    return found


def new_session(base, path):
    response = requests.post(f"{base}/api/sessions", headers=TOKEN, timeout=60,
                             json={"path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}})
    assert response.status_code == 201, response.text
    return response.json()["kernel"]["id"]


def listed_kernels(base):
    return {kernel["id"] for kernel in requests.get(f"{base}/api/kernels", headers=TOKEN, timeout=10).json()}


def test_opening_the_lab_warms_one_kernel_that_the_first_notebook_gets(lab):
    base, process = lab()
    requests.get(f"{base}/api/status", headers=TOKEN, timeout=10)
    time.sleep(1)
    assert kernel_processes(process.pid) == {}  # a server nobody opened has none: idle workspaces cost no kernel
    assert requests.get(f"{base}/lab", headers=TOKEN, timeout=20).status_code == 200
    [(spare, pid)] = wait_until(lambda: kernel_processes(process.pid), interval=0.2, what="a warmed kernel").items()
    assert listed_kernels(base) == set()  # not in the lab's Running panel, not activity for idle culling

    assert new_session(base, "Untitled.ipynb") == spare  # the kernel already running, not a new one
    assert kernel_processes(process.pid) == {spare: pid} and listed_kernels(base) == {spare}
    second = new_session(base, "Untitled1.ipynb")  # one spare per server run: the next starts its own
    assert second != spare and listed_kernels(base) == {spare, second}
    requests.get(f"{base}/lab", headers=TOKEN, timeout=20)
    time.sleep(1)
    assert set(kernel_processes(process.pid)) == {spare, second}  # opened again: no second spare


def test_a_notebook_in_another_folder_gets_its_own_kernel_and_the_spare_waits(lab, tmp_path):
    (tmp_path / "churn").mkdir()
    base, process = lab()
    requests.get(f"{base}/lab", headers=TOKEN, timeout=20)
    [spare] = wait_until(lambda: kernel_processes(process.pid), interval=0.2, what="a warmed kernel")
    elsewhere = new_session(base, "churn/model.ipynb")  # its kernel must start in churn/, where the spare is not
    assert elsewhere != spare and listed_kernels(base) == {elsewhere}
    assert new_session(base, "Untitled.ipynb") == spare


def test_a_spare_nobody_claims_is_shut_down(lab):
    base, process = lab("--WarmKernelManager.spare_unclaimed_seconds=3")
    requests.get(f"{base}/lab", headers=TOKEN, timeout=20)
    wait_until(lambda: kernel_processes(process.pid), interval=0.2, what="a warmed kernel")
    wait_until(lambda: kernel_processes(process.pid) == {}, timeout=30, interval=0.2, what="the spare's shutdown")
    fresh = new_session(base, "Untitled.ipynb")  # and a notebook after that simply starts one
    assert listed_kernels(base) == {fresh}


def page_config(base):
    page = requests.get(f"{base}/lab", headers=TOKEN, timeout=20).text
    return json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)[1])


@pytest.mark.parametrize(("named", "expected"), [("this build", "shared"), ("another build", "/static/lab")])
def test_the_lab_takes_its_bundle_from_the_shared_address_only_when_the_build_is_its_own(lab, named, expected):
    assert lab_static_url().startswith("/dsw-lab-static/")
    url = lab_static_url() if named == "this build" else "/dsw-lab-static/0123456789abcdef/"
    base, _ = lab(extra_env={"PLATFORM_LAB_STATIC_URL": url})
    # Another build's address would load files this lab does not have: it keeps its own.
    assert page_config(base)["fullStaticUrl"] == (lab_static_url().rstrip("/") if expected == "shared" else expected)


@pytest.mark.parametrize("offer", ["the platform's", "another folder's"])
def test_the_lab_takes_its_extensions_from_the_portal_only_when_it_finds_the_same_ones(lab, tmp_path, offer):
    env = lab_static_env()
    if offer == "another folder's":  # as if the person had their own copy of one in their home
        offered = json.loads(env["PLATFORM_LAB_EXTENSIONS"])
        offered["extensions"]["nbdime-jupyterlab"] = str(tmp_path / "nbdime-jupyterlab")
        env["PLATFORM_LAB_EXTENSIONS"] = json.dumps(offered)
    base, _ = lab(extra_env=env)
    config = page_config(base)
    assert {extension["name"] for extension in config["federated_extensions"]} == set(lab_extensions())
    if offer == "the platform's":
        assert config["fullLabextensionsUrl"] == lab_extensions_url().rstrip("/")
    else:
        assert config["fullLabextensionsUrl"].endswith("/lab/extensions")


def test_the_portal_finds_the_extensions_as_jupyterlab_does():
    # The server's page-config hook compares the two: the portal's scan must agree with JupyterLab's own.
    from jupyterlab_server.config import get_federated_extensions

    from workspaces.lab import LABEXTENSIONS_DIR

    folders = [str(LABEXTENSIONS_DIR), os.path.join(sys.prefix, "share", "jupyter", "labextensions")]
    assert lab_extensions() == {name: data["ext_path"] for name, data in get_federated_extensions(folders).items()}
    assert "@datascience-workspaces/lab" in lab_extensions()


def test_the_portal_serves_the_lab_extensions_immutable_on_a_workspace_host(client, settings):
    host = "alice." + settings.PLATFORM_PUBLIC_URL.split("://", 1)[1].split("/")[0]
    assert lab_extensions_url().startswith("/dsw-lab-static/ext-")
    for name, folder in lab_extensions().items():
        [entry] = Path(folder).glob("static/remoteEntry*.js")
        response = client.get(f"{lab_extensions_url()}{name}/static/{entry.name}", HTTP_HOST=host)
        assert response.status_code == 200 and "immutable" in response["Cache-Control"], name
        assert b"".join(response.streaming_content) == entry.read_bytes()
    assert client.get(f"{lab_extensions_url()}../../settings.py", HTTP_HOST=host).status_code in (302, 404)


def test_the_portal_serves_the_build_immutable_on_a_workspace_host(client, settings):
    [main] = lab_static_dir().glob("main.*.js")
    host = "alice." + settings.PLATFORM_PUBLIC_URL.split("://", 1)[1].split("/")[0]
    response = client.get(f"{lab_static_url()}{main.name}", HTTP_HOST=host)
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == main.read_bytes()
    # Only the build's own files: anything else on a workspace host is what it always was.
    assert client.get(f"{lab_static_url()}../../settings.py", HTTP_HOST=host).status_code in (302, 404)
    assert client.get(f"{lab_static_url()}nothing.js", HTTP_HOST=host).status_code in (302, 404)

"""Click → first result: from the Launch click in Chromium to a notebook cell's output, against a bare
`jupyter lab` started at the click and driven through the same steps in the same browser, in one run.

    .venv/bin/python benchmarks/first_cell.py [--rounds 3] [--cold]

The platform side: the whole platform (`manage.py platform_run`, embedded mode, single-user isolation, a
temporary data directory); signed in as its admin, the person types a name on the workspaces page and
clicks Launch; the clock runs from that click through the progress page (which opens JupyterLab by itself
once the server answers, "Open JupyterLab when it is ready" being the launch form's default), the launcher's
Notebook card, the kernel reaching Idle, to `print(6 * 7)`'s output. The baseline: at the click a bare
`jupyter lab` is started (same Python, a fresh root, settings and workspaces folder each round); the page
opens it as soon as it answers, then the same steps. Both sides keep one browser context across rounds
(a person's browser has been to their platform before; a bare lab's port is the same each round too),
and a first round of each is not counted; `--cold` gives every round a fresh context instead.
Prints each side's median with its milestones and the ratio.
"""

import argparse
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.launch import Platform, bare_server_stop, wait_ok  # noqa: E402
from tests.lab_steps import first_cell_output  # noqa: E402
from tests.mounts import remove_tree_and_mounts  # noqa: E402
from tests.ports import free_port_block  # noqa: E402

# The suite's Chromium settings (tests/web/test_browser.py), without importing the suite's Django set-up.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-first-run"]

PASSWORD = "benchmark admin passphrase"


def notebook_first_output(page, marks, started):
    """From a loaded JupyterLab: a new notebook from the launcher, its kernel idle, one cell run."""
    def step(name):
        marks[name] = time.monotonic() - started

    assert first_cell_output(page, on_step=step) == "42"
    step("first output")
    return marks


class BareLab:
    """`jupyter lab` on one port for every round (as a person's would be), fresh folders each round."""

    def __init__(self):
        self.port = free_port_block(1)
        self.token = secrets.token_hex(16)

    def round(self, page):
        scratch = Path(tempfile.mkdtemp(prefix="dsw-bench-lab-"))
        for folder in ("root", "settings", "workspaces", "runtime"):
            (scratch / folder).mkdir()
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", f"--port={self.port}", "--ip=127.0.0.1", "--no-browser",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={scratch / 'root'}",
             f"--LabApp.user_settings_dir={scratch / 'settings'}", f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
             "--allow-root"], env={**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch / "runtime")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_ok(f"http://127.0.0.1:{self.port}/api/status", headers={"Authorization": f"token {self.token}"},
                    interval=0.02)
            marks = {"server answers": time.monotonic() - started}
            page.goto(f"http://127.0.0.1:{self.port}/lab?token={self.token}")
            return notebook_first_output(page, marks, started)
        finally:
            bare_server_stop(proc)
            subprocess.run(["rm", "-rf", str(scratch)], check=False)


def sign_in(page, platform):
    page.goto(f"{platform.base}/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/accounts/login/" in page.url:
        raise SystemExit(f"could not sign in: {page.locator('.error, .errorlist').all_inner_texts()}")


def platform_round(page, platform, name):
    page.goto(f"{platform.base}/workspaces/")
    page.get_by_label("Name").fill(name)
    started = time.monotonic()
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(re.compile(r".*/workspaces/\d+/"), wait_until="commit")
    workspace_id = int(re.search(r"/workspaces/(\d+)/", page.url).group(1))
    # The progress page opens JupyterLab by itself once the server answers (the form's default).
    page.wait_for_url(re.compile(r".*/user/admin/ws-\d+/.*"), wait_until="commit", timeout=120_000)
    marks = {"server answers": time.monotonic() - started}
    try:
        return notebook_first_output(page, marks, started), workspace_id
    except Exception:
        page.screenshot(path=f"/tmp/first-cell-{name}.png")
        raise


def report(label, rounds):
    keys = list(rounds[0])
    medians = {key: statistics.median(marks[key] for marks in rounds) for key in keys}
    print(f"{label:<22} " + "   ".join(f"{key} {value:5.2f} s" for key, value in medians.items()))
    return medians["first output"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="a fresh browser context (empty cache) every round")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = tempfile.mkdtemp(prefix="dsw-bench-")
    with contextlib.ExitStack() as cleanup, sync_playwright() as playwright:
        cleanup.callback(remove_tree_and_mounts, data_dir)  # a home still mounted by a server slow to go
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        platform = Platform(Path(data_dir))
        platform.env["PLATFORM_ADMIN_PASSWORD"] = PASSWORD
        platform.start()
        bare = BareLab()
        ours, theirs = [], []
        try:
            contexts = {"platform": browser.new_context(), "bare": browser.new_context()}
            sign_in(contexts["platform"].new_page(), platform)
            for index in range(args.rounds + (0 if args.cold else 1)):
                if args.cold:
                    for side in contexts:
                        contexts[side].close()
                    contexts = {"platform": browser.new_context(), "bare": browser.new_context()}
                    sign_in(contexts["platform"].new_page(), platform)
                counted = args.cold or index > 0
                page = contexts["bare"].new_page()
                marks = bare.round(page)
                page.close()
                if counted:
                    theirs.append(marks)
                page = contexts["platform"].new_page()
                marks, workspace_id = platform_round(page, platform, f"cell-{index}")
                page.close()
                platform.delete(workspace_id)
                if counted:
                    ours.append(marks)
                print(f"round {index}{'' if counted else ' (warm-up)'}: bare {theirs[-1]['first output'] if counted else 0:.2f} s,"
                      f" platform {marks['first output']:.2f} s", flush=True)
        finally:
            platform.stop()
            browser.close()
    baseline = report("bare jupyter lab", theirs)
    measured = report("platform", ours)
    print(f"ratio (first output): {measured / baseline:.2f}")


if __name__ == "__main__":
    main()

"""Faults are normal: on a platform started as `make run` starts it, kill -9 any child and it comes back
by itself, a launch in flight finishes, running workspaces keep running and stay reachable; a planned
restart keeps every workspace and bills it without a gap or an overlap; a server that dies while the
portal is down is billed until its last sighting, not until someone noticed; two platforms share a
machine (and a checkout) without touching each other."""

import json
import os
import signal
import time
from datetime import datetime

import pytest
import requests

from tests.embedded import ROOT, EmbeddedPlatform, wait_until

pytestmark = pytest.mark.hub

LEDGER = """
import json
from costs.metering import metering_run
from costs.models import MeterRun
from workspaces.reconciler import workspace_reconcile_all
workspace_reconcile_all()
metering_run()
print(json.dumps({str(run.workspace_id): {"start": run.start.isoformat(), "end": run.end and run.end.isoformat(),
    "records": [[r.start.isoformat(), r.end.isoformat()] for r in run.records.order_by("start")]}
    for run in MeterRun.objects.filter(kind="compute").order_by("start")}))
"""


@pytest.fixture
def platforms():
    if os.geteuid() != 0:
        pytest.skip("workspaces as their owners' accounts (and their limit groups) need root; CI runs as root")
    made = []
    yield lambda **kwargs: made.append(EmbeddedPlatform(**kwargs)) or made[-1]
    for platform in made:
        platform.close()


def _reachable(platform, workspace):
    try:
        answer = requests.get(platform.server_url(workspace["owner"], f"ws-{workspace['id']}", "api/status"),
                              headers={"Authorization": f"token {platform.hub_token()}"}, timeout=5)
        return answer.status_code == 200
    except requests.RequestException:
        return False


def _launch(platform, api, name, wait=True):
    created = api.post("/api/v1/workspaces/", json={"name": name, "profile": "Test small"})
    assert created.status_code == 202, created.text
    return platform.wait_for_status(api, created.json()["id"], "running", timeout=180) if wait else created.json()


def _contiguous(run):
    """Records of a run follow each other from its start: no gap, no overlap."""
    records = run["records"]
    assert records and records[0][0] == run["start"]
    for before, after in zip(records, records[1:]):
        assert before[1] == after[0], (before, after)
    return datetime.fromisoformat(records[-1][1])


def test_kill_9_of_any_child_is_repaired_and_running_work_goes_on(platforms):
    platform = platforms()
    api = platform.api(platform.seed(users=("alice",))["alice"])
    platform.start()
    steady = _launch(platform, api, "steady")
    server = platform.server_pids()[f"ws-{steady['id']}"]
    names = [name for name in ("worker", "hub", "proxy", "web", "beat", "registry") if name in platform.children()]
    for name in names:
        before = platform.children()[name]
        # A launch in flight while the worker or the hub dies: it must finish anyway.
        flight = _launch(platform, api, f"during-{name}", wait=False) if name in ("worker", "hub") else None
        os.kill(before, signal.SIGKILL)
        wait_until(lambda: platform.children().get(name, before) != before, timeout=60, what=f"{name} restarted")
        platform.wait_ready()
        wait_until(lambda: _reachable(platform, steady), timeout=60, what=f"the workspace reachable after {name}")
        assert platform.server_pids()[f"ws-{steady['id']}"] == server  # the very same server process
        if flight:
            platform.wait_for_status(api, flight["id"], "running", timeout=180)
            api.post(f"/api/v1/workspaces/{flight['id']}/stop/")
            platform.wait_for_status(api, flight["id"], "stopped")
        assert f"{name} killed by SIGKILL" in platform.log() and "restarting it in" in platform.log()
    assert platform.proc.poll() is None
    api.post(f"/api/v1/workspaces/{steady['id']}/stop/")
    platform.wait_for_status(api, steady["id"], "stopped")


def test_a_restart_keeps_running_workspaces_and_bills_them_without_gap_or_overlap(platforms):
    platform = platforms()
    tokens = platform.seed(users=("alice", "bob"))
    platform.start()
    apis = {name: platform.api(token) for name, token in tokens.items()}
    workspaces = [_launch(platform, apis[name], f"{name}-work") for name in ("alice", "bob")]
    servers = platform.server_pids()
    time.sleep(int(platform.env["PLATFORM_SPAWNER_POLL_INTERVAL"]) + 1)  # long enough to be billed a little
    before = platform.shell(LEDGER)

    assert platform.stop(signal.SIGTERM) == 0
    assert "2 workspaces keep running" in platform.log() and "workspaces_stop_all" in platform.log()
    assert platform.processes_left() == []  # nothing of the platform itself is left behind
    for workspace in workspaces:
        assert os.path.exists(f"/proc/{servers['ws-' + str(workspace['id'])]}")
    time.sleep(3)  # down for a while
    platform.start()

    for workspace in workspaces:
        wait_until(lambda: _reachable(platform, workspace), timeout=60, what="the workspace reachable again")
        assert platform.wait_for_status(apis[workspace["owner"]], workspace["id"], "running")["status"] == "running"
    assert platform.server_pids() == servers  # re-adopted, not restarted
    time.sleep(3)
    after = platform.shell(LEDGER)
    for workspace in workspaces:
        run = after[str(workspace["id"])]
        assert run["end"] is None and run["start"] == before[str(workspace["id"])]["start"]  # still the same run
        billed_until = _contiguous(run)
        # ...billed through the downtime, since it really ran: up to the janitor's sighting after the restart.
        assert billed_until > datetime.fromisoformat(before[str(workspace["id"])]["records"][-1][1])
    for workspace in workspaces:
        apis[workspace["owner"]].post(f"/api/v1/workspaces/{workspace['id']}/stop/")
        platform.wait_for_status(apis[workspace["owner"]], workspace["id"], "stopped")


def test_a_server_that_dies_while_the_portal_is_down_is_billed_until_its_last_sighting(platforms):
    platform = platforms()
    api = platform.api(platform.seed(users=("alice",))["alice"])
    platform.start()
    workspace = _launch(platform, api, "doomed")
    server = platform.server_pids()[f"ws-{workspace['id']}"]
    time.sleep(2 * int(platform.env["PLATFORM_SPAWNER_POLL_INTERVAL"]))  # seen alive a few times while billed
    web = platform.children()["web"]
    outbox = platform.data_dir / "hub" / "spawner" / "outbox"

    os.killpg(web, signal.SIGSTOP)  # the portal hangs: connections are taken, nothing answers
    try:
        killed_at = time.time()
        os.kill(server, signal.SIGKILL)
        # The hub notices at its next poll and cannot tell the portal: the report waits in its outbox.
        wait_until(lambda: list(outbox.glob("*.json")), timeout=60, what="the exit report waiting in the outbox")
    finally:
        os.killpg(web, signal.SIGCONT)
    failed = platform.wait_for_status(api, workspace["id"], "failed", timeout=120)
    assert failed["status_message"] == "The server stopped by itself (killed by signal 9)."
    wait_until(lambda: not list(outbox.glob("*.json")), what="the outbox emptied")

    run = platform.shell(LEDGER)[str(workspace["id"])]
    ended = datetime.fromisoformat(run["end"]).timestamp()
    assert _contiguous(run).timestamp() == ended
    poll = int(platform.env["PLATFORM_SPAWNER_POLL_INTERVAL"])
    assert killed_at - poll - 1 <= ended <= killed_at  # its last sighting alive: within one poll of its death
    events = api.get(f"/api/v1/workspaces/{workspace['id']}/events/").json()["results"]
    exited = next(event for event in events if event["kind"] == "server_exited")
    assert exited["data"]["exit_status"] == -9 and exited["data"]["ended_at"] == run["end"]


def test_two_platforms_share_one_checkout_and_machine(platforms):
    first, second = platforms(), platforms()
    first.start(wait=False)
    second.start()
    first.wait_ready()
    assert first.account_prefix != second.account_prefix
    # Killed without a chance to clean up: its children go with it anyway (a parent-death signal)...
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_until(lambda: first.processes_left() == [], timeout=30, what="every process of the first platform gone")
    assert second.children().keys() >= {"web", "worker", "beat", "proxy", "hub"}  # ...and the second never noticed
    assert requests.get(f"{second.url}/hub/api/", timeout=5).status_code == 200
    assert not list(ROOT.glob("*.pid"))  # nothing of either in the checkout
    for platform in (first, second):
        assert (platform.data_dir / "run" / "gunicorn.ctl").exists() or platform is first
    assert json.loads(requests.get(f"{second.url}/healthz", timeout=5).text) == {"status": "ok"}

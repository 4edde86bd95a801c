"""`dsw` commands as real subprocesses against the live portal (launches that must run are in
test_cli_launch.py, with the hub): lists, bad input, exit codes, costs and budgets."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from costs.models import Budget
from tests.client.conftest import one_line_error
from tests.conftest import PASSWORD, api_as
from tests.costs.conftest import prices, spend  # noqa: F401  (a fixture)
from workspaces.models import Workspace

UTC = timezone.utc


@pytest.fixture
def signed_in(dsw, alice):
    dsw.login("alice", PASSWORD)
    return dsw


def test_ls_lists_every_page_and_json_parses(signed_in, alice, team, small):
    Workspace.objects.bulk_create([Workspace(owner=alice, team=team, profile=small, name=f"ws-{index:03d}", image="local:default",
                                             desired_state="stopped", observed_state="stopped") for index in range(120)])
    listed = json.loads(signed_in.ok("ls", "--json").stdout)
    assert sorted(workspace["name"] for workspace in listed) == [f"ws-{index:03d}" for index in range(120)]
    assert {workspace["status"] for workspace in listed} == {"stopped"}

    table = signed_in.ok("ls").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS", "SIZE", "TEAM", "IMAGE", "MESSAGE"] and len(table) == 121
    assert table[-1].split()[1:5] == ["ws-000", "stopped", "Small", "data-science"]  # newest first


def test_ls_with_nothing_says_how_to_launch(signed_in):
    result = signed_in.ok("ls")
    assert result.stdout == "" and "dsw launch NAME --size SIZE" in result.stderr
    assert json.loads(signed_in.ok("ls", "--json").stdout) == []


def test_launch_without_wait_answers_at_once(signed_in, alice, small):
    result = signed_in.ok("launch", "quick", "--size", "SMALL")
    workspace = Workspace.objects.get(owner=alice, name="quick")
    assert result.stdout.startswith(f"quick (id {workspace.id}, Small): pending.")
    assert workspace.desired_state == "running"


def test_launch_without_a_size_takes_the_only_one_or_names_them(signed_in, alice, small):
    signed_in.ok("launch", "only-size")
    assert Workspace.objects.get(owner=alice, name="only-size").profile == small
    small.pk = None
    small.name = "Large"
    small.save()
    result = signed_in("launch", "which-size")
    assert result.returncode == 2 and "Choose a size with --size (" in result.stderr and "Large" in result.stderr


def test_bad_input_names_the_field_in_one_line(signed_in, small):
    result = signed_in("launch", "Not A Name", "--size", "small")
    assert result.returncode == 2
    assert one_line_error(result).startswith("dsw: Invalid input for 'name': Use 1–40 lower-case letters")

    result = signed_in("launch", "fine", "--size", "enormous")
    assert result.returncode == 2
    assert one_line_error(result) == "dsw: Invalid input for 'profile': No profile 'enormous'. GET /api/v1/profiles/ lists yours."

    result = signed_in("launch", "fine", "--size", "small", "--team", "research")  # not alice's team: like a made-up one
    assert result.returncode == 2 and "'team'" in one_line_error(result)

    result = signed_in("launch", "fine", "--size", "small", "--timeout", "soon")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_unknown_workspaces_are_not_found(signed_in):
    for command in (["stop", "nothing"], ["start", "nothing"], ["rm", "nothing"], ["events", "nothing"], ["open", "nothing"]):
        result = signed_in(*command)
        assert result.returncode == 4, command
        assert one_line_error(result) == "dsw: You have no workspace named 'nothing' (dsw ls lists yours)."


def test_another_persons_workspace_is_not_found_by_id_either(signed_in, bob, team, small):
    theirs = Workspace.objects.create(owner=bob, team=team, profile=small, name="bobs", image="local:default")
    result = signed_in("stop", str(theirs.id))
    assert result.returncode == 4


def test_stop_rm_and_events_by_name_or_id(signed_in, alice, team, small):
    created = api_as(alice).post("/api/v1/workspaces/", {"name": "target", "profile": "Small"}, format="json")
    workspace = Workspace.objects.get(pk=created.json()["id"])
    assert signed_in.ok("stop", str(workspace.id)).stdout.startswith("target: stop")  # no worker here: it stays stopping
    kinds = [event["kind"] for event in json.loads(signed_in.ok("logs", "target", "--json").stdout)]
    assert kinds[-1] == "stop_requested"
    table = signed_in.ok("events", "target").stdout.splitlines()
    assert table[0].split() == ["TIME", "EVENT", "BY", "MESSAGE"] and "stop_requested" in table[-1] and "alice" in table[-1]

    result = signed_in("open", "target")
    assert result.returncode == 1
    assert one_line_error(result) == "dsw: target is stopping, not running: dsw start target --wait"

    result = signed_in("rm", "target", "--delete-home")  # standard input is no terminal: no one to ask
    assert result.returncode == 2 and "add --yes" in result.stderr
    assert signed_in.ok("rm", "target").stdout == "target: deleted (its home is kept)\n"
    workspace.refresh_from_db()
    assert workspace.desired_state == "deleted" and not workspace.delete_home


def test_profiles_and_images(signed_in, small, prices):  # noqa: F811
    table = [re.split(r"\s{2,}", line) for line in signed_in.ok("profiles").stdout.splitlines()]
    assert table == [["SIZE", "CPU", "MEMORY", "DISK", "GPUS", "PRICE/HOUR", "BUDGET LEFT"],
                     ["Small", "0.50", "512 MiB", "1 GiB", "-", "0.08 EUR", "-"]]
    assert json.loads(signed_in.ok("profiles", "--json").stdout)[0]["hourly_price_decimal"] == "0.08"

    listed = json.loads(signed_in.ok("images", "--json").stdout)
    assert [image["reference"] for image in listed] == ["local:default"]
    assert json.loads(signed_in.ok("images", "--package", "numpy", "--json").stdout) == []
    assert signed_in.ok("images", "--package", "numpy").stdout.split() == ["IMAGE", "STATUS", "PYTHON", "SCAN", "TITLE"]
    assert signed_in.ok("images").stdout.splitlines()[1].startswith("local:default")


@pytest.fixture
def ledger(team):
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spend(team, 1234, start + timedelta(minutes=5), username="alice", profile_name="Small", workspace_id=1)
    spend(team, 4321, start + timedelta(minutes=6), username="bob", profile_name="Large", workspace_id=2)


@pytest.mark.parametrize("group_by", ["user", "profile", "day"])
def test_costs_csv_is_the_apis_csv(signed_in, alice, team, ledger, group_by):
    printed = signed_in.ok("costs", "--team", "data-science", "--by", group_by, "--csv", binary=True).stdout
    exported = api_as(alice).get(f"/api/v1/teams/{team.id}/costs/export/?group_by={group_by}")
    assert exported.status_code == 200
    assert printed == exported.content  # byte for byte, CRLF line ends included
    assert printed.splitlines()[-1].startswith(b"total,,55.55")


def test_costs_table_and_json(signed_in, alice, team, ledger):
    table = signed_in.ok("costs").stdout.splitlines()  # alice is in one team: no --team needed
    assert table == ["USER   COST (EUR)  HOURS  RECORDS",
                     "bob    43.21       0.017  1",
                     "alice  12.34       0.017  1",
                     "total  55.55"], table
    report = json.loads(signed_in.ok("costs", "--json", "--by", "profile").stdout)
    assert report["total"] == 5555 and [group["label"] for group in report["groups"]] == ["Large", "Small"]


def test_a_member_may_not_see_costs_or_set_the_budget(dsw, bob, team):
    dsw.login("bob", PASSWORD)
    result = dsw("budget", "set", "--team", "data-science", "--amount", "100.00")
    assert result.returncode == 5
    assert one_line_error(result) == "dsw: Only the team's admins and platform admins see its budget and costs."
    assert dsw("costs", "--team", "data-science").returncode == 5
    assert not Budget.objects.exists()


def test_a_team_admin_reads_the_budget_but_may_not_set_it(signed_in, team, admin):
    assert signed_in("budget", "get").returncode == 4  # none yet
    Budget.objects.create(team=team, amount=50000, currency="EUR")
    assert "data-science: 500.00 EUR a period" in signed_in.ok("budget", "get").stdout
    result = signed_in("budget", "set", "--amount", "900")
    assert result.returncode == 5 and one_line_error(result) == "dsw: Only platform admins set budgets."


def test_a_platform_admin_sets_a_budget_and_what_is_left_out_stays(dsw, admin, team, ledger):
    dsw.login("admin", PASSWORD)
    result = dsw.ok("budget", "set", "--team", "data-science", "--amount", "1,250.50", "--action", "stop_workspaces",
                    "--thresholds", "75,100", "--grace-minutes", "30")
    assert result.stdout.splitlines()[0] == "data-science: 1250.50 EUR a period; at 100 %: stop_workspaces after 30 min"
    assert "spent 55.55 EUR of 1,250.50 EUR" in result.stdout and "alerts at 75 %, 100 %" in result.stdout

    changed = json.loads(dsw.ok("budget", "set", "--team", "data-science", "--amount", "600", "--json").stdout)
    assert changed["amount"] == 60000
    assert (changed["action"], changed["thresholds"], changed["grace_minutes"]) == ("stop_workspaces", [75, 100], 30)

    result = dsw("budget", "set", "--team", "data-science", "--amount", "12,50")
    assert result.returncode == 2 and "'amount_decimal'" in one_line_error(result)
    result = dsw("budget", "set", "--team", "data-science", "--thresholds", "half")
    assert result.returncode == 2 and "--thresholds" in result.stderr
    result = dsw("budget", "get", "--team", "no-such-team")
    assert result.returncode == 4


def test_tokens_create_list_and_revoke(signed_in, alice):
    created = signed_in.ok("tokens", "create", "nightly", "--read-only", "--days", "3")
    secret = created.stdout.strip()
    assert secret.startswith("dsw_") and "not shown again" in created.stderr
    listed = json.loads(signed_in.ok("tokens", "--json").stdout)
    nightly = next(token for token in listed if token["name"] == "nightly")
    assert nightly["scope"] == "read" and nightly["state"] == "active"
    assert "nightly" in signed_in.ok("tokens").stdout
    assert signed_in.ok("whoami", env={"DSW_TOKEN": secret}).stdout.startswith("alice ")

    signed_in.ok("tokens", "revoke", str(nightly["id"]))
    result = signed_in("whoami", env={"DSW_TOKEN": secret})
    assert result.returncode == 3 and "refused the token from DSW_TOKEN" in one_line_error(result)


def test_verbose_logs_every_request_on_standard_error(signed_in):
    result = signed_in.ok("-v", "ls", "--json")
    assert json.loads(result.stdout) == []
    assert re.fullmatch(r"dsw: GET /api/v1/workspaces/\?page=1&page_size=200 -> 200 in \d+ ms\n", result.stderr)


def test_progress_on_a_terminal_is_one_line_that_fills_up():
    """What `dsw launch --wait` shows on a terminal (a pseudo-terminal here): one line, redrawn."""
    import os
    import pty

    from dsw_client.cli import _Progress
    from dsw_client.models import Workspace

    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        progress = _Progress(stream=terminal)
        for status, percent, message in [("pending", 0, "Waiting to start…"), ("starting", 40, "Server requested"),
                                         ("running", 100, "")]:
            progress(Workspace.from_api({"name": "analysis", "status": status, "progress": percent,
                                         "status_message": message}), [])
        progress.done()
    chunks = []
    while True:  # a pseudo-terminal hands its output over in pieces: read until the closed side says no more
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the follower side is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    shown = b"".join(chunks).decode()
    os.close(leader)
    frames = shown.split("\r")[1:]
    assert [frame.rstrip() for frame in frames[:2]] == [
        "analysis [                              ]   0% Waiting to start…",
        "analysis [############                  ]  40% Server requested"]
    assert frames[2].startswith("analysis [##############################] 100%") and shown.endswith("\n")


def test_projects_lists_and_launch_takes_a_project(signed_in, alice, team, small):
    from projects.services import project_create

    project_create(actor=alice, team=team, name="Churn model")
    table = signed_in.ok("projects").stdout
    assert re.search(r"data-science\s+churn-model\s+Churn model\s+Define\s+alice", table), table
    launched = json.loads(signed_in.ok("launch", "churn", "--size", "small", "--project", "churn-model", "--json").stdout)
    assert launched["project"] == "churn-model" and Workspace.objects.get(name="churn").project.slug == "churn-model"
    refused = signed_in("launch", "other", "--size", "small", "--project", "no-such")
    assert refused.returncode != 0 and "project" in one_line_error(refused)

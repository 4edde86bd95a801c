"""The reconciler as a unit: a table of what the hub shows (an in-memory FakeHub with its failure modes)
and what the spawner reported, against what the workspace then shows. No hub, no Celery: milliseconds
each. tests/workspaces/test_hub_lifecycle.py runs the same paths through a real JupyterHub."""

from datetime import timedelta

import pytest
from django.utils import timezone

from workspaces import services
from workspaces.hub_fake import FakeHub
from workspaces.models import Workspace
from workspaces.reconciler import workspace_reconcile, workspace_reconcile_all

SERVER = "ws-{}"


@pytest.fixture
def hub():
    return FakeHub()


@pytest.fixture
def launched(alice, team, small):
    """alice's workspace, just created (desired running, nothing at the hub yet)."""
    return services.workspace_create(owner=alice, name="model", profile=small)


def step(workspace, hub, times=1):
    delay = None
    for _ in range(times):
        delay = workspace_reconcile(workspace_id=workspace.pk, hub=hub)
    workspace.refresh_from_db()
    return delay


def running(workspace, hub):
    """Launch it on the fake hub until it runs."""
    step(workspace, hub, times=2)
    assert workspace.status == "running", workspace.status_message
    return workspace


def kinds(workspace):
    return list(workspace.events.values_list("kind", flat=True))


def test_a_launch_asks_the_hub_once_then_runs(launched, hub):
    assert step(launched, hub) == 1
    assert (launched.status, launched.progress) == ("starting", 5)
    assert [call[0] for call in hub.calls] == ["server_state", "ensure_user", "start_server"]
    assert step(launched, hub) is None  # settled
    assert (launched.status, launched.progress, launched.failure_reason) == ("running", 100, "")
    assert kinds(launched) == ["created", "spawn_requested", "running"]
    assert launched.last_seen_alive is not None


def test_a_person_the_hub_knows_is_not_created_again(launched, hub, alice, small):
    running(launched, hub)
    second = services.workspace_create(owner=alice, name="second", profile=small)
    hub.calls.clear()
    step(second, hub)
    assert [call[0] for call in hub.calls] == ["server_state", "start_server"]  # one hub call less per start


def test_a_slow_spawn_shows_progress_until_ready(launched, hub):
    hub.slow(3)
    step(launched, hub)
    assert step(launched, hub) == 1 and launched.status == "starting" and launched.status_message == "Starting the server"
    step(launched, hub, times=2)
    assert launched.status == "running"


def test_a_restart_stops_the_old_server_then_starts_a_new_one(launched, hub, alice):
    running(launched, hub)
    services.workspace_request_restart(workspace=launched, actor=alice)
    launched.refresh_from_db()
    assert launched.status == "stopping"
    step(launched, hub)
    assert ("stop_server", "alice", launched.server_name) in hub.calls
    step(launched, hub, times=3)
    assert launched.status == "running" and launched.served_generation == launched.generation


def test_a_spawn_that_never_comes_up_times_out(launched, hub, settings):
    hub.slow(1000)
    step(launched, hub)
    Workspace.objects.filter(pk=launched.pk).update(start_requested=timezone.now() - timedelta(seconds=settings.PLATFORM_SPAWN_TIMEOUT + 1))
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "timeout")
    assert launched.server_name not in hub.users["alice"]  # it was stopped at the hub


def test_a_server_that_vanished_without_a_word_fails_after_the_wait(launched, hub, settings):
    settings.PLATFORM_EXIT_REPORT_WAIT_SECONDS = 30
    running(launched, hub)
    seen = timezone.now() - timedelta(seconds=40)
    Workspace.objects.filter(pk=launched.pk).update(last_seen_alive=seen)
    hub.forget("alice", launched.server_name)
    assert step(launched, hub) == 5  # waiting for the spawner's report
    assert launched.status == "running" and launched.status_message == "The server has stopped; finding out why…"
    Workspace.objects.filter(pk=launched.pk).update(vanished_at=timezone.now() - timedelta(seconds=31))
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "server_died")
    failed = launched.events.get(kind="failed")
    assert failed.data["ended_at"] == seen.isoformat()  # the bill ends where it was last seen, not now


@pytest.mark.parametrize(("report", "failure", "message"), [
    ({"out_of_memory": True}, "out_of_memory", "512 MiB memory limit and was stopped (out of memory)"),
    ({"exit_status": 3, "log_tail": "starting\nImportError: no module named pandas"}, "server_died",
     "The server stopped by itself (exit status 3): ImportError: no module named pandas"),
    ({"exit_status": -9}, "server_died", "The server stopped by itself (killed by signal 9)."),
])
def test_a_reported_exit_fails_at_once_with_its_typed_reason(launched, hub, report, failure, message):
    running(launched, hub)
    last_seen = timezone.now()  # the spawner's last sighting, a poll ago
    services.workspace_report_server_exit(workspace=launched, last_seen_alive=last_seen, generation=launched.generation,
                                          **report)
    # The hub may still list the server for a moment: the spawner's word wins.
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", failure)
    assert message in launched.status_message
    assert launched.events.get(kind="failed").data["ended_at"] == last_seen.isoformat()


def test_a_late_report_about_an_earlier_run_changes_nothing(launched, hub, alice):
    running(launched, hub)
    earlier = launched.generation
    services.workspace_request_restart(workspace=launched, actor=alice)
    launched.refresh_from_db()
    step(launched, hub, times=4)
    assert launched.status == "running"
    services.workspace_report_server_exit(workspace=launched, last_seen_alive=timezone.now(), exit_status=1, generation=earlier)
    services.workspace_report_spawn_failure(workspace=launched, message="old news", generation=earlier)
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("running", "")
    late = launched.events.filter(kind__in=["server_exited", "spawn_refused"])
    assert [event.data["current_run"] for event in late] == [False, False]


def test_an_unreachable_hub_is_said_and_retried_then_fails_the_start_at_the_timeout(launched, hub, settings):
    hub.unreachable = True
    assert step(launched, hub) == 5
    assert launched.status == "pending" and "unreachable" in launched.status_message
    Workspace.objects.filter(pk=launched.pk).update(start_requested=timezone.now() - timedelta(seconds=settings.PLATFORM_SPAWN_TIMEOUT + 1))
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "hub_unreachable")


def test_a_start_the_hub_refuses_fails_with_the_hubs_words(launched, hub):
    hub.refuse("400 Bad Request: invalid server name")
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "spawn_error")
    assert "invalid server name" in launched.status_message


def test_a_spawn_the_spawner_refused_fails_with_the_spawners_reason(launched, hub):
    hub.slow(5)
    step(launched, hub)
    services.workspace_report_spawn_failure(workspace=launched, message="This workspace needs 1 × h100 GPU, this host has no GPUs.",
                                            generation=launched.generation)
    hub.fail_spawn("alice", launched.server_name, "This workspace needs 1 × h100 GPU, this host has no GPUs.")
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "spawn_error")
    assert launched.status_message == "This workspace needs 1 × h100 GPU, this host has no GPUs."


def test_a_server_that_ran_out_of_memory_while_starting_is_typed_so(launched, hub):
    hub.slow(5)
    step(launched, hub)
    services.workspace_report_spawn_failure(workspace=launched, message="The server exited while starting (it ran out of memory).",
                                            out_of_memory=True, generation=launched.generation)
    hub.fail_spawn("alice", launched.server_name, "The server exited while starting (it ran out of memory).")
    step(launched, hub)
    assert (launched.status, launched.failure_reason) == ("failed", "out_of_memory")


def test_a_start_the_hub_lost_is_asked_for_again_twice_then_fails(launched, hub):
    hub.slow(5)
    step(launched, hub)
    for _ in range(2):
        hub.forget("alice", launched.server_name)  # the hub restarted mid-spawn and forgot it
        assert step(launched, hub) == 1
        assert launched.status == "starting" and kinds(launched)[-1] == "spawn_retried"
    hub.forget("alice", launched.server_name)
    assert step(launched, hub) is None
    assert (launched.status, launched.failure_reason) == ("failed", "spawn_error")
    assert "the hub did not say why" in launched.status_message


def test_stop_and_delete_ask_the_hub_and_settle(launched, hub, alice):
    running(launched, hub)
    services.workspace_request_stop(workspace=launched, actor=alice)
    step(launched, hub, times=2)
    assert launched.status == "stopped" and kinds(launched)[-1] == "stopped"
    services.workspace_request_delete(workspace=launched, actor=alice)
    step(launched, hub)
    assert launched.status == "deleted" and ("stop_server", "alice", launched.server_name) in hub.calls


def test_the_janitor_notices_what_died_and_records_what_it_saw_alive(launched, hub, alice, team, small, celery_eager):
    running(launched, hub)
    other = running(services.workspace_create(owner=alice, name="other", profile=small), hub)
    hub.forget("alice", other.server_name)
    before = timezone.now()
    assert workspace_reconcile_all(hub=hub) == 1  # only the vanished one is looked at again
    assert celery_eager == [(other.pk,)]
    launched.refresh_from_db()
    assert launched.last_seen_alive >= before
    step(other, hub)  # the reconcile it queued
    assert other.status_message == "The server has stopped; finding out why…"


@pytest.fixture
def celery_eager(monkeypatch):
    """The reconciles the janitor queues, kept here: this test hands the janitor its hub, not its tasks."""
    from workspaces import tasks

    queued = []
    monkeypatch.setattr(tasks.workspace_reconcile_task, "delay", lambda *args: queued.append(args))
    return queued

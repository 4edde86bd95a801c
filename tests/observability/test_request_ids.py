"""One request id from a portal request into the Celery tasks it queued and the hub calls made for it;
one log line a request and a task, JSON or plain."""

import json
import logging
import time

import pytest

from observability import logs
from observability.metrics import REGISTRY


def test_a_request_gets_an_id_or_keeps_a_sane_one_it_brought(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-id-1234")["X-Request-ID"] == "proxy-id-1234"
    for bad in ("x", "two words here", "a" * 65, "inject\nline"):
        given = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert given != bad and len(given) == 32 and int(given, 16) >= 0


def test_each_request_leaves_one_log_line_with_its_id_view_and_status(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="portal.requests"):
        client.get("/healthz", HTTP_X_REQUEST_ID="line-id-12345")
        client.get("/no-such-page/")
    lines = [record for record in caplog.records if record.name == "portal.requests"]
    assert len(lines) == 2
    formatted = json.loads(logs.JsonFormatter().format(_with_id(lines[0], "line-id-12345")))
    assert formatted["request_id"] == "line-id-12345"
    assert (formatted["view"], formatted["status"], formatted["method"]) == ("healthz", 200, "GET")
    assert lines[1].view == "unmatched" and lines[1].status == 404


def _with_id(record, rid):
    record.request_id = rid
    return record


def test_the_json_format_is_one_object_a_line_and_plain_text_names_the_id():
    token = logs.request_id_set("ctx-id-123456")
    try:
        record = logging.makeLogRecord({"name": "x", "levelname": "WARNING", "msg": "two\nlines %s", "args": ("here",),
                                        "extra_field": 3})
        logs.RequestIdFilter().filter(record)
        line = logs.JsonFormatter().format(record)
        plain = logging.Formatter("%(levelname)s [%(request_id)s] %(message)s").format(record)
    finally:
        logs.request_id_reset(token)
    assert "\n" not in line
    assert json.loads(line) | {"time": None} == {"time": None, "level": "WARNING", "logger": "x",
                                                 "message": "two\nlines here", "request_id": "ctx-id-123456",
                                                 "extra_field": 3}
    assert plain == "WARNING [ctx-id-123456] two\nlines here"


def _sample(name, labels):
    return REGISTRY.get_sample_value(name, labels) or 0


@pytest.mark.hub
def test_the_id_reaches_the_task_and_the_hub_and_tasks_are_counted(hub, celery_worker, caplog):
    from workspaces.hub import hub_client
    from workspaces.tasks import workspace_reconcile_task

    task = "workspaces.tasks.workspace_reconcile_task"
    ran_before = _sample("dsw_celery_tasks_total", {"task": task, "outcome": "success"})
    queued_before = _sample("dsw_celery_task_queue_seconds_count", {"task": task})
    hub_calls_before = _sample("dsw_hub_api_request_duration_seconds_count", {"method": "GET", "route": "/users/{user}"})
    sent = []
    client = hub_client()
    client.session.hooks["response"].append(lambda response, **kwargs: sent.append(response.request.headers))
    token = logs.request_id_set("chain-id-12345")
    try:
        client.server_state("nobody-here", "ws-1")
        with caplog.at_level(logging.INFO, logger="portal.tasks"):
            queued = workspace_reconcile_task.delay(10**9)  # no such workspace: the task ends at once
            deadline = time.monotonic() + 30
            while not _task_lines(caplog, queued.id) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        logs.request_id_reset(token)
    assert sent and sent[0]["X-Request-ID"] == "chain-id-12345"
    # At least: the session's worker may still be reconciling workspaces of earlier tests.
    assert _sample("dsw_hub_api_request_duration_seconds_count", {"method": "GET", "route": "/users/{user}"}) >= hub_calls_before + 1
    (line,) = _task_lines(caplog, queued.id)
    assert (line.task, line.outcome, line.request_id) == (task, "success", "chain-id-12345")
    assert _sample("dsw_celery_tasks_total", {"task": task, "outcome": "success"}) >= ran_before + 1
    assert _sample("dsw_celery_task_queue_seconds_count", {"task": task}) >= queued_before + 1


def _task_lines(caplog, task_id):
    return [r for r in caplog.records if r.name == "portal.tasks" and r.task_id == task_id]

"""The embedded broker (kombu's file transport with our reader): a half-written or broken message file
never kills the worker; real messages still flow, each taken once."""

import fcntl
import os
import time
from queue import Empty

import pytest
from kombu import Connection


@pytest.fixture
def queue_dir(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def control_dir(tmp_path_factory):
    # kombu keeps declared bindings in class-level state, and writes them to the control folder only the
    # first time: every connection of this process must share one control folder, as a worker's do.
    return tmp_path_factory.mktemp("control")


@pytest.fixture
def connection(queue_dir, control_dir):
    options = {"data_folder_in": str(queue_dir), "data_folder_out": str(queue_dir),
               "control_folder": str(control_dir), "polling_interval": 0.01}
    with Connection("filesystem://", transport="portal.broker:Transport", transport_options=options) as conn:
        yield conn


def message_file(queue_dir, content, queue="jobs", age=0):
    path = queue_dir / f"{int(time.monotonic() * 1000)}_{os.urandom(4).hex()}.{queue}.msg"
    path.write_bytes(content)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_real_messages_flow_once(connection):
    queue = connection.SimpleQueue("jobs")
    queue.put({"task": "one"})
    queue.put({"task": "two"})
    # Each taken once (kombu names files by the millisecond, so two in the same one come in either order).
    assert sorted(queue.get(timeout=5).payload["task"] for _ in range(2)) == ["one", "two"]
    with pytest.raises(Empty):
        queue.get(timeout=0.2)


def test_a_file_still_being_written_is_left_for_its_writer(connection, queue_dir):
    empty = message_file(queue_dir, b"")
    channel = connection.channel()
    with pytest.raises(Empty):
        channel._get("jobs")
    assert empty.exists()  # not taken, not thrown away

    locked = message_file(queue_dir, b"")
    with open(locked, "rb+") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)  # a writer holding its lock
        with pytest.raises(Empty):
            channel._get("jobs")
    assert locked.exists()


def test_broken_files_are_set_aside_and_logged_and_the_next_message_is_taken(connection, queue_dir, caplog):
    stale = message_file(queue_dir, b"", age=60)
    garbage = message_file(queue_dir, b"{not json")
    queue = connection.SimpleQueue("jobs")
    queue.put({"task": "after the broken ones"})
    assert queue.get(timeout=5).payload == {"task": "after the broken ones"}
    broken = queue_dir.parent / "broken"
    assert sorted(path.name for path in broken.iterdir()) == sorted([stale.name, garbage.name])
    assert not stale.exists() and not garbage.exists()
    assert "Set aside a queue message that is not one" in caplog.text


def test_other_queues_files_are_left_alone(connection, queue_dir):
    other = message_file(queue_dir, b"{}", queue="other")
    with pytest.raises(Empty):
        connection.channel()._get("jobs")
    assert other.exists()

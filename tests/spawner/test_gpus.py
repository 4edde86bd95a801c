"""GPU allocations: exclusive across processes and restarts, typed, and refused in words people understand."""

import multiprocessing
import os
import stat

import pytest

from spawner.gpus import GpuInventory, GpuUnavailable, gpu_type_from_name

FOUR_H100 = [{"index": str(i), "type": "h100"} for i in range(4)]
MIXED = [{"index": "0", "type": "a100"}, {"index": "1", "type": "H100"}, {"index": "2", "type": "h100"}]


def allocate_one(state_file, key, barrier, results):
    barrier.wait()  # everyone asks at the same moment
    try:
        results.put((key, GpuInventory(state_file, FOUR_H100).allocate(key, 1)))
    except GpuUnavailable as exc:
        results.put((key, str(exc)))


def test_concurrent_processes_never_double_book(tmp_path):
    state_file = tmp_path / "gpus.json"
    context = multiprocessing.get_context("fork")
    workers = 8
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=allocate_one, args=(state_file, f"ws-{n}", barrier, results))
                 for n in range(workers)]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=30) for _ in processes)
    for process in processes:
        process.join(timeout=30)

    granted = [devices for devices in outcomes.values() if isinstance(devices, list)]
    refused = [message for message in outcomes.values() if isinstance(message, str)]
    assert sorted(index for devices in granted for index in devices) == ["0", "1", "2", "3"]
    assert len(refused) == workers - 4
    assert all(message == "needs 1 GPU, 0 free of 4" for message in refused)


def test_allocation_is_idempotent_and_survives_a_restart(tmp_path):
    state_file = tmp_path / "gpus.json"
    first = GpuInventory(state_file, FOUR_H100).allocate("ws-1", 2, "h100")
    assert first == GpuInventory(state_file, FOUR_H100).allocate("ws-1", 2, "h100")  # a restarted hub
    second = GpuInventory(state_file, FOUR_H100).allocate("ws-2", 2)
    assert not set(first) & set(second)


def test_release_frees_and_is_idempotent(tmp_path):
    inventory = GpuInventory(tmp_path / "gpus.json", FOUR_H100)
    inventory.allocate("ws-1", 4)
    with pytest.raises(GpuUnavailable):
        inventory.allocate("ws-2", 1)
    inventory.release("ws-1")
    inventory.release("ws-1")
    inventory.release("never-allocated")
    assert len(inventory.allocate("ws-2", 4)) == 4


def test_a_key_asking_for_a_different_set_gets_it_and_refusal_keeps_what_it_held(tmp_path):
    inventory = GpuInventory(tmp_path / "gpus.json", FOUR_H100)
    assert len(inventory.allocate("ws-1", 1)) == 1
    assert len(inventory.allocate("ws-1", 3)) == 3
    assert inventory.allocate("ws-2", 1) != []
    held = inventory.allocate("ws-1", 3)
    with pytest.raises(GpuUnavailable, match="needs 4 GPUs, 3 free of 4"):  # its own 3 count as free to it
        inventory.allocate("ws-1", 4)
    assert inventory.allocate("ws-1", 3) == held
    assert inventory.allocate("ws-1", 0) == []
    assert len(inventory.allocate("ws-3", 3)) == 3  # ws-1 gave its devices back


def test_type_filtering_and_refusal_messages(tmp_path):
    inventory = GpuInventory(tmp_path / "gpus.json", MIXED)
    assert inventory.allocate("ws-1", 1, "a100") == ["0"]
    assert sorted(inventory.allocate("ws-2", 2, "H100")) == ["1", "2"]
    inventory.release("ws-2")
    inventory.allocate("ws-3", 1, "h100")
    with pytest.raises(GpuUnavailable) as caught:
        inventory.allocate("ws-4", 2, "h100")
    assert str(caught.value) == "needs 2 × h100 GPUs, 1 free of 2"
    with pytest.raises(GpuUnavailable, match=r"^needs 1 × l4 GPU, 0 free of 0$"):
        inventory.allocate("ws-5", 1, "l4")


def test_can_satisfy_checks_capacity_not_current_use(tmp_path):
    inventory = GpuInventory(tmp_path / "gpus.json", MIXED)
    inventory.allocate("ws-1", 3)
    assert inventory.can_satisfy(2, "h100") == (True, "")
    assert inventory.can_satisfy(0) == (True, "")
    assert inventory.can_satisfy(3, "h100") == (False, "needs 3 × h100 GPUs, this host has 1 × a100, 2 × h100")
    assert GpuInventory(tmp_path / "none.json", []).can_satisfy(1) == (False, "needs 1 GPU, this host has no GPUs")


def test_unreadable_state_is_an_error_not_an_empty_inventory(tmp_path):
    state_file = tmp_path / "gpus.json"
    state_file.write_text("{not json")
    with pytest.raises(RuntimeError, match="unreadable"):
        GpuInventory(state_file, FOUR_H100).allocate("ws-1", 1)


@pytest.mark.parametrize("name, gpu_type", [
    ("NVIDIA H100 80GB HBM3", "h100"),
    ("NVIDIA A100-SXM4-80GB", "a100"),
    ("Tesla T4", "t4"),
    ("NVIDIA L4", "l4"),
    ("Tesla V100-SXM2-16GB", "v100"),
])
def test_gpu_types_from_nvidia_smi_names(name, gpu_type):
    assert gpu_type_from_name(name) == gpu_type


def test_detect_reads_nvidia_smi(tmp_path, monkeypatch):
    # A stand-in nvidia-smi that prints what the real one prints for this query.
    binary = tmp_path / "nvidia-smi"
    binary.write_text('#!/bin/sh\n[ "$1 $2" = "--query-gpu=index,name --format=csv,noheader" ] || exit 2\n'
                      'printf "0, NVIDIA H100 80GB HBM3\\n1, NVIDIA A100-SXM4-40GB\\n"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    inventory = GpuInventory.detect(tmp_path / "gpus.json")
    assert inventory.devices == [{"index": "0", "type": "h100"}, {"index": "1", "type": "a100"}]


def test_detect_without_nvidia_smi_finds_no_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert GpuInventory.detect(tmp_path / "gpus.json").devices == []

"""The launch-spec contract: strict validation that names the field at fault, and a lossless round trip."""

import pytest

from spawner.spec import LaunchSpec, LaunchSpecError

DIGEST = "a" * 64


def spec_data(**changes):
    data = {
        "workspace_id": 12,
        "generation": 3,
        "owner": "alice",
        "team": "data-science",
        "profile": "Small",
        "server_name": "ws-12",
        "cpu": 1.5,
        "memory_bytes": 4 * 2**30,
        "gpus": 0,
        "gpu_type": "",
        "disk_bytes": 10 * 2**30,
        "environment": {"kind": "local", "python": "/usr/bin/python3"},
        "env": {"PLATFORM_WORKSPACE_ID": "12"},
        "idle_timeout_seconds": 3600,
    }
    data.update(changes)
    return data


def without(field):
    data = spec_data()
    del data[field]
    return data


@pytest.mark.parametrize("data", [
    spec_data(),
    spec_data(cpu=2),
    spec_data(cpu=0.1, gpus=2, gpu_type="h100", disk_bytes=0, idle_timeout_seconds=0, env={}),
    spec_data(environment={"kind": "image", "reference": f"registry.example.org/team/lab@sha256:{DIGEST}"}),
    spec_data(environment={"kind": "image", "reference": f"localhost:5000/lab@sha256:{DIGEST}"}),
], ids=["local", "integer-cpu", "gpus-and-zeros", "image", "image-with-registry-port"])
def test_valid_specs_round_trip(data):
    spec = LaunchSpec.from_dict(data)
    assert spec.to_dict() == data
    assert LaunchSpec.from_dict(spec.to_dict()) == spec
    assert isinstance(spec.cpu, float)


@pytest.mark.parametrize("data, field", [
    ([], "spec"),
    (spec_data(surprise=1), "surprise"),
    (without("memory_bytes"), "memory_bytes"),
    (spec_data(workspace_id="12"), "workspace_id"),
    (spec_data(workspace_id=0), "workspace_id"),
    (spec_data(workspace_id=True), "workspace_id"),
    (spec_data(owner=""), "owner"),
    (spec_data(owner=None), "owner"),
    (spec_data(team=""), "team"),
    (without("team"), "team"),
    (spec_data(profile=7), "profile"),
    (spec_data(server_name="../ws"), "server_name"),
    (spec_data(cpu=0), "cpu"),
    (spec_data(cpu=-1.0), "cpu"),
    (spec_data(cpu="2"), "cpu"),
    (spec_data(cpu=float("inf")), "cpu"),
    (spec_data(cpu=True), "cpu"),
    (spec_data(memory_bytes=0), "memory_bytes"),
    (spec_data(memory_bytes=1.5e9), "memory_bytes"),
    (spec_data(gpus=-1), "gpus"),
    (spec_data(gpu_type=None), "gpu_type"),
    (spec_data(disk_bytes=-1), "disk_bytes"),
    (spec_data(idle_timeout_seconds=-5), "idle_timeout_seconds"),
    (spec_data(idle_timeout_seconds=1.0), "idle_timeout_seconds"),
    (spec_data(environment="local:default"), "environment"),
    (spec_data(environment={"kind": "conda", "name": "base"}), "environment.kind"),
    (spec_data(environment={"kind": "local", "python": "python3"}), "environment.python"),
    (spec_data(environment={"kind": "local"}), "environment.python"),
    (spec_data(environment={"kind": "local", "python": "/usr/bin/python3", "extra": 1}), "environment.extra"),
    (spec_data(environment={"kind": "image", "reference": "registry.example.org/lab:latest"}), "environment.reference"),
    (spec_data(environment={"kind": "image", "reference": "registry.example.org/lab"}), "environment.reference"),
    (spec_data(environment={"kind": "image", "reference": f"lab@sha256:{DIGEST[:63]}"}), "environment.reference"),
    (spec_data(environment={"kind": "image", "reference": f"lab@sha256:{DIGEST}\n"}), "environment.reference"),
    (spec_data(env=["A=b"]), "env"),
    (spec_data(env={"A": 1}), "env.A"),
    (spec_data(env={"1A": "x"}), "env.1A"),
    (spec_data(env={"A-B": "x"}), "env.A-B"),
])
def test_invalid_specs_name_the_field(data, field):
    with pytest.raises(LaunchSpecError) as caught:
        LaunchSpec.from_dict(data)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_floating_tags_are_refused_with_an_explanation():
    with pytest.raises(LaunchSpecError, match="pinned by digest.*not a floating tag"):
        LaunchSpec.from_dict(spec_data(environment={"kind": "image", "reference": "lab:latest"}))


def test_spec_is_immutable():
    spec = LaunchSpec.from_dict(spec_data())
    with pytest.raises(AttributeError):
        spec.cpu = 64.0

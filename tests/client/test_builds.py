"""dsw_client's image builds against the live portal: a script follows a build's log to its end, cancels, and never
sees another person's builds (building itself needs a running workspace and buildah: tests/images/test_builds.py)."""

import pytest

from builds.models import ImageBuild
from dsw_client import BadInput, NotFound
from tests.conftest import token_for


def test_a_script_follows_a_build_to_its_end_and_cancels_another(connect, live_server, alice, bob):
    build = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/env", tag="2026.12.03.1-abcdef123456",
                                      state="running", step="build", log="STEP 1/4: FROM base\n")
    owner, other = connect(live_server.url, token_for(alice)), connect(live_server.url, token_for(bob))
    assert [item["id"] for item in owner.builds.list()] == [build.pk] and other.builds.list() == []
    with pytest.raises(NotFound):
        other.builds.get(build.pk)

    pieces = []

    def on_log(text):  # the worker finishes the build after the script read its first lines
        pieces.append(text)
        ImageBuild.objects.filter(pk=build.pk).update(log="STEP 1/4: FROM base\n==> done\n", state="succeeded", step="")

    done = owner.builds.wait(build.pk, interval=0.3, on_log=on_log)
    assert done["state"] == "succeeded" and "".join(pieces) == "STEP 1/4: FROM base\n==> done\n"

    with pytest.raises(BadInput) as refused:
        owner.builds.propose(build.pk, "nowhere")  # not a team of hers
    assert "team" in refused.value.errors
    queued = ImageBuild.objects.create(kind="custom", owner=alice, repository="users/alice/other")
    assert owner.builds.cancel(queued.pk)["state"] == "cancelled"
    with pytest.raises(BadInput) as refused:
        owner.builds.create(1, "platform/none:1", "Bad Name")
    assert "name" in str(refused.value.errors) or "detail" in str(refused.value.errors)


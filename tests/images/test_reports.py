"""Vulnerability reports: Trivy JSON through the API, severities normalised, malformed reports refused with
the reason, one notification per report listing only new findings, exceptions through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from images import services
from images.ingest import normalise_severity, parse_trivy
from images.models import VulnerabilityReport
from tests.conftest import api_as, make_user
from tests.images.factories import make_image, trivy_report


@pytest.mark.parametrize("raw, expected", [
    ("CRITICAL", "CRITICAL"), ("high", "HIGH"), ("Important", "HIGH"), ("MODERATE", "MEDIUM"), ("medium", "MEDIUM"),
    ("LOW", "LOW"), ("negligible", "LOW"), ("UNKNOWN", "UNKNOWN"), ("", "UNKNOWN"), (None, "UNKNOWN"), ("weird", "UNKNOWN"),
])
def test_severities_are_normalised(raw, expected):
    assert normalise_severity(raw) == expected


def test_trivy_findings_are_deduplicated():
    report = trivy_report(("CVE-1", "openssl", "HIGH"), ("CVE-1", "openssl", "HIGH"), ("CVE-2", "zlib", "moderate"))
    assert [(f.vulnerability_id, f.severity) for f in parse_trivy(report)] == [("CVE-1", "HIGH"), ("CVE-2", "MEDIUM")]


@pytest.mark.django_db
@pytest.mark.parametrize("report, reason", [
    ([], "report must be a JSON object"),
    ({"SchemaVersion": 1, "Results": []}, "SchemaVersion 1 is not supported"),
    ({"SchemaVersion": 2, "Results": {}}, "Results must be a list"),
    ({"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"PkgName": "x"}]}]}, "Results[0].Vulnerabilities[0].VulnerabilityID is required"),
    ({"SchemaVersion": 2, "Results": [{"Vulnerabilities": "x"}]}, "Results[0].Vulnerabilities must be a list"),
])
def test_malformed_reports_are_refused_with_the_reason(admin, report, reason):
    entry = make_image()
    response = api_as(admin).post("/api/v1/images/reports/", {"digest": entry.manifest.digest, "report": report}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["errors"]["report"][0]


@pytest.mark.django_db
def test_report_upload_checks_digest_and_rights(admin, bob):
    entry = make_image()
    client = api_as(admin)
    bad_digest = client.post("/api/v1/images/reports/", {"digest": "latest", "report": trivy_report()}, format="json")
    assert bad_digest.status_code == 400 and "digest" in bad_digest.json()["errors"]
    unknown = client.post("/api/v1/images/reports/", {"digest": "sha256:" + "1" * 64, "report": trivy_report()}, format="json")
    assert unknown.status_code == 400 and "No image with digest" in unknown.json()["errors"]["digest"][0]
    member = api_as(bob).post("/api/v1/images/reports/", {"digest": entry.manifest.digest, "report": trivy_report()}, format="json")
    assert member.status_code == 400  # bob may not push to platform/: for him that digest does not exist
    ok = client.post("/api/v1/images/reports/", {"digest": entry.manifest.digest,
                                                 "report": trivy_report(("CVE-2026-1", "openssl", "important"))}, format="json")
    assert ok.status_code == 201 and ok.json()["counts"]["HIGH"] == 1 and ok.json()["new_findings"] == ["CVE-2026-1"]
    summary = api_as(bob).get(f"/api/v1/images/{entry.pk}/").json()
    assert summary["scan"]["counts"]["HIGH"] == 1 and summary["findings"][0]["vulnerability_id"] == "CVE-2026-1"


@pytest.mark.django_db
def test_a_robot_attaches_reports_to_repositories_in_its_scopes(admin):
    entry = make_image()
    other = make_image("platform/r-base")
    _, secret = services.robot_create(name="ci", scopes=[{"repository": "platform/python", "actions": ["push"]}], days=1, actor=admin)
    robot = api_as(token=secret)
    assert robot.post("/api/v1/images/reports/", {"digest": entry.manifest.digest, "report": trivy_report()}, format="json").status_code == 201
    assert robot.post("/api/v1/images/reports/", {"digest": other.manifest.digest, "report": trivy_report()}, format="json").status_code == 400
    assert robot.get("/api/v1/workspaces/").status_code in (401, 403)  # robots only reach the CI endpoints
    assert api_as(token="rbt_wrong").post("/api/v1/images/reports/", {}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_owners_get_one_message_listing_only_new_findings(admin, smtp_sink, celery_worker):
    make_user("admin2", is_staff=True)
    entry = make_image()
    digest = entry.manifest.digest
    services.report_attach(digest=digest, principal=admin, report=trivy_report(("CVE-2026-0001", "openssl", "HIGH")))
    first = smtp_sink.wait(1)
    assert len(first) == 1 and sorted(first[0]["To"].split(", ")) == ["admin2@example.org", "admin@example.org"]
    assert "CVE-2026-0001" in first[0].get_payload()

    services.report_attach(digest=digest, principal=admin, report=trivy_report(
        ("CVE-2026-0001", "openssl", "HIGH"), ("CVE-2026-0002", "curl", "CRITICAL")))
    second = smtp_sink.wait(2)
    assert len(second) == 2
    body = second[1].get_payload()
    assert "CVE-2026-0002" in body and "CVE-2026-0001" not in body and "1 new finding" in second[1]["Subject"]

    services.report_attach(digest=digest, principal=admin, report=trivy_report(("CVE-2026-0002", "curl", "CRITICAL")))
    assert VulnerabilityReport.objects.filter(notified=True).count() == 3
    assert services.report_notify(report_id=VulnerabilityReport.objects.first().pk) is False  # idempotent
    assert len(smtp_sink.wait(3, timeout=2)) == 2  # nothing new: no message


@pytest.mark.django_db
def test_exceptions_api(admin, bob):
    client = api_as(admin)
    past = client.post("/api/v1/images/exceptions/", {"vulnerability_id": "CVE-2026-9", "justification": "x",
                                                      "expires": "2020-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and "expires" in past.json()["errors"]
    created = client.post("/api/v1/images/exceptions/", {"vulnerability_id": "CVE-2026-9", "justification": "not reachable",
                                                         "expires": (timezone.now() + timedelta(days=3)).isoformat()}, format="json")
    assert created.status_code == 201 and created.json()["active"]
    assert api_as(bob).post("/api/v1/images/exceptions/", {"vulnerability_id": "CVE-2026-9", "justification": "x",
                                                           "expires": (timezone.now() + timedelta(days=3)).isoformat()},
                            format="json").status_code == 403
    revoked = client.delete(f"/api/v1/images/exceptions/{created.json()['id']}/")
    assert revoked.status_code == 200 and not revoked.json()["active"]

"""Robot accounts through the API: platform admins only, secret shown once, scoped, revocable, audited."""

import pytest

from portal.audit.models import AuditEvent
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def test_robot_lifecycle_through_the_api(admin, alice):
    client = api_as(admin)
    body = {"name": "ci", "scopes": [{"repository": "platform/*", "actions": ["push", "pull"]}], "days": 30}
    assert api_as(alice).post("/api/v1/images/robots/", body, format="json").status_code == 403
    assert api_as(alice).get("/api/v1/images/robots/").status_code == 403
    created = client.post("/api/v1/images/robots/", body, format="json")
    assert created.status_code == 201 and created.json()["secret"].startswith("rbt_")
    assert created.json()["username"] == "robot$ci"
    listed = client.get("/api/v1/images/robots/").json()["results"]
    assert "secret" not in listed[0] and created.json()["secret"] not in str(listed)
    assert client.post("/api/v1/images/robots/", body, format="json").json()["errors"]["name"]  # taken
    bad = client.post("/api/v1/images/robots/", {**body, "name": "ci2", "scopes": [{"repository": "platform/*", "actions": ["delete"]}]},
                      format="json")
    assert bad.status_code == 400 and "scopes" in bad.json()["errors"]
    too_long = client.post("/api/v1/images/robots/", {**body, "name": "ci3", "days": 5000}, format="json")
    assert too_long.status_code == 400 and "days" in too_long.json()["errors"]
    revoked = client.delete(f"/api/v1/images/robots/{created.json()['id']}/")
    assert revoked.status_code == 200 and revoked.json()["usable"] is False
    event = AuditEvent.objects.get(action="robot.created")
    assert created.json()["secret"] not in str(event.data)
    assert AuditEvent.objects.filter(action="robot.revoked").count() == 1

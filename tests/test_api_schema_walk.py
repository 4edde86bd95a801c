"""Every route of the published schema (`/api/schema/`), called with generated input (valid and
invalid) as a platform admin: no answer is a 5xx, and every documented answer matches the schema.

Bounded and deterministic (a fixed number of examples per operation, the same ones every run), so
it runs in the normal suite; schemathesis's own CLI can run it longer against `make run`."""

import itertools
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from images import services as image_services
from portal.accounts.models import Membership
from portal.accounts.services import token_create
from portal.wsgi import application
from tests.conftest import make_user, token_for
from tests.images.factories import make_image
from workspaces.models import Profile, Workspace

EXAMPLES = 12

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=SchemathesisConfig.from_dict({
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all"},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
}))
_turn = itertools.count()


@pytest.fixture
def platform(team, other_team, admin):
    """Objects behind the routes' path parameters, so generated requests reach more than 404s.

    The requests go through the real WSGI application, in this test's transaction: like Django's
    test client, keep the application from closing the connection at the end of each request."""
    bob = make_user("bob", team=team)
    make_user("carol", team=other_team, role=Membership.Role.ADMIN)
    Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
    profile = Profile.objects.create(name="small", cpu=1, memory_bytes=2**30)
    workspace = Workspace.objects.create(owner=admin, team=team, profile=profile, name="ws", image="local:default")
    image = make_image("teams/data-science/base")
    robot, _ = image_services.robot_create(name="ci", scopes=[{"repository": "platform/*"}], days=30, actor=admin)
    exception = image_services.scan_exception_create(vulnerability_id="CVE-2026-0001", justification="test",
                                                     expires=timezone.now() + timedelta(days=7), actor=admin)
    spare_token, _ = token_create(user=admin, name="spare")
    from buckets.models import Bucket

    bucket = Bucket.objects.create(name="dsw-t-data-science", kind=Bucket.Kind.TEAM, team=team, primary=True)
    from projects.services import project_create

    project = project_create(actor=admin, team=team, name="Churn")
    known = {"team_id": team.id, "username": "bob", "user_id": bob.id, "slug": team.slug, **_sharing_objects(admin, bob, workspace)}
    by_path = {"/api/v1/profiles/": profile.id, "/api/v1/workspaces/": workspace.id, "/api/v1/tokens/": spare_token.id,
               "/api/v1/images/robots/": robot.id, "/api/v1/images/exceptions/": exception.id, "/api/v1/images/": image.id,
               "/api/v1/buckets/": bucket.id, "/api/v1/projects/": project.id,
               "/api/v1/shares/notebooks/": known["notebook_id"]}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"token": token_for(admin), "known": known, "by_path": by_path}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _sharing_objects(admin, bob, workspace):
    """A published notebook of the admin's with one stored version, shared with bob, a link, a failed snapshot,
    a copy and a live share: the sharing routes' path parameters."""
    from sharing import blobs
    from sharing.models import Grant, LiveShare, NotebookCopy, NotebookVersion, SecretLink, SharedNotebook, Snapshot

    raw = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    blobs.blob_put(blobs.notebook_key(blobs.digest(raw)), raw)
    blobs.blob_put(blobs.html_key(blobs.digest(b"<p>")), b"<p>")
    notebook = SharedNotebook.objects.create(owner=admin, path="a.ipynb", title="a")
    version = NotebookVersion.objects.create(notebook=notebook, number=1, sha256=blobs.digest(raw), size=len(raw),
                                             html_sha256=blobs.digest(b"<p>"), author=admin, author_username="admin")
    return {"notebook_id": notebook.id, "number": 1,
            "grant_id": Grant.objects.create(notebook=notebook, user=bob).id,
            "link_id": SecretLink.objects.create(notebook=notebook, token_sha256="0" * 64).id,
            "snapshot_id": Snapshot.objects.create(notebook=notebook, author=admin, state="failed").id,
            "copy_id": NotebookCopy.objects.create(version=version, workspace=workspace, actor=admin).id,
            "share_id": LiveShare.objects.create(workspace=workspace, user=bob).id, "workspace_id": workspace.id}


def _known_objects(case, platform):
    """Every other example names objects that exist: the route then runs past its 404 into real code."""
    if not case.path_parameters or next(_turn) % 2:
        return
    for name in case.path_parameters:
        if name in platform["known"]:
            case.path_parameters[name] = platform["known"][name]
        elif name == "id":
            prefix = next(prefix for prefix in platform["by_path"] if case.path.startswith(prefix))
            case.path_parameters[name] = platform["by_path"][prefix]


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_no_route_answers_5xx_or_off_schema(case, platform):
    _known_objects(case, platform)
    response = case.call_and_validate(headers={"Authorization": f"Bearer {platform['token']}"},
                                      checks=[not_a_server_error, response_schema_conformance])
    # The admin's token stays valid throughout, so every answer is about the input, not a 401.
    assert response.status_code != 401 or case.path == "/api/v1/auth/token/"

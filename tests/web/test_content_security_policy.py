"""Every portal page (each GET route of the URL conf, as each persona, plus the Django admin's)
sends a Content-Security-Policy that allows script only from our own files, and no page has an
inline script."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from images import services as image_services
from portal.accounts.models import Membership
from portal.accounts.services import token_create
from projects.services import project_create
from tests.conftest import make_user
from tests.images.factories import make_image
from buckets.models import Bucket
from sharing.models import SharedNotebook
from workspaces.models import Profile, Workspace

# Not pages: the API and OAuth endpoints answer JSON (and carry the header anyway, see below).
NOT_PAGES = ("api/v1/", "api/internal/", "api/schema/", "o/", "django-admin/")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)


def _routes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith(NOT_PAGES):
                yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern) and not route.startswith(NOT_PAGES):
            yield route


@pytest.fixture
def objects(team, admin, bob):
    Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
    profile = Profile.objects.create(name="small", cpu=1, memory_bytes=2**30)
    workspace = Workspace.objects.create(owner=bob, team=team, profile=profile, name="ws", image="local:default")
    image = make_image("teams/data-science/base")
    robot, _ = image_services.robot_create(name="ci", scopes=[{"repository": "platform/*"}], days=30, actor=admin)
    exception = image_services.scan_exception_create(vulnerability_id="CVE-2026-0001", justification="accepted",
                                                     expires=timezone.now() + timedelta(days=7), actor=admin)
    token, _ = token_create(user=bob, name="laptop")
    bucket = Bucket.objects.create(name="t-data-science", kind=Bucket.Kind.TEAM, team=team)
    project = project_create(actor=bob, team=team, name="Churn")
    notebook = SharedNotebook.objects.create(owner=bob, path="churn.ipynb", title="churn")  # no version yet
    by_prefix = {"projects/": project.pk, "costs/projects/": project.pk, "workspaces/": workspace.pk, "images/robots/": robot.pk, "images/policy/": exception.pk, "images/": image.pk,
                 "manage/profiles/": profile.pk, "data/buckets/": bucket.pk, "shares/": notebook.pk}
    return {
        "slug": team.slug, "team_id": team.pk, "user_id": bob.pk, "token_id": token.pk, "username": "bob",
        "server_name": "ws", "rest": "lab", "action": "stop",
        # sharing's versions, grants, links, snapshots, copies and live shares that do not exist: a 404, not a 500
        "number": 1, "grant_id": 1, "link_id": 1, "snapshot_id": 1, "copy_id": 1, "share_id": 1, "file_path": "data/a.csv",
        "uidb64": urlsafe_base64_encode(force_bytes(bob.pk)), "token": default_token_generator.make_token(bob),
        "pk": by_prefix,
    }


# Routes that are regular expressions, and the page of each that is walked. /mlflow/ itself is MLflow's own UI,
# exempt from our policy for its scripts (docs/admin-guide.md); every other answer under it is sandboxed.
REGEX_ROUTES = {"mlflow/^(?P<path>.*)$": "/mlflow/ajax-api/2.0/mlflow/experiments/search"}


def _path(route, objects):
    if route in REGEX_ROUTES:
        return REGEX_ROUTES[route]

    def fill(match):
        name = match.group(2)
        if name == "pk":
            return str(next(value for prefix, value in objects["pk"].items() if route.startswith(prefix)))
        return str(objects[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def _assert_policy(response, path):
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
    if "sandbox" in directives and directives.get("default-src") == "'none'":
        return  # stricter still: no script at all, in an opaque origin (rendered notebooks, MLflow's answers)
    assert directives.get("script-src") == "'self'", (path, policy)
    assert directives.get("default-src") == "'self'" and directives.get("object-src") == "'none'", (path, policy)
    if response.status_code == 200 and response.headers.get("Content-Type", "").startswith("text/html"):
        assert not INLINE_SCRIPT.search(response.content.decode()), f"inline script in {path}"


def test_every_page_as_every_persona_sends_the_policy(objects, bob, admin):
    root = make_user("root", is_staff=True, is_superuser=True)
    personas = {"anonymous": Client(), "bob": Client(), "admin": Client(), "root": Client()}
    personas["bob"].force_login(bob)
    personas["admin"].force_login(admin)
    personas["root"].force_login(root)
    routes = list(_routes()) + ["api/docs/"]
    assert len(routes) > 40
    for name, browser in personas.items():
        for route in routes:
            path = _path(route, objects)
            response = browser.get(path)
            # (no MLflow runs here: /mlflow/ says "tracking is unavailable", a 503 by design)
            assert response.status_code < 500 or path in REGEX_ROUTES.values() and response.status_code == 503, (name, path)
            _assert_policy(response, path)


def test_the_django_admin_sends_the_policy(objects, bob):
    root = make_user("root", is_staff=True, is_superuser=True)
    browser = Client()
    _assert_policy(browser.get("/django-admin/login/"), "/django-admin/login/")
    browser.force_login(root)
    paths = ["/django-admin/", f"/django-admin/accounts/user/{bob.pk}/change/"]
    for model in django_admin.site._registry:
        paths += [f"/django-admin/{model._meta.app_label}/{model._meta.model_name}/",
                  f"/django-admin/{model._meta.app_label}/{model._meta.model_name}/add/"]
    for path in paths:
        response = browser.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        _assert_policy(response, path)


def test_api_answers_carry_the_policy_too(bob):
    from tests.conftest import api_as

    _assert_policy(api_as(bob).get("/api/v1/users/me/"), "/api/v1/users/me/")

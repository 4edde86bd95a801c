"""`/api/docs/` in a real browser: Swagger UI renders the whole API from our own files only (it works
air-gapped), under the pages' Content-Security-Policy, without a single request leaving 127.0.0.1."""

from urllib.parse import urlsplit

import pytest

from tests.web.test_browser import browser, page  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


def test_swagger_ui_loads_everything_from_the_portal(page, live_server, db):  # noqa: F811
    requested, refused = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(f"http://127.0.0.1:{live_server.thread.port}/api/docs/")
    page.locator(".swagger-ui .info .title", has_text="Workspaces platform API").wait_for(timeout=30_000)
    page.locator(".opblock-tag", has_text="workspaces").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator(".opblock").count() > 30  # every operation, from /api/schema/

    hosts = {urlsplit(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, requested
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in requested)
    assert any(urlsplit(url).path == "/api/schema/" for url in requested)
    assert refused == []  # nothing the policy had to block: Swagger UI needs no inline script

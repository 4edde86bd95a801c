"""/healthz says the process is alive; /readyz checks the database, the broker and the hub, and names what fails."""

import pytest

from tests.conftest import free_port


def test_healthz_asks_nothing_outside_the_process(client, settings):
    settings.PLATFORM_HUB_API_URL = f"http://127.0.0.1:{free_port()}/hub/api"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.hub
def test_readyz_is_ready_with_a_real_hub_and_names_the_hub_when_it_does_not_answer(hub, client, db, settings):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "hub": "ok"}}

    settings.PLATFORM_HUB_API_URL = f"http://127.0.0.1:{free_port()}/hub/api"  # a hub that is down
    failing = client.get("/readyz")
    assert failing.status_code == 503
    body = failing.json()
    assert body["failing"] == ["hub"] and body["checks"]["database"] == "ok"
    assert body["checks"]["hub"].startswith("failing: ConnectionError")


def test_readyz_names_the_broker_when_it_does_not_answer(client, db, settings):
    from portal.celery import app

    settings.PLATFORM_HUB_API_URL = f"http://127.0.0.1:{free_port()}/hub/api"
    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        body = client.get("/readyz").json()
    finally:
        app.conf.broker_url = saved
    assert body["status"] == "failing" and set(body["failing"]) == {"broker", "hub"}
    assert body["checks"]["database"] == "ok"


def test_probes_and_metrics_answer_on_a_pod_address_no_allowed_host_lists(client, db, settings):
    """Kubelets and Prometheus reach pods by their IP address; every other page still checks the host."""
    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/metrics", HTTP_HOST="10.1.2.3:8000",
                      HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200
    assert client.get("/metrics", HTTP_HOST="10.1.2.3:8000").status_code == 401
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_probes_and_metrics_still_send_the_security_headers(client, db, settings):
    settings.PLATFORM_METRICS_TOKEN = "s3cret-metrics-token"
    for path in ("/healthz", "/readyz", "/metrics"):
        response = client.get(path, HTTP_HOST="10.1.2.3:8000", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
        assert "default-src 'self'" in response["Content-Security-Policy"], path
        assert response["X-Content-Type-Options"] == "nosniff", path

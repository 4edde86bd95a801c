"""Budget alerts: once per period per threshold, by mail (real SMTP sink) and signed webhook (a real
HTTP receiver) from a real Celery worker; forecast alerts; the stop action after its grace period."""

import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from costs.alerts import alert_deliver, budget_check, budget_stop_mail, budgets_check
from costs.models import BudgetAlert
from costs.services import budget_grant_create, budget_set
from tests.conftest import free_port
from tests.costs.conftest import make_workspace, spend
from workspaces.models import Workspace, WorkspaceEvent

UTC = timezone.utc
NOW = datetime(2026, 11, 11, tzinfo=UTC)  # ten days into November's period
SECRET = "s3cret-shared-with-the-receiver"


class Receiver:
    """A real HTTP endpoint that records deliveries; the first ``fail`` requests get a 500."""

    def __init__(self, fail=0):
        self.requests, self.fail, self.event = [], fail, threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = 500 if len(receiver.requests) <= receiver.fail else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                if status == 204:
                    receiver.event.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/budget"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self, timeout=30):
        assert self.event.wait(timeout), f"no successful delivery; got {len(self.requests)} attempts"
        return [json.loads(body) for headers, body in self.requests]


@pytest.fixture
def receiver(settings):
    receiver = Receiver(fail=1)
    settings.PLATFORM_COSTS_WEBHOOK_URLS = [receiver.url]
    settings.PLATFORM_COSTS_WEBHOOK_SECRET = SECRET
    settings.PLATFORM_COSTS_WEBHOOK_BACKOFF = 1
    yield receiver
    receiver.server.shutdown()


def test_thresholds_arrive_by_mail_and_signed_webhook_once(celery_worker, smtp_sink, receiver, admin, alice, bob, team):
    budget = budget_set(team=team, actor=admin, amount=1000, time_zone="UTC")
    late = datetime(2026, 11, 29, tzinfo=UTC)  # late in the period: the forecast stays under 100 %
    spend(team, 550, late - timedelta(days=2))
    assert budgets_check(now=late) == 1
    assert budgets_check(now=late) == 0  # once per period per threshold
    messages = smtp_sink.wait(2)
    assert all("50 %" in m["Subject"] and "Data Science" in m["Subject"] for m in messages)
    assert sorted(m["To"] for m in messages) == ["admin@example.org", "alice@example.org"]  # not bob
    # The receiver failed the first attempt: the task retried with backoff, same signed body.
    payloads = receiver.delivered()
    assert len(payloads) == 2 and payloads[0] == payloads[1]
    headers, body = receiver.requests[-1]
    expected = hmac.new(SECRET.encode(), f"{headers['X-Platform-Timestamp']}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Platform-Signature"] == f"sha256={expected}"
    assert payloads[0]["event"] == "budget.actual" and payloads[0]["threshold"] == 50 and payloads[0]["spent"] == 550
    assert payloads[0]["team"]["slug"] == "data-science"
    # 85 %: only the 80 % alert is new.
    spend(team, 300, late - timedelta(days=1))
    assert budget_check(budget=budget, now=late) == 1
    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [50, 80]
    assert "80 %" in smtp_sink.wait(4)[3]["Subject"]


def test_webhooks_go_only_to_configured_urls(settings, admin, team, db):
    settings.PLATFORM_COSTS_WEBHOOK_URLS = []
    settings.PLATFORM_COSTS_WEBHOOK_SECRET = SECRET
    receiver = Receiver()
    try:
        budget_set(team=team, actor=admin, amount=100)
        spend(team, 100, NOW - timedelta(days=1))
        budgets_check(now=NOW)
        from costs.alerts import webhook_send
        webhook_send(alert_id=BudgetAlert.objects.first().pk, url=receiver.url)
        assert receiver.requests == []
    finally:
        receiver.server.shutdown()


def test_a_new_period_fires_again(admin, team):
    budget = budget_set(team=team, actor=admin, amount=1000, thresholds=[50], time_zone="UTC")
    spend(team, 600, NOW - timedelta(days=1))
    budget_check(budget=budget, now=NOW)
    budget_check(budget=budget, now=NOW + timedelta(days=1))
    spend(team, 600, datetime(2026, 12, 2, tzinfo=UTC))
    budget_check(budget=budget, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert BudgetAlert.objects.filter(kind="actual").count() == 2


def test_forecast_alert(admin, team):
    budget = budget_set(team=team, actor=admin, amount=1000, thresholds=[80], time_zone="UTC")
    spend(team, 400, NOW - timedelta(days=3))  # 40 % after 10 of 30 days: heading for 120 %
    assert budget_check(budget=budget, now=NOW) == 1
    alert = BudgetAlert.objects.get()
    assert (alert.kind, alert.threshold, alert.forecast) == ("forecast", 100, 1200)
    assert budget_check(budget=budget, now=NOW + timedelta(hours=1)) == 0


def test_no_forecast_in_the_first_day(admin, team):
    budget = budget_set(team=team, actor=admin, amount=1000, thresholds=[80], time_zone="UTC")
    spend(team, 100, datetime(2026, 11, 1, 1, tzinfo=UTC))
    assert budget_check(budget=budget, now=datetime(2026, 11, 1, 2, tzinfo=UTC)) == 0


def test_stop_workspaces_after_the_grace_period_with_a_warning(admin, alice, bob, carol, team, other_team, small):
    budget = budget_set(team=team, actor=admin, amount=1000, thresholds=[50], action="stop_workspaces", grace_minutes=30,
                        time_zone="UTC")
    running = make_workspace(alice, team, small, name="a", desired_state="running", observed_state="running")
    stopped = make_workspace(bob, team, small, name="b", desired_state="stopped", observed_state="stopped")
    elsewhere = make_workspace(carol, other_team, small, name="c", desired_state="running", observed_state="running")
    spend(team, 1000, NOW - timedelta(days=1))
    assert budget_check(budget=budget, now=NOW) == 3  # 50 %, 100 % and the forecast
    alert = BudgetAlert.objects.get(kind="actual", threshold=100)
    assert alert.stop_after == NOW + timedelta(minutes=30)
    alert_deliver(alert_id=alert.pk)
    assert budget_stop_mail(team_id=team.pk, warned_at=NOW) == 1
    warning = [m for m in mail.outbox if m.to == ["alice@example.org"] and "will be stopped" in m.subject]
    assert len(warning) == 1 and "home are kept" in warning[0].body
    assert WorkspaceEvent.objects.filter(workspace=running, kind="budget_warning").count() == 1
    alert_deliver(alert_id=alert.pk)  # a retried delivery sends nothing twice
    assert budget_stop_mail(team_id=team.pk, warned_at=NOW) == 0
    assert len([m for m in mail.outbox if m.to == ["alice@example.org"] and "will be stopped" in m.subject]) == 1
    budget_check(budget=budget, now=NOW + timedelta(minutes=29))
    assert Workspace.objects.get(pk=running.pk).desired_state == "running"
    budget_check(budget=budget, now=NOW + timedelta(minutes=31))
    assert Workspace.objects.get(pk=running.pk).desired_state == "stopped"  # stopped, not deleted: the home stays
    assert "budget" in WorkspaceEvent.objects.get(workspace=running, kind="stop_requested").message
    assert Workspace.objects.get(pk=stopped.pk).desired_state == "stopped"
    assert Workspace.objects.get(pk=elsewhere.pk).desired_state == "running"


def test_a_grant_before_the_deadline_keeps_workspaces_running(admin, alice, team, small):
    budget = budget_set(team=team, actor=admin, amount=1000, action="stop_workspaces", grace_minutes=30, time_zone="UTC")
    running = make_workspace(alice, team, small, name="a", desired_state="running", observed_state="running")
    spend(team, 1000, NOW - timedelta(days=1))
    budget_check(budget=budget, now=NOW)
    budget_grant_create(team=team, actor=admin, amount=500, starts=NOW - timedelta(hours=1), ends=NOW + timedelta(days=5),
                        reason="Paper deadline")
    budget_check(budget=budget, now=NOW + timedelta(minutes=31))
    assert Workspace.objects.get(pk=running.pk).desired_state == "running"

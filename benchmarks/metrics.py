"""The cost of metrics: a typical API view with the metrics middleware on and off, and a /metrics scrape.

    .venv/bin/python benchmarks/metrics.py [--requests 400] [--workspaces 500] [--json]

Runs in a throw-away embedded data directory (SQLite), never in your database, through Django's own
request handler (the whole middleware stack, no network). The API view is `GET /api/v1/workspaces/`
with a personal token (authentication, a page of the caller's workspaces, JSON): rounds alternate
middleware on and off in the same run so the two see the same machine; the ratio of the medians is the
cost (goal ≤ 1.05×). Then /metrics with --workspaces workspaces over 3 teams, 4 sizes and every status,
3 budgets: median scrape time and its SQL queries (a bounded number, whatever the count).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
MIDDLEWARE = "observability.middleware.RequestObservabilityMiddleware"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="requests per side (on and off)")
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="dsw-bench-metrics-")
    for name in [n for n in os.environ if n.startswith(("PLATFORM_", "DJANGO_")) or n in ("DATABASE_URL", "REDIS_URL")]:
        del os.environ[name]
    os.environ.update(PLATFORM_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="portal.settings", PLATFORM_LOG_LEVEL="WARNING")
    import django

    django.setup()
    try:
        result = run(args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"API view GET /api/v1/workspaces/ ({args.requests} requests a side, alternating rounds)")
        print(f"  middleware off  median {result['off_ms']:.2f} ms")
        print(f"  middleware on   median {result['on_ms']:.2f} ms")
        print(f"  ratio           {result['ratio']:.3f}x  (goal <= 1.05x)")
        print(f"/metrics with {result['workspaces']} workspaces: median {result['scrape_ms']:.1f} ms, "
              f"{result['scrape_queries']} SQL queries, {result['scrape_bytes']} bytes")


def seed(count):
    from django.core.management import call_command
    from django.utils import timezone

    from costs.services import budget_set
    from portal.accounts import services as accounts
    from portal.accounts.models import Membership, Team, User
    from workspaces.models import Profile, Workspace
    from workspaces.states import Desired, Observed

    from portal.processes.state import state_dir_prepare

    state_dir_prepare()  # the embedded broker's folders: budgets queue a task
    call_command("migrate", verbosity=0, interactive=False)
    admin = User.objects.create_user("bench-admin", "admin@example.org", "x", is_staff=True)
    teams = [Team.objects.create(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    for team in teams:
        budget_set(team=team, actor=admin, amount=100_000, currency="EUR")
    profiles = [Profile.objects.create(name=f"Size {n}", cpu=str(n + 1), memory_bytes=(n + 1) * 2**30) for n in range(4)]
    owner = User.objects.create_user("alice", "alice@example.org", "x")
    Membership.objects.create(team=teams[0], user=owner)
    people = [owner] + [User.objects.create_user(f"user{n}", f"user{n}@example.org", "x") for n in range(9)]
    for index, person in enumerate(people[1:]):
        Membership.objects.create(team=teams[index % 3], user=person)
    states = [(d, o) for d in (Desired.RUNNING, Desired.STOPPED) for o in Observed.values]
    now = timezone.now()
    Workspace.objects.bulk_create([
        Workspace(owner=people[n % len(people)], team=teams[n % 3], name=f"ws-{n}", profile=profiles[n % 4],
                  image="local:default", desired_state=states[n % len(states)][0], observed_state=states[n % len(states)][1],
                  start_requested=now)
        for n in range(count)])
    _, token = accounts.token_create(user=owner, name="bench")
    return token


def timed(client, path, headers, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path, **headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content[:300]
    return samples


def run(args):
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    token = seed(args.workspaces)
    client = Client(HTTP_HOST="127.0.0.1")  # a host ALLOWED_HOSTS lists in embedded mode
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    without = [name for name in settings.MIDDLEWARE if name != MIDDLEWARE]
    # The token check is rate limited per address; this is one client asking many times on purpose.
    with override_settings(PLATFORM_LOGIN_RATE="1000000/minute"):
        timed(client, "/api/v1/workspaces/", api, 20)  # warm caches and connections
        on, off, rounds = [], [], 10
        for _ in range(rounds):
            on += timed(client, "/api/v1/workspaces/", api, args.requests // rounds)
            with override_settings(MIDDLEWARE=without):
                off += timed(client, "/api/v1/workspaces/", api, args.requests // rounds)
    metrics = {"HTTP_AUTHORIZATION": f"Bearer {settings.PLATFORM_METRICS_TOKEN}"}
    scrapes = timed(client, "/metrics", metrics, 20)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/metrics", **metrics).content
    on_ms, off_ms = statistics.median(on) * 1000, statistics.median(off) * 1000
    return {"on_ms": on_ms, "off_ms": off_ms, "ratio": on_ms / off_ms, "workspaces": args.workspaces,
            "scrape_ms": statistics.median(scrapes) * 1000, "scrape_queries": len(queries.captured_queries),
            "scrape_bytes": len(body)}


if __name__ == "__main__":
    main()

"""Cost report speed: the team report against a plain aggregate over the same table, in one run.

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/costs.py [--users 200] [--hours-per-day 8] [--rounds 7]

Creates a scratch PostgreSQL database next to the one DATABASE_URL names (dropped at the end),
migrates it, and seeds a month of per-minute usage: every user of a 200-person team runs a
workspace ``--hours-per-day`` hours a day for 30 days, metered every minute (one ledger row per
minute, as with PLATFORM_COSTS_METER_SECONDS=60), plus a second team as noise. Then it times
``costs.selectors.cost_report`` for each grouping and the HTTP endpoint, next to the baseline: a
plain ``SELECT user_id, SUM(cost_micros) … GROUP BY user_id`` over the same raw rows. Reports read the
hourly roll-ups (costs/rollups.py), built here from the seeded ledger; the report by user is checked
equal to the baseline to the micro-unit. Prints medians, ratios and query counts. Target (issue 22):
report by user ≤ 0.1× the baseline, and a constant number of queries.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def scratch_database(url):
    """Create an empty database on the same server; returns (its URL, a function that drops it)."""
    import psycopg

    parts = urlsplit(url)
    name = f"platform_bench_costs_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


SEED = """
INSERT INTO costs_meterrun (id, kind, workspace_id, workspace_name, bucket_name, project_slug, user_id, username, team_id, team_slug, profile_id,
                            profile_name, image, cpu, memory_bytes, gpus, gpu_type, disk_bytes, start, "end", metered_until)
SELECT %(base)s + u, 'compute', %(base)s + u, 'ws' || u, '', '', %(base)s + u, %(prefix)s || u, %(team)s, %(slug)s, 1 + u %% 3,
       (ARRAY['Small', 'Medium', 'GPU'])[1 + u %% 3], 'local:default', 1, 2147483648, 0, '', 0,
       %(start)s::timestamptz, %(start)s::timestamptz + interval '30 days', %(start)s::timestamptz + interval '30 days'
FROM generate_series(1, %(users)s) AS u;

INSERT INTO costs_usagerecord (run_id, kind, workspace_id, workspace_name, bucket_name, project_slug, user_id, username, team_id, team_slug, profile_id,
                               profile_name, image, start, "end", duration_ms, price_sheet_id, rate_micros_per_hour,
                               cost_micros, currency, created)
SELECT %(base)s + u, 'compute', %(base)s + u, 'ws' || u, '', '', %(base)s + u, %(prefix)s || u, %(team)s, %(slug)s, 1 + u %% 3,
       (ARRAY['Small', 'Medium', 'GPU'])[1 + u %% 3], 'local:default',
       t, t + interval '1 minute', 60000, NULL, 21000000, 350000, 'EUR', now()
FROM generate_series(1, %(users)s) AS u,
     generate_series(0, 29) AS d,
     generate_series(0, %(minutes)s - 1) AS m,
     LATERAL (SELECT %(start)s::timestamptz + d * interval '1 day' + interval '8 hours' + (u %% 60) * interval '1 minute'
                     + m * interval '1 minute' AS t) AS slot;
"""

BASELINE = """SELECT user_id, SUM(cost_micros) FROM costs_usagerecord
               WHERE team_id = %s AND start >= %s AND start < %s GROUP BY user_id"""


class QueryCount:
    """Counts the SQL statements run inside the block (the test client resets Django's own query log per request)."""

    def __init__(self, connection):
        self.connection, self.count = connection, 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = self.connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        return self._wrapper.__exit__(*exc)

    def __len__(self):
        return self.count


def timed(fn, rounds):
    fn()  # warm the caches once, as a report page that is visited twice would
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--hours-per-day", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--culling-servers", type=int, default=500, help="servers for the culling sweep (0: skip it)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (e.g. from `bash scripts/services.sh start`); the benchmark "
                 "creates and drops its own scratch database there.")
    os.environ["DATABASE_URL"], drop = scratch_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    try:
        run(args)
    finally:
        if not args.keep:
            drop()


def run(args):
    import django

    django.setup()
    from datetime import datetime, timedelta, timezone

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from costs.metering import rollups_rebuild
    from costs.pricing import micros_to_minor
    from costs.selectors import cost_report
    from portal.accounts.models import Membership, Team, User

    call_command("migrate", verbosity=0)
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=31)
    team = Team.objects.create(name="Bench", slug="bench")
    noise = Team.objects.create(name="Noise", slug="noise")
    admin = User.objects.create_user("bench-admin", is_staff=True)
    Membership.objects.create(team=team, user=admin, role="admin")
    seeded = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load without per-row index upkeep and foreign-key triggers; the indexes are rebuilt after.
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'costs_usagerecord' AND indexname NOT LIKE '%%pkey'")
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'costs_usagerecord'::regclass AND contype = 'u'")
        uniques = cursor.fetchall()
        for name, _ in uniques:
            cursor.execute(f'ALTER TABLE costs_usagerecord DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        cursor.execute("SET session_replication_role = replica")
        for which, users, base, prefix in ((team, args.users, 10**6, "user"), (noise, max(args.users // 4, 1), 2 * 10**6, "other")):
            cursor.execute(SEED, {"base": base, "prefix": prefix, "team": which.pk, "slug": which.slug, "users": users,
                                  "start": start.isoformat(), "minutes": args.hours_per_day * 60})
        cursor.execute("SET session_replication_role = DEFAULT")
        for name, definition in uniques:
            cursor.execute(f'ALTER TABLE costs_usagerecord ADD CONSTRAINT "{name}" {definition}')
        unique_names = {name for name, _ in uniques}
        for name, definition in indexes:
            if name not in unique_names:
                cursor.execute(definition)
        cursor.execute("ANALYZE costs_usagerecord")
        cursor.execute("SELECT count(*) FROM costs_usagerecord WHERE team_id = %s", [team.pk])
        rows = cursor.fetchone()[0]
    print(f"seeded {rows:,} ledger rows for {args.users} users (+ noise) in {time.perf_counter() - seeded:.1f} s")
    # Metering keeps the roll-ups as it writes the ledger; a seeded ledger gets them the way an upgrade does.
    rolled = time.perf_counter()
    rollup_rows = rollups_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE costs_usagerollup")
    print(f"rolled up into {rollup_rows:,} hourly rows in {time.perf_counter() - rolled:.1f} s (manage.py costs_rebuild_rollups)")

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(BASELINE, [team.pk, start, end])
            return cursor.fetchall()

    base_time = timed(baseline, args.rounds)
    by_user, _ = cost_report(team=team, start=start, end=end, group_by="user")
    assert {g["key"]: g["cost"] for g in by_user} == {user: micros_to_minor(micros) for user, micros in baseline()}, \
        "the report by user differs from the plain aggregate"
    print(f"\nbaseline (plain SUM … GROUP BY user_id): {base_time * 1000:8.1f} ms  (1 query)\n")
    print(f"{'report':<28}{'median':>10}{'ratio':>8}{'queries':>9}")
    worst = by_user_ratio = 0.0
    for group_by in ("user", "profile", "image", "day", "workspace"):
        with QueryCount(connection) as queries:
            groups, total = cost_report(team=team, start=start, end=end, group_by=group_by)
        report_time = timed(lambda: cost_report(team=team, start=start, end=end, group_by=group_by), args.rounds)
        worst = max(worst, report_time / base_time)
        by_user_ratio = report_time / base_time if group_by == "user" else by_user_ratio
        print(f"{'cost_report ' + group_by:<28}{report_time * 1000:8.1f} ms{report_time / base_time:8.2f}{len(queries):>9}")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    path = f"/api/v1/teams/{team.pk}/costs/?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&group_by=user"
    with QueryCount(connection) as queries:
        assert client.get(path).status_code == 200
    api_time = timed(lambda: client.get(path), args.rounds)
    print(f"{'GET …/costs/?group_by=user':<28}{api_time * 1000:8.1f} ms{api_time / base_time:8.2f}{len(queries):>9}"
          "   (HTTP through Django: session, team check, budget look-up)")
    print(f"\nreport by user / baseline: {by_user_ratio:.3f} (target ≤ 0.10), equal to it to the micro-unit; "
          f"worst report / baseline: {worst:.3f}")

    # --- Culling sweep ---------------------------------------------------------------------------
    # benchmarks/culling.py sets Django up for its own throw-away data directory, so it runs as
    # its own process; its tables print after the reports'.
    if args.culling_servers:
        print(f"\n--- idle-culling sweep over {args.culling_servers} servers (benchmarks/culling.py) ---", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).with_name("culling.py")), "--servers", str(args.culling_servers)],
                       check=True)

if __name__ == "__main__":
    main()

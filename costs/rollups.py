"""Hourly roll-ups of the usage ledger: what cost reports, budgets, forecasts and metrics read.

Metering cuts every ledger record at UTC hours, so each record lies inside one hour and an hour's
roll-up rows (one per attribution: team, person, workspace, bucket, project, profile, image) sum
exactly what its records do. A range [start, end) is then read from the roll-ups for the whole
hours inside it and from the raw records only where an hour is cut: the edges of the range, and,
for a report by day, the hours a local midnight falls inside (zones half or three quarters of an
hour off UTC). A report is therefore the plain aggregate over the raw rows to the micro-unit, for
any range and any zone, while reading about one row per workspace-hour instead of one per slice.

Maintenance is incremental and idempotent because it rides on metering: a pass adds the records it
inserts to their hours in the same transaction, under the metering lock, so a failed pass adds
nothing and two passes never count a record twice. ``rebuild`` recomputes everything from the ledger
(``manage.py costs_rebuild_rollups``, and the migration that introduced the table).
"""

import hashlib
import json
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import TruncDate, TruncHour

from costs.periods import local_midnights

UTC = timezone.utc
HOUR = timedelta(hours=1)
# The attribution of a ledger record, as its column names; a roll-up row has one value of each.
DIMENSIONS = ("kind", "team_id", "user_id", "username", "workspace_id", "workspace_name", "bucket_id", "bucket_name",
              "project_id", "project_slug", "profile_id", "profile_name", "image")
# SQLite accepts a limited number of parameters per statement; look-ups and writes go in batches.
BATCH = 500


def digest(values):
    """A stable name for one attribution (a tuple in DIMENSIONS' order), NULLs included."""
    return hashlib.sha1(json.dumps(list(values), default=str).encode()).hexdigest()


def hour_of(instant):
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _rollup_model():
    from costs.models import UsageRollup

    return UsageRollup


def add(records, *, rollup_model=None):
    """Add ledger records just inserted (in the caller's transaction) to their hours' roll-ups."""
    model = rollup_model or _rollup_model()
    sums = {}
    for record in records:
        values = tuple(getattr(record, name) for name in DIMENSIONS)
        entry = sums.setdefault((hour_of(record.start), digest(values)), [values, 0, 0, 0])
        entry[1] += record.cost_micros
        entry[2] += record.duration_ms
        entry[3] += 1
    if not sums:
        return
    hours = {hour for hour, _ in sums}
    digests = sorted({name for _, name in sums})
    existing = {}
    for index in range(0, len(digests), BATCH):
        for row in model.objects.filter(hour__in=hours, digest__in=digests[index:index + BATCH]):
            existing[(row.hour, row.digest)] = row
    changed, new = [], []
    for (hour, name), (values, micros, ms, count) in sums.items():
        row = existing.get((hour, name))
        if row is None:
            new.append(model(hour=hour, digest=name, cost_micros=micros, duration_ms=ms, records=count,
                             **dict(zip(DIMENSIONS, values))))
        else:
            row.cost_micros += micros
            row.duration_ms += ms
            row.records += count
            changed.append(row)
    model.objects.bulk_update(changed, ["cost_micros", "duration_ms", "records"], batch_size=BATCH)
    model.objects.bulk_create(new, batch_size=BATCH)


def rebuild(*, rollup_model=None, record_model=None):
    """Recompute every roll-up from the ledger (the caller holds the metering lock, or nothing meters yet)."""
    from costs.models import UsageRecord

    model = rollup_model or _rollup_model()
    records = record_model or UsageRecord
    model.objects.all().delete()
    rows = (records.objects.annotate(hour=TruncHour("start", tzinfo=UTC)).values("hour", *DIMENSIONS)
            .annotate(micros=Sum("cost_micros"), ms=Sum("duration_ms"), count=Count("id")).order_by())
    batch = []
    for row in rows.iterator(chunk_size=2000):
        values = tuple(row[name] for name in DIMENSIONS)
        batch.append(model(hour=row["hour"], digest=digest(values), cost_micros=row["micros"], duration_ms=row["ms"],
                           records=row["count"], **dict(zip(DIMENSIONS, values))))
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)
    return model.objects.count()


def _ceil_hour(instant):
    floor = hour_of(instant)
    return floor if floor == instant else floor + HOUR


def _cut_hours(start, end, day_zone):
    """Split [start, end): (first whole hour, end of the whole hours, hours a local midnight cuts, raw ranges)."""
    first, last = _ceil_hour(start), hour_of(end)
    if first >= last:
        return None, None, set(), [(start, end)]
    cut = set()
    if day_zone:
        cut = {hour_of(midnight) for midnight in local_midnights(first, last, time_zone=day_zone)
               if hour_of(midnight) != midnight}
    raw = [(start, first)] if start < first else []
    raw += [(hour, hour + HOUR) for hour in sorted(cut)]
    raw += [(last, end)] if last < end else []
    return first, last, cut, raw


def ledger_sums(*, start, end, group_by=(), day_zone=None, **filters):
    """Sums over the ledger records that started in [start, end) and match ``filters`` (e.g. team_id=…),
    grouped by the columns ``group_by`` (and by local day in ``day_zone``, as "day", when given). One query.

    Returns a list of dicts: the group's columns, "micros" (cost), "ms" (duration) and "records".
    """
    from costs.models import UsageRecord

    first, last, cut, raw_ranges = _cut_hours(start, end, day_zone)
    parts = []
    if first is not None:
        rolled = _rollup_model().objects.filter(hour__gte=first, hour__lt=last, **filters).exclude(hour__in=cut)
        parts.append(_grouped(rolled, "hour", group_by, day_zone, count=Sum("records")))
    if raw_ranges:
        within = Q()
        for range_start, range_end in raw_ranges:
            within |= Q(start__gte=range_start, start__lt=range_end)
        raw = UsageRecord.objects.filter(within, **filters)
        parts.append(_grouped(raw, "start", group_by, day_zone, count=Count("id")))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    keys = (*group_by, "day") if day_zone else tuple(group_by)
    merged = {}
    for row in rows:
        if row["micros"] is None:  # an ungrouped sum over no rows
            continue
        key = tuple(row[name] for name in keys)
        total = merged.setdefault(key, {**{name: row[name] for name in keys}, "micros": 0, "ms": 0, "records": 0})
        total["micros"] += row["micros"]
        total["ms"] += row["ms"]
        total["records"] += row["count"]
    return list(merged.values())


def _grouped(queryset, instant, group_by, day_zone, *, count):
    columns = list(group_by)
    if day_zone:
        queryset = queryset.annotate(day=TruncDate(instant, tzinfo=ZoneInfo(day_zone)))
        columns.append("day")
    if not columns:  # one ungrouped row; the constant keeps both parts of a union the same shape
        queryset = queryset.annotate(everything=Value(1))
        columns = ["everything"]
    return queryset.values(*columns).annotate(micros=Sum("cost_micros"), ms=Sum("duration_ms"), count=count).order_by()


def total_micros(*, start, end, **filters):
    """The cost of the matching ledger records that started in [start, end), in micro-units."""
    return sum(row["micros"] for row in ledger_sums(start=start, end=end, **filters))

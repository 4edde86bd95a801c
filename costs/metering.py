"""Metering: turn workspace lifecycle events into the append-only usage ledger.

A pass (``metering_run``) is idempotent: spans are keyed by the event that opened them, slices by
(span, start), and each pass continues from where the span's last slice ended, under one lock.
Running it twice adds nothing; running it later only adds the time that passed.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone

from buckets.models import BucketSample
from costs import rollups
from costs.models import MeterLock, MeterRun, PriceSheet, UsageRecord, UsageRollup
from costs.periods import local_midnights
from costs.pricing import Resources, compute_rate_micros, cost_micros, storage_rate_micros
from portal.accounts.models import Team
from workspaces.models import Workspace, WorkspaceEvent

logger = logging.getLogger(__name__)

# Which lifecycle events open and close a span. A compute span ends whenever the server is known
# not to run any more (stopped, failed) or a new one is being made (a restart's spawn).
Kind = WorkspaceEvent.Kind
COMPUTE_OPEN = {Kind.RUNNING}
COMPUTE_CLOSE = {Kind.STOPPED, Kind.FAILED, Kind.SPAWN_REQUESTED, Kind.STARTING, Kind.RUNNING}
STORAGE_OPEN = {Kind.CREATED}
STORAGE_CLOSE = {Kind.DELETE_REQUESTED}
# Look back this far before the last pass for events not yet turned into spans (a commit can land
# after a later event's id was read).
LOOKBACK = timedelta(days=1)


def _sheets():
    return list(PriceSheet.objects.order_by("effective_from"))


def _sheet_at(sheets, instant):
    current = None
    for sheet in sheets:
        if sheet.effective_from <= instant:
            current = sheet
        else:
            break
    return current


def _open_spans(since, now):
    events = WorkspaceEvent.objects.filter(kind__in=COMPUTE_OPEN | STORAGE_OPEN, created__lte=now).exclude(
        Exists(MeterRun.objects.filter(pk=OuterRef("pk"))))
    if since is not None:
        events = events.filter(created__gte=since - LOOKBACK)
    events = list(events.select_related("workspace__owner", "workspace__team", "workspace__profile", "workspace__project")
                  .order_by("created", "id"))
    spans = []
    for event in events:
        workspace = event.workspace
        profile = workspace.profile
        spans.append(MeterRun(
            id=event.pk, kind=MeterRun.Kind.STORAGE if event.kind in STORAGE_OPEN else MeterRun.Kind.COMPUTE,
            workspace_id=workspace.pk, workspace_name=workspace.name,
            user_id=workspace.owner_id, username=workspace.owner.get_username(),
            team_id=workspace.team_id, team_slug=workspace.team.slug,
            project_id=workspace.project_id, project_slug=workspace.project.slug if workspace.project_id else "",
            profile_id=profile.pk, profile_name=profile.name, image=workspace.image,
            cpu=profile.cpu, memory_bytes=profile.memory_bytes, gpus=profile.gpus, gpu_type=profile.gpu_type,
            disk_bytes=profile.disk_bytes, start=event.created, metered_until=event.created))
    MeterRun.objects.bulk_create(spans)
    return len(spans) + _open_bucket_spans(since, now)


# Bucket spans (buckets.BucketSample): labels for the report groups a bucket has no value of its own in.
BUCKET_LABEL = "(bucket storage)"


def _open_bucket_spans(since, now):
    """A span per bucket sample: its size, priced from the sample until the next sample of the bucket."""
    samples = BucketSample.objects.filter(sampled_at__lte=now).exclude(
        Exists(MeterRun.objects.filter(pk=-OuterRef("pk"))))
    if since is not None:
        samples = samples.filter(sampled_at__gte=since - LOOKBACK)
    spans = [MeterRun(
        id=-sample.pk, kind=MeterRun.Kind.BUCKET, workspace_id=None, workspace_name=BUCKET_LABEL,
        bucket_id=sample.bucket_id, bucket_name=sample.bucket_name,
        user_id=sample.user_id, username=sample.username or "(team bucket)", team_id=sample.team_id,
        team_slug=sample.team_slug, profile_id=None, profile_name=BUCKET_LABEL, image=BUCKET_LABEL, cpu=0, memory_bytes=0,
        disk_bytes=sample.size_bytes, start=sample.sampled_at, metered_until=sample.sampled_at)
        for sample in samples.order_by("sampled_at", "id")]
    MeterRun.objects.bulk_create(spans)
    return len(spans)


def _close_bucket_spans(open_spans, now):
    """A bucket span ends where the bucket's next sample starts."""
    spans = [span for span in open_spans if span.kind == MeterRun.Kind.BUCKET]
    if not spans:
        return
    samples = (BucketSample.objects.filter(bucket_id__in={span.bucket_id for span in spans},
                                           sampled_at__gte=min(span.start for span in spans), sampled_at__lte=now)
               .order_by("sampled_at", "id").values_list("bucket_id", "id", "sampled_at"))
    by_bucket = {}
    for bucket_id, pk, sampled_at in samples:
        by_bucket.setdefault(bucket_id, []).append((sampled_at, pk))
    for span in spans:
        for sampled_at, pk in by_bucket.get(span.bucket_id, ()):
            if (sampled_at, pk) > (span.start, -span.pk):
                span.end = sampled_at
                break


def _close_spans(open_spans, now):
    """Find each open span's closing event, in one query."""
    _close_bucket_spans(open_spans, now)
    open_spans = [span for span in open_spans if span.kind != MeterRun.Kind.BUCKET]
    if not open_spans:
        return
    earliest = min(span.start for span in open_spans)
    events = (WorkspaceEvent.objects.filter(workspace_id__in={span.workspace_id for span in open_spans},
                                            kind__in=COMPUTE_CLOSE | STORAGE_CLOSE, created__gte=earliest, created__lte=now)
              .order_by("created", "id").values_list("workspace_id", "id", "created", "kind", "data__ended_at"))
    by_workspace = {}
    for workspace_id, pk, created, kind, ended_at in events:
        by_workspace.setdefault(workspace_id, []).append((created, pk, kind, ended_at))
    for span in open_spans:
        closing = STORAGE_CLOSE if span.kind == MeterRun.Kind.STORAGE else COMPUTE_CLOSE
        for created, pk, kind, ended_at in by_workspace.get(span.workspace_id, ()):
            if (created, pk) > (span.start, span.pk) and kind in closing:
                span.end = _end_of_run(span, created, ended_at if span.kind == MeterRun.Kind.COMPUTE else None)
                break


def _end_of_run(span, noticed, ended_at):
    """Where a run's bill ends: when the closing event was recorded, or earlier when the event says the
    server was last seen alive before that (it ended by itself, possibly while nobody watched)."""
    if not ended_at:
        return noticed
    try:
        last_alive = datetime.fromisoformat(ended_at)
    except (TypeError, ValueError):
        return noticed
    return min(noticed, max(last_alive, span.start))


def _split_points(start, end, *, time_zone, sheets):
    points = set()
    hour = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while hour < end:
        points.add(hour)
        hour += timedelta(hours=1)
    points.update(local_midnights(start, end, time_zone=time_zone))
    points.update(sheet.effective_from for sheet in sheets if start < sheet.effective_from < end)
    return sorted(points)


def _slices(span, until, *, time_zone, sheets, default_currency):
    resources = Resources(cpu=span.cpu, memory_bytes=span.memory_bytes, gpus=span.gpus, gpu_type=span.gpu_type,
                          disk_bytes=span.disk_bytes)
    edges = [span.metered_until, *_split_points(span.metered_until, until, time_zone=time_zone, sheets=sheets), until]
    records = []
    for start, end in zip(edges, edges[1:]):
        if end <= start:
            continue
        sheet = _sheet_at(sheets, start)
        if sheet is None:
            rate, currency = 0, default_currency
        else:
            rate_of = compute_rate_micros if span.kind == MeterRun.Kind.COMPUTE else storage_rate_micros
            rate, currency = rate_of(resources, sheet.prices), sheet.currency
        duration_us = (end - start) // timedelta(microseconds=1)
        records.append(UsageRecord(
            run=span, kind=span.kind, workspace_id=span.workspace_id, workspace_name=span.workspace_name,
            bucket_id=span.bucket_id, bucket_name=span.bucket_name,
            user_id=span.user_id, username=span.username, team_id=span.team_id, team_slug=span.team_slug,
            project_id=span.project_id, project_slug=span.project_slug, profile_id=span.profile_id, profile_name=span.profile_name, image=span.image,
            start=start, end=end, duration_ms=duration_us // 1000, price_sheet=sheet, rate_micros_per_hour=rate,
            cost_micros=cost_micros(rate, duration_us), currency=currency))
    return records


def metering_run(*, now=None):
    """One metering pass up to ``now`` (UTC). Idempotent; returns the number of ledger records added."""
    now = now or timezone.now()
    MeterLock.objects.get_or_create(pk=1)
    with transaction.atomic():
        lock = MeterLock.objects.select_for_update().get(pk=1)
        _open_spans(lock.last_pass, now)
        spans = list(MeterRun.objects.filter(end__isnull=True, start__lte=now))
        _close_spans(spans, now)
        # Closed spans whose last slice lags behind their end (closed in this pass or an earlier one).
        spans += list(MeterRun.objects.filter(end__isnull=False, metered_until__lt=F("end")))
        sheets = _sheets()
        zones = dict(Team.objects.filter(pk__in={span.team_id for span in spans}).values_list("pk", "time_zone"))
        records = []
        alive = _evidence_of_life(spans)
        for span in {span.pk: span for span in spans}.values():
            until = min(span.end or alive.get(span.workspace_id, now), now)
            if until <= span.metered_until:
                if span.end is not None:
                    MeterRun.objects.filter(pk=span.pk).update(end=span.end)
                continue
            records += _slices(span, until, time_zone=zones.get(span.team_id, "UTC"), sheets=sheets,
                               default_currency=settings.PLATFORM_CURRENCY)
            MeterRun.objects.filter(pk=span.pk).update(end=span.end, metered_until=until)
        UsageRecord.objects.bulk_create(records, batch_size=1000)
        rollups.add(records)  # in this transaction, under the lock: never counted twice, never lost
        lock.last_pass = max(now, lock.last_pass) if lock.last_pass else now
        lock.save(update_fields=["last_pass"])
    return len(records)


def _evidence_of_life(spans):
    """{workspace id: until when an open compute run is known to have run}. The janitor records when the
    hub last listed the server running; the hub itself may be one poll interval late to notice a death,
    so a run is billed up to that moment minus the interval. Should the server then turn out to have
    died, the spawner's last sighting is never earlier than that: nothing billed is ever taken back."""
    open_runs = {span.workspace_id for span in spans if span.end is None and span.kind == MeterRun.Kind.COMPUTE}
    if not open_runs:
        return {}
    lag = timedelta(seconds=settings.PLATFORM_SPAWNER_POLL_INTERVAL)
    seen = Workspace.objects.filter(pk__in=open_runs, last_seen_alive__isnull=False).values_list("pk", "last_seen_alive")
    return {pk: last_seen - lag for pk, last_seen in seen}


def cost_so_far_micros(*, workspace_ids):
    """Ledger totals per workspace id (micro-units), for 'cost so far'."""
    rows = (UsageRollup.objects.filter(workspace_id__in=workspace_ids).values("workspace_id")
            .annotate(total=Sum("cost_micros")).values_list("workspace_id", "total").order_by())
    return dict(rows)


def rollups_rebuild():
    """Recompute the roll-ups from the ledger while no pass can add to either."""
    MeterLock.objects.get_or_create(pk=1)
    with transaction.atomic():
        MeterLock.objects.select_for_update().get(pk=1)
        return rollups.rebuild()

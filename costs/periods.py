"""Budget periods: monthly, starting at midnight on a given day in the team's time zone. Pure."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = timezone.utc


def validate_time_zone(name):
    name = (name or "").strip()
    if not name or name not in _zones():
        raise ValueError(f"{name or '(empty)'!r} is not a known time zone; use an IANA name such as Europe/Berlin or UTC.")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValueError(f"{name!r} is not a known time zone.") from None
    return name


_ZONES = None


def _zones():
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


def _month_start(year, month, day, zone):
    return datetime(year, month, day, tzinfo=zone)


def _add_month(year, month, delta):
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def period_bounds(at, *, time_zone, start_day):
    """The budget period containing the instant ``at``: (start, end) as UTC datetimes, end exclusive."""
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    year, month = local.year, local.month
    start = _month_start(year, month, start_day, zone)
    if local < start:
        year, month = _add_month(year, month, -1)
        start = _month_start(year, month, start_day, zone)
    end = _month_start(*_add_month(year, month, 1), start_day, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_midnights(start, end, *, time_zone):
    """Every local midnight in (start, end), as UTC datetimes: the ledger splits records there so that
    days and periods in the team's zone hold whole records."""
    zone = ZoneInfo(time_zone)
    local = start.astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    found = []
    while True:
        day = datetime.combine((day + timedelta(days=1)).date(), datetime.min.time(), tzinfo=zone)
        instant = day.astimezone(UTC)
        if instant >= end:
            return found
        if instant > start:
            found.append(instant)

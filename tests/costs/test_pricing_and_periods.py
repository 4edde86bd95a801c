"""The cost model and budget periods: pure functions, table-driven."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from costs.currencies import format_money, validate_currency
from costs.periods import local_midnights, period_bounds
from costs.pricing import Prices, Resources, compute_rate_micros, cost_micros, micros_to_minor, storage_rate_micros

UTC = timezone.utc
PRICES = Prices(cpu_core_hour=10, memory_gib_hour=5, gpu_hour={"h100": 300, "": 100}, storage_gib_month=73)


@pytest.mark.parametrize(("resources", "micros_per_hour"), [
    (Resources(cpu=Decimal("1"), memory_bytes=2 * 2**30), 20_000_000),
    (Resources(cpu=Decimal("0.5"), memory_bytes=512 * 2**20), 7_500_000),
    (Resources(cpu=Decimal("4"), memory_bytes=16 * 2**30, gpus=1, gpu_type="h100"), 420_000_000),
    (Resources(cpu=Decimal("4"), memory_bytes=16 * 2**30, gpus=2, gpu_type="a10"), 320_000_000),
])
def test_compute_rate(resources, micros_per_hour):
    assert compute_rate_micros(resources, PRICES) == micros_per_hour


def test_storage_is_priced_per_gib_month_of_730_hours():
    assert storage_rate_micros(Resources(cpu=Decimal(1), memory_bytes=0, disk_bytes=10 * 2**30), PRICES) == 1_000_000


@pytest.mark.parametrize(("rate", "duration_us", "cost"), [
    (21_000_000, 3_600_000_000, 21_000_000),
    (21_000_000, 60_000_000, 350_000),       # one minute of 21 c/h = 0.35 c
    (1, 1_799_999_999, 0), (1, 1_800_000_000, 1),  # half up, at the micro-unit
])
def test_cost_of_a_duration(rate, duration_us, cost):
    assert cost_micros(rate, duration_us) == cost


def test_per_minute_slices_add_up_without_drift():
    minute = sum(cost_micros(21_000_000, 60_000_000) for _ in range(60))
    assert micros_to_minor(minute) == 21


@pytest.mark.parametrize(("at", "zone", "day", "start", "end"), [
    (datetime(2026, 11, 23, 12, tzinfo=UTC), "UTC", 1, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    # Berlin is UTC+1 in winter: the period starts at 23:00 UTC the day before.
    (datetime(2026, 11, 23, tzinfo=UTC), "Europe/Berlin", 1, datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC)),
    # 2026-10-31 23:30 UTC is already November 1st in Berlin.
    (datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "Europe/Berlin", 1, datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC)),
    # ... and 22:30 UTC is still October there (the period began in summer time, UTC+2).
    (datetime(2026, 10, 31, 22, 30, tzinfo=UTC), "Europe/Berlin", 1, datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC)),
    # Periods starting on the 15th, in New York (UTC-5 in winter), across a year boundary.
    (datetime(2027, 1, 10, tzinfo=UTC), "America/New_York", 15, datetime(2026, 12, 15, 5, tzinfo=UTC), datetime(2027, 1, 15, 5, tzinfo=UTC)),
    # A half-hour zone.
    (datetime(2026, 11, 30, 18, 29, tzinfo=UTC), "Asia/Kolkata", 1, datetime(2026, 10, 31, 18, 30, tzinfo=UTC), datetime(2026, 11, 30, 18, 30, tzinfo=UTC)),
])
def test_period_bounds(at, zone, day, start, end):
    assert period_bounds(at, time_zone=zone, start_day=day) == (start, end)


def test_local_midnights_in_a_half_hour_zone():
    found = local_midnights(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC), time_zone="Asia/Kolkata")
    assert found == [datetime(2026, 11, 1, 18, 30, tzinfo=UTC), datetime(2026, 11, 2, 18, 30, tzinfo=UTC)]


def test_currencies():
    assert validate_currency(" usd ") == "USD"
    with pytest.raises(ValueError):
        validate_currency("XYZ")
    assert format_money(123456, "EUR") == "1,234.56 EUR"
    assert format_money(500, "JPY") == "500 JPY"
    assert format_money(-5, "EUR") == "-0.05 EUR"

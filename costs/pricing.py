"""The cost model, as pure functions (no database): resources × price sheet → money.

Money is integers: prices are minor units (cents) per unit-hour; the ledger keeps
micro-units (millionths of a cent) so that per-minute records add up without rounding drift,
and totals are rounded to the minor unit once, when shown.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MICROS = 1_000_000
GIB = 2**30
HOURS_PER_MONTH = 730  # 365 × 24 / 12: storage is priced per GiB-month, metered per hour


@dataclass(frozen=True)
class Resources:
    cpu: Decimal
    memory_bytes: int
    gpus: int = 0
    gpu_type: str = ""
    disk_bytes: int = 0


@dataclass(frozen=True)
class Prices:
    cpu_core_hour: int
    memory_gib_hour: int
    gpu_hour: dict  # gpu type -> minor units per GPU-hour; "" is the price for any other type
    storage_gib_month: int

    def gpu_price(self, gpu_type):
        return self.gpu_hour.get(gpu_type, self.gpu_hour.get("", 0))


def compute_rate_micros(resources, prices):
    """Micro-units per hour while the server runs (CPU, memory, GPUs)."""
    rate = (Decimal(resources.cpu) * prices.cpu_core_hour
            + Decimal(resources.memory_bytes) / GIB * prices.memory_gib_hour
            + resources.gpus * prices.gpu_price(resources.gpu_type))
    return int((rate * MICROS).to_integral_value(ROUND_HALF_UP))


def storage_rate_micros(resources, prices):
    """Micro-units per hour for the workspace's disk, for as long as the workspace exists."""
    rate = Decimal(resources.disk_bytes) / GIB * prices.storage_gib_month / HOURS_PER_MONTH
    return int((rate * MICROS).to_integral_value(ROUND_HALF_UP))


def cost_micros(rate_micros_per_hour, duration_us):
    """The cost of running ``duration_us`` microseconds at a rate, rounded half up to a micro-unit."""
    return (rate_micros_per_hour * duration_us + 1_800_000_000) // 3_600_000_000


def micros_to_minor(micros):
    """Round half up to the minor unit (cents)."""
    return (int(micros) + MICROS // 2) // MICROS


def hours_affordable(remaining_minor, rate_micros_per_hour):
    """How many hours ``remaining_minor`` pays for at a rate, rounded down to a tenth (never promise
    more than there is); None when the rate is zero (nothing to run out of)."""
    if rate_micros_per_hour <= 0:
        return None
    if remaining_minor <= 0:
        return 0.0
    return (remaining_minor * MICROS * 10 // rate_micros_per_hour) / 10

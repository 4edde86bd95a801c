"""Parsing and formatting of sizes ("4G", "512Mi", "1.5GiB"). Pure; no Django."""

import re

_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "ki": 2**10, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mi": 2**20, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30,
    "t": 10**12, "tb": 10**12, "ti": 2**40, "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d{1,30}(?:\.\d{1,30})?)\s*([a-zA-Z]*)\s*$")
# Above any real memory or disk, below what a 64-bit database column holds.
MAX_SIZE = 2**60


def parse_size(text):
    """Bytes in a size such as ``"4G"``, ``"512Mi"``, ``"1.5GiB"`` or ``"1073741824"``.

    Follows Kubernetes: ``G`` is 10^9, ``Gi`` is 2^30. Raises ValueError with a
    message a person can act on.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("A size cannot be negative.")
        if text > MAX_SIZE:
            raise ValueError("That size is too large.")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size; write it like 4G, 512Mi or 2GiB.")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"Unknown unit {unit!r} in {text!r}; use K, M, G, T or Ki, Mi, Gi, Ti.")
    size = int(float(number) * factor)
    if size > MAX_SIZE:
        raise ValueError(f"{text!r} is too large.")
    return size


def format_size(size):
    """``2147483648`` → ``"2 GiB"``; exact binary multiples read best for memory and disk."""
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"

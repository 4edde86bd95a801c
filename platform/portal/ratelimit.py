"""One shared counter per platform for credential checks and other actions worth limiting.

The store is Django's default cache: the database cache in the embedded default, Redis when
``REDIS_URL`` is set. Every process (both gunicorn workers, the Celery worker) shares it, so the
documented rate holds for the platform, not per process.

A limit of N per period is a sliding log of N slots per (scope, key). Taking a slot is one
``cache.add`` of a free slot key that lives for the period. ``add`` is atomic on both stores (Redis
``SET NX``; an INSERT on the database cache's primary key), so processes racing for the last slot
cannot all win. Counting with ``incr`` would not be: on the database cache it is a read followed by
a write, and two workers would both write 10.

Two ways to use it:

* before a low-entropy secret is checked (a password): ``limit_take`` first, ``limit_give_back``
  when the check succeeds. Once the slots are gone even the right password is refused, so the
  answer is no yes/no oracle.
* after a high-entropy secret failed (a token, a client secret): ``secret_failure_record``. A
  valid secret is never refused, so nobody can lock others out by sending bad tokens.
"""

import hashlib
import ipaddress
import math
import re
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` is how many seconds until one is allowed again."""

    def __init__(self, retry_after):
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"Too many attempts: try again in {self.retry_after} seconds.")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def rate_parse(text):
    """``"10/minute"`` (DRF's notation: s, m, h, d or their names) → Rate. Raises ValueError."""
    match = _RATE.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate; write it like 10/minute, 100/hour or 5/s.")
    return Rate(int(match.group(1)), _UNIT_SECONDS[match.group(2)[0]])


def login_rate():
    return rate_parse(settings.PLATFORM_LOGIN_RATE)


def _slot_keys(scope, key, rate):
    # Hashed: keys hold e-mail addresses and usernames, and some cache back ends limit key length.
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    return [f"ratelimit:{scope}:{digest}:{index}" for index in range(rate.count)]


def limit_take(*, scope, key, rate=None):
    """Take one of the rate's slots for (scope, key); returns the slot (for ``limit_give_back``).

    Raises RateLimited (with the seconds until the oldest slot frees up) when all are taken."""
    rate = rate or login_rate()
    keys = _slot_keys(scope, key, rate)
    now = time.time()
    taken = cache.get_many(keys)
    for slot in keys:
        if slot not in taken and cache.add(slot, now, timeout=rate.seconds):
            return slot
    stamps = [value for value in taken.values() if isinstance(value, (int, float))]
    raise RateLimited(math.ceil(min(stamps, default=now) + rate.seconds - now))


def limits_take(*, scope, keys, rate=None):
    """One slot for each key, or none at all (RateLimited)."""
    slots = []
    try:
        for key in keys:
            slots.append(limit_take(scope=scope, key=key, rate=rate))
    except RateLimited:
        limit_give_back(slots)
        raise
    return slots


def limit_give_back(slots):
    """Free slots taken for an attempt that should not count (the password was right). Idempotent."""
    if slots:
        cache.delete_many(list(slots))


def identity_key(text):
    """How usernames and addresses are counted: ``Alice``, ``alice `` and ``ａｌｉｃｅ`` are one person."""
    return unicodedata.normalize("NFKC", str(text or "")).strip().casefold()


@lru_cache(maxsize=8)
def _networks(trusted):
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _parse_address(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(address):
    return address is not None and any(
        address in network for network in _networks(tuple(settings.PLATFORM_TRUSTED_PROXIES)))


def client_address(request):
    """The address a request came from (a string; "" when unknown).

    Behind a trusted proxy (PLATFORM_TRUSTED_PROXIES: the hub's proxy on loopback in the embedded
    mode) it is the right-most ``X-Forwarded-For`` entry that no trusted proxy wrote: entries
    further left were sent by the client and prove nothing."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(_parse_address(remote)):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for entry in reversed(forwarded):
        address = _parse_address(entry)
        if address is None:
            return remote  # proxies write addresses; anything else was made up by the client
        if not _is_trusted(address):
            return str(address)
    return remote


def secret_failure_record(*, request):
    """Count a failed check of a token or client secret from this client; raises RateLimited past the rate."""
    limit_take(scope="secret", key=client_address(request))

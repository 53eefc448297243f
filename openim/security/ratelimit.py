"""Token buckets and failure backoff keyed by user id or client address.

Both are plain dicts of small lists read with ``time.monotonic``: a check costs about a microsecond, takes
no lock and does no I/O, so it can sit on the send path. Both dicts are bounded: past ``max_keys`` the
entries that carry no information any more (a full bucket, a forgotten failure) are dropped, and if that
is not enough the oldest half goes (an attacker cycling through keys only gets a fresh bucket, never
more memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

Clock = Callable[[], float]
DEFAULT_MAX_KEYS = 100_000


class TokenBuckets:
    """``rate`` tokens per second per key, at most ``burst`` saved up; one call spends one token.

    ``take(key)`` answers 0.0 when allowed, else the seconds until a token is back. A ``rate`` of 0
    disables the limit (every call is allowed).
    """

    __slots__ = ("_buckets", "_burst", "_clock", "_max_keys", "_rate")

    def __init__(
        self, rate: float, burst: float, *, max_keys: int = DEFAULT_MAX_KEYS, clock: Clock = time.monotonic
    ) -> None:
        self._rate = float(rate)
        self._burst = max(1.0, float(burst))
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[Hashable, list[float]] = {}  # key -> [tokens, time of last update]

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable) -> float:
        rate = self._rate
        if rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict(now)
            self._buckets[key] = [self._burst - 1.0, now]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * rate
        if tokens > self._burst:
            tokens = self._burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / rate

    def _evict(self, now: float) -> None:
        rate, burst = self._rate, self._burst
        full = [k for k, (tokens, last) in self._buckets.items() if tokens + (now - last) * rate >= burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            for key in list(self._buckets)[: len(self._buckets) // 2 + 1]:
                del self._buckets[key]


class FailureBackoff:
    """Failed attempts per key with exponential backoff: the ``free``-th failure blocks the key for
    ``base`` seconds, doubling with each further failure up to ``ceiling``. A key's record is forgotten
    ``forget_after`` seconds after its last failure; a success clears it.

    Callers check ``blocked(key)`` and record the outcome in the same synchronous step, so parallel
    attempts are counted one after the other and cannot all slip through before the first is recorded.
    """

    __slots__ = ("_base", "_ceiling", "_clock", "_forget_after", "_free", "_max_keys", "_records")

    def __init__(
        self,
        free: int,
        base: float,
        ceiling: float,
        *,
        forget_after: float = 3600.0,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._free = free
        self._base = base
        self._ceiling = max(base, ceiling)
        self._forget_after = forget_after
        self._max_keys = max_keys
        self._clock = clock
        self._records: dict[Hashable, list[float]] = {}  # key -> [failures, blocked until, last failure]

    @property
    def enabled(self) -> bool:
        return self._free > 0

    def blocked(self, key: Hashable) -> float:
        """Seconds until ``key`` may try again (0.0: it may now)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        now = self._clock()
        if now - record[2] >= self._forget_after:
            del self._records[key]
            return 0.0
        return max(0.0, record[1] - now)

    def failed(self, key: Hashable) -> float:
        """Record a failure; answers how long ``key`` is now blocked (0.0 while within ``free``)."""
        if self._free <= 0:
            return 0.0
        now = self._clock()
        record = self._records.get(key)
        if record is None or now - record[2] >= self._forget_after:
            if record is None and len(self._records) >= self._max_keys:
                self._evict(now)
            record = self._records[key] = [0.0, 0.0, now]
        record[0] += 1
        record[2] = now
        over = int(record[0]) - self._free  # the free-th failure blocks for base, each further one doubles
        if over < 0:
            return 0.0
        delay = min(self._ceiling, self._base * 2.0 ** min(over, 32))
        record[1] = now + delay
        return delay

    def succeeded(self, key: Hashable) -> None:
        self._records.pop(key, None)

    def _evict(self, now: float) -> None:
        stale = [k for k, r in self._records.items() if now - r[2] >= self._forget_after or r[1] <= now]
        for key in stale:
            del self._records[key]
        if len(self._records) >= self._max_keys:
            for key in list(self._records)[: len(self._records) // 2 + 1]:
                del self._records[key]

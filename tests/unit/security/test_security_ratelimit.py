"""Token buckets and failure backoff (openim.security.ratelimit) on a fake clock, their memory bound,
and the cost of a check (the send path calls one per message)."""

from __future__ import annotations

import statistics
import time

import pytest

from openim.security.ratelimit import FailureBackoff, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=5, clock=clock)
    assert [buckets.take("u") for _ in range(5)] == [0.0] * 5
    wait = buckets.take("u")
    assert wait == pytest.approx(0.5)  # one token comes back every 1/rate seconds
    clock.now += 0.5
    assert buckets.take("u") == 0.0
    assert buckets.take("u") > 0
    clock.now += 100  # a long pause refills to the burst, not beyond
    assert [buckets.take("u") for _ in range(6)].count(0.0) == 5


def test_buckets_are_per_key_and_rate_zero_disables() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, clock=clock)
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.take("b") == 0.0
    off = TokenBuckets(rate=0, burst=1, clock=clock)
    assert not off.enabled and all(off.take("a") == 0.0 for _ in range(1000))


def test_bucket_memory_is_bounded_under_a_key_flood() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=10, max_keys=1000, clock=clock)
    for i in range(50_000):
        buckets.take(f"k{i}")
    assert len(buckets) <= 1000
    # A key refused a moment ago stays refused while the flood is of other keys that refill later.
    for _ in range(10):
        buckets.take("hot")
    assert buckets.take("hot") > 0


def test_backoff_blocks_after_the_free_attempts_and_doubles() -> None:
    clock = Clock()
    backoff = FailureBackoff(free=3, base=1.0, ceiling=8.0, clock=clock)
    assert backoff.failed("ip") == 0.0 and backoff.failed("ip") == 0.0
    assert backoff.blocked("ip") == 0.0
    assert backoff.failed("ip") == 1.0  # the third failure blocks
    assert backoff.blocked("ip") == pytest.approx(1.0)
    assert backoff.blocked("other") == 0.0
    clock.now += 1.0
    assert backoff.blocked("ip") == 0.0
    assert backoff.failed("ip") == 2.0 and backoff.failed("ip") == 4.0
    assert backoff.failed("ip") == 8.0 and backoff.failed("ip") == 8.0  # the ceiling
    backoff.succeeded("ip")
    assert backoff.blocked("ip") == 0.0


def test_backoff_forgets_old_failures() -> None:
    clock = Clock()
    backoff = FailureBackoff(free=2, base=1.0, ceiling=60.0, forget_after=600.0, clock=clock)
    backoff.failed("ip")
    clock.now += 601
    assert backoff.failed("ip") == 0.0  # counted afresh


def test_a_check_costs_about_a_microsecond() -> None:
    buckets = TokenBuckets(rate=1e9, burst=1e9)
    keys = [f"user{i}" for i in range(200)]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(100):
            for key in keys:
                buckets.take(key)
        runs.append((time.perf_counter() - started) / 20_000)
    median = statistics.median(runs)
    print(f"TokenBuckets.take: {median * 1e6:.2f} us median per call")
    # ~0.3-0.6 us on a 2020s core; the bound leaves room for a loaded CI machine.
    assert median < 5e-6

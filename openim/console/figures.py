"""The dashboard's figures, read from this process's own Prometheus metrics (no second bookkeeping).

The values are cumulative (counters since start, the latency histogram's cumulative buckets); the page
takes differences between two polls to draw rates and the p99 of each interval. :func:`quantile` is the
same estimate Prometheus' ``histogram_quantile`` makes, for the whole run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from openim.clock import now_ms
from openim.ops.metrics import Metrics


def _samples(metric: Any) -> Iterable[tuple[str, dict[str, str], float]]:
    for family in metric.collect():
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


def _total(metric: Any, *, skip_code: str | None = None) -> float:
    """Sum of a counter's ``_total`` samples over all labels (minus those whose ``code`` is ``skip_code``)."""
    return sum(
        value
        for name, labels, value in _samples(metric)
        if name.endswith("_total") and (skip_code is None or labels.get("code") != skip_code)
    )


def _by_label(metric: Any, label: str) -> dict[str, int]:
    """A counter's ``_total`` per value of ``label``."""
    found: dict[str, int] = {}
    for name, labels, value in _samples(metric):
        if name.endswith("_total") and label in labels:
            found[labels[label]] = found.get(labels[label], 0) + int(value)
    return found


def _gauge(metric: Any) -> float:
    return sum(value for _, _, value in _samples(metric))


def histogram_buckets(metric: Any) -> list[tuple[float, float]]:
    """``[(upper bound, cumulative count), ...]`` in ascending bound order, +Inf last."""
    found = [
        (float(labels["le"]), value) for name, labels, value in _samples(metric) if name.endswith("_bucket")
    ]
    return sorted(found)


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Estimate the ``q`` quantile from cumulative buckets by linear interpolation inside the bucket that
    holds it (None without observations). Observations beyond the last finite bound count as that bound."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def snapshot(metrics: Metrics) -> dict[str, Any]:
    """One poll of the dashboard: gauges now, counters and latency buckets since the process started."""
    buckets = histogram_buckets(metrics.send_latency)
    latency_sum = sum(v for n, _, v in _samples(metrics.send_latency) if n.endswith("_sum"))
    p99 = quantile(0.99, buckets)
    return {
        "time": now_ms(),
        "connections": int(_gauge(metrics.connections)),
        "onlineUsers": int(_gauge(metrics.online_users)),
        "logins": int(_total(metrics.logins)),
        "messagesSent": int(_total(metrics.messages_sent)),
        "pushes": int(_total(metrics.pushes)),
        "errors": {
            "gateway": int(_total(metrics.ws_errors)),
            "handshake": int(_total(metrics.handshake_errors)),
            "refused": int(_total(metrics.messages_refused)),
            "api": int(_total(metrics.http_requests, skip_code="0")),
            "pushDropped": int(_total(metrics.push_dropped)),
        },
        # After-callbacks (openim.webhooks.delivery): queued and dead letters of the durable queue (the whole
        # cluster's, read every few seconds), delivered and dropped by this process since it started.
        "webhooks": {
            "queued": int(_gauge(metrics.webhooks_queued)),
            "deadLetters": int(_gauge(metrics.webhooks_dead)),
            "delivered": int(_total(metrics.webhooks_delivered)),
            "failedAttempts": int(_total(metrics.webhooks_failed_attempts)),
            "dropped": int(_total(metrics.webhooks_dropped)),
        },
        # Refusals by abuse limit (openim.security): connections, rates, the admin-secret throttle.
        "limits": _by_label(metrics.limit_refusals, "limit"),
        "sendLatency": {
            # JSON has no Infinity: the last bucket's bound is sent as null.
            "buckets": [[None if math.isinf(b) else b, int(c)] for b, c in buckets],
            "count": int(buckets[-1][1]) if buckets else 0,
            "sumSeconds": latency_sum,
            "p99Seconds": p99,
        },
    }

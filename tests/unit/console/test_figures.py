"""The dashboard's figures: read from the process's own Prometheus metrics; p99 from histogram buckets."""

from __future__ import annotations

import math

import pytest

from openim.console.figures import histogram_buckets, quantile, snapshot
from openim.ops.metrics import Metrics


def test_quantile_interpolates_inside_the_bucket_that_holds_it() -> None:
    buckets = [(0.001, 50.0), (0.01, 90.0), (0.1, 100.0), (math.inf, 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.001)
    assert quantile(0.99, buckets) == pytest.approx(0.01 + 0.09 * 0.9)
    assert quantile(0.25, buckets) == pytest.approx(0.0005)


def test_quantile_without_observations_or_beyond_the_last_bound() -> None:
    assert quantile(0.99, []) is None
    assert quantile(0.99, [(0.1, 0.0), (math.inf, 0.0)]) is None
    assert quantile(0.99, [(0.1, 1.0), (math.inf, 10.0)]) == 0.1  # +Inf counts as the last finite bound


def test_snapshot_reads_counters_gauges_and_latency() -> None:
    metrics = Metrics("node-a", ("api", "gateway"))
    metrics.connections.set(3)
    metrics.online_users.set(2)
    metrics.messages_sent.inc(5)
    metrics.http_requests.labels(route="/x", code="0").inc(7)
    metrics.http_requests.labels(route="/x", code="1001").inc(2)
    metrics.ws_errors.labels(code="1002").inc()
    for seconds in (0.0004, 0.0004, 0.003):
        metrics.send_latency.observe(seconds)
    figures = snapshot(metrics)
    assert (figures["connections"], figures["onlineUsers"], figures["messagesSent"]) == (3, 2, 5)
    assert figures["errors"]["api"] == 2 and figures["errors"]["gateway"] == 1
    latency = figures["sendLatency"]
    assert latency["count"] == 3 and latency["buckets"][-1] == [None, 3]
    assert 0.002 < latency["p99Seconds"] <= 0.005
    assert histogram_buckets(metrics.send_latency)[0] == (0.0005, 2.0)

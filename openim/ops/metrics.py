"""Prometheus metrics of one process, in one registry served at /metrics.

Counters are incremented per batch where the hot path allows it (``inc(n)``), never with a lock per message.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from openim.version import build_info


class Metrics:
    def __init__(self, node_id: str, modules: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # process_cpu_seconds_total / process_resident_memory_bytes: what `openim bench` reports per server.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        info = build_info()
        Info("openim_build", "Version of this process", registry=r).info(
            {"version": info.version, "commit": info.commit, "build_date": info.build_date,
             "node_id": node_id, "modules": ",".join(modules)}
        )
        self.connections = Gauge("openim_gateway_connections", "Open WebSocket connections", registry=r)
        self.online_users = Gauge("openim_gateway_online_users", "Users with at least one connection", registry=r)
        self.logins = Counter("openim_gateway_logins_total", "Successful WebSocket logins", registry=r)
        self.handshake_errors = Counter(
            "openim_gateway_handshake_errors_total", "Refused WebSocket handshakes", ["code"], registry=r
        )
        self.ws_requests = Counter(
            "openim_gateway_requests_total", "WebSocket requests by reqIdentifier", ["req"], registry=r
        )
        self.ws_errors = Counter(
            "openim_gateway_request_errors_total", "WebSocket requests answered with an error", ["code"], registry=r
        )
        self.messages_sent = Counter("openim_messages_sent_total", "Messages stored and acked", registry=r)
        self.messages_refused = Counter(
            "openim_messages_refused_total", "Sends refused (permission, validation)", ["code"], registry=r
        )
        self.pushes = Counter("openim_push_frames_total", "Frames pushed to connections", registry=r)
        self.push_dropped = Counter(
            "openim_push_dropped_total", "Pushes dropped for slow or gone connections", registry=r
        )
        self.batch_size = Histogram(
            "openim_transfer_batch_size", "Messages per storage transaction",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000), registry=r,
        )
        self.send_latency = Histogram(
            "openim_send_latency_seconds", "From send request received to ack",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=r,
        )
        self.limit_refusals = Counter(
            "openim_limit_refusals_total",
            "Requests and connections refused by an abuse limit (openim.security), by limit",
            ["limit"], registry=r,
        )
        self.http_requests = Counter(
            "openim_api_requests_total", "REST requests by route and errCode", ["route", "code"], registry=r
        )

        # After-callbacks (openim.webhooks.delivery). Queued and dead are read from the durable queue, so in
        # a cluster every process reports the figures of the whole cluster's queue.
        self.webhooks_queued = Gauge(
            "openim_webhooks_queued", "After-callbacks queued (waiting, being sent, or waiting to retry)", registry=r
        )
        self.webhooks_dead = Gauge(
            "openim_webhooks_dead_letters", "After-callbacks whose attempts ran out, kept as dead letters", registry=r
        )
        self.webhooks_delivered = Counter(
            "openim_webhooks_delivered_total", "After-callbacks this process delivered", registry=r
        )
        self.webhooks_failed_attempts = Counter(
            "openim_webhooks_failed_attempts_total", "After-callback attempts that failed (retried or dead)",
            registry=r,
        )
        self.webhooks_dropped = Counter(
            "openim_webhooks_dropped_total", "After-callbacks refused because the queue was full", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

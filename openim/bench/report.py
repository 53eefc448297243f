"""The end-of-run report of ``openim bench``: one dataclass, printed as a table or as JSON.

The JSON form is for scripts (scripts/bench_standard.sh takes medians of it), so its keys are stable
and flat where they can be; the table is for a person and shows the same numbers, with the failed
checks and the warnings (a saturated load generator first of all) under it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from openim.bench.stats import Counts, Percentiles

__all__ = ["Report", "machine_info"]


def machine_info() -> dict[str, Any]:
    """CPU model, cores this process may use, load average: what a figure needs next to it."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "cpu_model": model,
        "cpus_online": os.cpu_count() or 0,
        "cpus_allowed": sorted(os.sched_getaffinity(0)),
        "loadavg": [round(x, 2) for x in load],
    }


@dataclass(slots=True)
class Report:
    workload: str
    settings: dict[str, Any]
    counts: Counts
    latency: Percentiles
    ack_latency: Percentiles
    send_seconds: float  # the RUN phase as commanded
    measured_seconds: float  # RUN start to the last ack or delivery
    msgs_per_s: float  # acked messages delivered to every recipient, per measured second
    deliveries_per_s: float
    sent_per_s: float
    logins: int
    login_failures: int
    logins_per_s: float
    tokens_per_s: float
    server_source: str
    server_rss_before_login: int | None
    server_rss_after_login: int | None
    server_rss_end: int | None
    rss_per_connection: float | None
    server_cpu_s: float | None
    server_cpu_util: float | None
    # The headline figures to compare across runs: server CPU per acked message, per delivery, per login.
    server_cpu_us_per_message: float | None
    server_cpu_us_per_delivery: float | None
    server_cpu_us_per_login: float | None
    loadgen_cpu_s: float
    loadgen_cpu_us_per_message: float | None  # the load processes' CPU (RUN to DONE) per acked message
    loadgen_cpu_us_per_delivery: float | None
    loadgen_util_max: float
    loadgen_procs: int
    echoes: int
    other_pushes: int
    window_full: int
    disconnected: int
    verified: int  # received and sent messages also decoded in full (cross-check of the byte scan)
    machine_start: dict[str, Any]
    machine_end: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.counts.ok and not self.errors and self.login_failures == 0

    def problems(self) -> list[str]:
        out = self.counts.problems()
        if self.login_failures:
            out.append(f"{self.login_failures} logins failed")
        return out + self.errors

    def to_json(self) -> str:
        data = asdict(self)
        data["ok"] = self.ok
        data["problems"] = self.problems()
        return json.dumps(data, indent=2, sort_keys=False)

    def to_table(self) -> str:
        c, lat, ack = self.counts, self.latency, self.ack_latency
        rows: list[tuple[str, str]] = [
            ("workload", f"{self.workload}  ({_settings_line(self.settings)})"),
            ("messages sent", f"{c.sent:,}"),
            ("acked", f"{c.acked:,}"
             + (f"  (refused {c.refused:,}, unanswered {c.unacked:,})" if c.refused or c.unacked else "")),
            ("delivered", f"{c.delivered:,} messages, {c.deliveries:,} of {c.expected_deliveries:,} deliveries"),
            ("lost", f"{c.lost:,}" + (f"  ({c.lost_deliveries:,} deliveries)" if c.lost else "")),
            ("duplicates", f"{c.duplicates:,}"),
            ("throughput", f"{self.msgs_per_s:,.0f} msgs/s, {self.deliveries_per_s:,.0f} deliveries/s "
             f"over {self.measured_seconds:.2f} s (sent {self.sent_per_s:,.0f}/s)"),
            ("server CPU per unit", _cost(self)),
            ("latency send->delivery", _lat(lat)),
            ("latency send->ack", _lat(ack)),
            ("logins", f"{self.logins:,} at {self.logins_per_s:,.0f}/s"
             + (f"  ({self.login_failures} failed)" if self.login_failures else "")
             + f"; tokens issued at {self.tokens_per_s:,.0f}/s"),
            ("server RSS", f"{_mib(self.server_rss_before_login)} before login, {_mib(self.server_rss_after_login)} "
             f"after, {_mib(self.server_rss_end)} at end ({self.server_source})"),
            ("RSS per connection",
             "-" if self.rss_per_connection is None else f"{self.rss_per_connection / 1024:.1f} KiB"),
            ("server CPU", "-" if self.server_cpu_s is None
             else f"{self.server_cpu_s:.2f} s ({(self.server_cpu_util or 0) * 100:.0f}% of a core)"),
            ("load generator CPU", f"{self.loadgen_cpu_s:.2f} s in {self.loadgen_procs} process(es), "
             f"busiest at {self.loadgen_util_max * 100:.0f}% of a core"
             + ("" if self.loadgen_cpu_us_per_message is None
                else f", {self.loadgen_cpu_us_per_message:,.1f} µs per message")
             + ("" if self.loadgen_cpu_us_per_delivery is None or self.workload != "group"
                else f", {self.loadgen_cpu_us_per_delivery:,.1f} µs per delivery")
             + f"; {self.verified:,} messages cross-checked"),
            ("machine", f"{self.machine_start.get('cpu_model', '?')}, load average "
             f"{_load(self.machine_start)} -> {_load(self.machine_end)}"),
        ]
        if self.workload == "connect":  # no messages: keep the rows that mean something for idle clients
            rows = [r for r in rows if r[0] in _CONNECT_ROWS]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
        lines += [f"warning: {w}" for w in self.warnings]
        problems = self.problems()
        lines += [f"FAILED: {p}" for p in problems]
        lines.append("result: " + ("ok" if not problems else "FAILED"))
        return "\n".join(lines)


_CONNECT_ROWS = frozenset(
    {"workload", "logins", "server CPU per unit", "server RSS", "RSS per connection", "server CPU",
     "load generator CPU", "machine"}
)


def _settings_line(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def _cost(r: Report) -> str:
    parts = [
        f"{value:,.1f} µs per {unit}"
        for value, unit in (
            (r.server_cpu_us_per_message, "message"),
            (r.server_cpu_us_per_delivery, "delivery"),
            (r.server_cpu_us_per_login, "login"),
        )
        if value is not None and (unit == "login" or r.workload != "connect")
    ]
    return ", ".join(parts) or "-"


def _lat(p: Percentiles) -> str:
    if p.n == 0:
        return "-"
    return f"p50 {p.p50:.2f} ms, p90 {p.p90:.2f} ms, p99 {p.p99:.2f} ms, max {p.max:.2f} ms ({p.n:,} samples)"


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1048576:.1f} MiB"


def _load(info: dict[str, Any]) -> str:
    load = info.get("loadavg") or []
    return "/".join(f"{x:.2f}" for x in load) if load else "?"

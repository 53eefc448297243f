"""Reads the server's resident memory and CPU time, from /proc (``--server-pid``) or from /metrics.

The bench reports server-side cost next to its own throughput: CPU seconds spent during the measured
window (so msgs per server CPU second can be compared across machines) and RSS before and after the
clients log in (so RSS per idle connection can be derived). /proc is exact and costs the server
nothing; /metrics works for a server on another user's pid namespace and is what a cluster exposes
(``process_resident_memory_bytes`` and ``process_cpu_seconds_total`` from prometheus_client's process
collector). With several server processes behind one port only /proc of each pid would be complete,
so the figures are "of the process that answers /metrics" and the report says which source it used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

__all__ = ["ServerProbe", "ServerSample"]


@dataclass(frozen=True, slots=True)
class ServerSample:
    rss_bytes: int
    cpu_seconds: float


class ServerProbe:
    """One way to sample the server; :meth:`sample` returns None when the source does not answer."""

    def __init__(self, api_url: str, pid: int | None = None) -> None:
        self._metrics_url = api_url.rstrip("/") + "/metrics"
        self._pid = pid
        self._ticks = os.sysconf("SC_CLK_TCK")
        self.source = f"/proc/{pid}" if pid else "/metrics"

    def sample(self) -> ServerSample | None:
        return self._from_proc() if self._pid else self._from_metrics()

    def _from_proc(self) -> ServerSample | None:
        try:
            with open(f"/proc/{self._pid}/stat", encoding="ascii") as f:
                stat = f.read()
            with open(f"/proc/{self._pid}/status", encoding="ascii") as f:
                status = f.read()
        except OSError:
            return None
        # Fields after the command name, which is in parentheses and may contain spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / self._ticks  # utime, stime
        rss = 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
                break
        return ServerSample(rss, cpu)

    def _from_metrics(self) -> ServerSample | None:
        try:
            text = httpx.get(self._metrics_url, timeout=10).text
        except httpx.HTTPError:
            return None
        rss: float | None = None
        cpu: float | None = None
        for line in text.splitlines():
            if line.startswith("process_resident_memory_bytes "):
                rss = float(line.split()[1])
            elif line.startswith("process_cpu_seconds_total "):
                cpu = float(line.split()[1])
        if rss is None or cpu is None:
            return None
        return ServerSample(int(rss), cpu)

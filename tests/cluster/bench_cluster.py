"""Run ``openim bench direct`` against a local cluster and print the figures for docs/performance.md.

Not a test (pytest does not collect it): ``python tests/cluster/bench_cluster.py [--duration 10]``.

Layout, the same processes as the failover tests: A = gateway+api, B = gateway+api, C =
msg+transfer+push, on the shared PostgreSQL (a fresh database, dropped afterwards) and the shared Redis
(a random key prefix, deleted afterwards), log level warning. Runs, one after the other:

1. ``one-gateway``: one bench against A (200 users, window 4): every message crosses A -> Redis -> C
   (transfer, PostgreSQL commit) -> Redis -> C (push) -> Redis -> A;
2. ``two-gateways``: two benches at once, one against A and one against B (200 users each);
3. ``paced``: one bench against A at 50 msgs/s: the latency the cluster hops add at low load.

The server CPU of every cluster process is read from /proc before and after each run, so the report
gives CPU per message for the whole cluster, not one process. Each bench runs with ``--procs 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from openim_cluster_harness import (  # noqa: E402
    SHARED_POSTGRES_ADMIN_DSN,
    SHARED_REDIS_URL,
    Cluster,
    drop_redis_prefix,
    fresh_database,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def bench(cluster: Cluster, node: str, args: list[str]) -> subprocess.Popen[str]:
    n = cluster.nodes[node]
    return subprocess.Popen(
        [sys.executable, "-m", "openim", "bench", "direct", "--api", n.api_url, "--ws", n.ws_url,
         "--secret", cluster.secret, "--json", "--no-progress", "--procs", "1", *args],
        env=cluster.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run(
    cluster: Cluster, name: str, plan: list[tuple[str, list[str]]], setup: dict[str, Any] | None = None
) -> dict[str, Any]:
    pids = {k: v.proc.pid for k, v in cluster.nodes.items() if v.proc is not None}
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    procs = [bench(cluster, node, args) for node, args in plan]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        if not out.strip():
            raise RuntimeError(f"bench failed ({p.returncode}): {err}")
        reports.append(json.loads(out))
    wall = time.monotonic() - started
    cpu = {k: round(cpu_seconds(p) - before[k], 2) for k, p in pids.items()}
    acked = sum(r["counts"]["acked"] for r in reports)
    setup_cpu = sum(setup["server_cpu_s"].values()) * len(plan) if setup else 0.0
    # Per process: a gateway pays A's set-up CPU (the set-up run targeted A) for every bench aimed at it,
    # C its own set-up CPU per bench; B's share when idle is a few ms and is left in.
    setup_of = {k: 0.0 for k in cpu}
    if setup:
        for target, _ in plan:
            setup_of[target] += setup["server_cpu_s"]["a"]
            setup_of["c"] += setup["server_cpu_s"]["c"]
    return {
        "run": name,
        "msgs_per_s": round(sum(r["msgs_per_s"] for r in reports), 1),
        "latency_ms": [{k: r["latency"].get(k) for k in ("p50", "p90", "p99", "max")} for r in reports],
        "lost": sum(r["counts"].get("lost", 0) for r in reports),
        "duplicates": sum(r["counts"].get("duplicates", 0) for r in reports),
        "ok": all(r["ok"] for r in reports),
        "problems": [p for r in reports for p in r.get("problems", [])],
        "acked": acked,
        "server_cpu_s": cpu,
        "server_cpu_us_per_msg": round(max(sum(cpu.values()) - setup_cpu, 0.0) / max(acked, 1) * 1e6),
        "server_cpu_us_per_msg_by_process": {
            k: round(max(v - setup_of[k], 0.0) / max(acked, 1) * 1e6) for k, v in cpu.items()
        },
        "wall_s": round(wall, 1),
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=200)
    opts = parser.parse_args()
    common = ["--users", str(opts.users), "--window", "4", "--duration", str(opts.duration)]
    base = Path(tempfile.mkdtemp(prefix="openim-cluster-bench-"))
    results = []
    with fresh_database(SHARED_POSTGRES_ADMIN_DSN) as dsn:
        cluster = Cluster(base, dsn=dsn, redis_url=SHARED_REDIS_URL, extra_config="log: {level: warning}\n")
        try:
            cluster.add("a", "gateway,api")
            cluster.add("b", "gateway,api")
            cluster.add("c", "msg,transfer,push")
            cluster.start("a", "b", "c")
            time.sleep(3)
            # Provisioning and logins cost server CPU too; measured once and taken off the runs below.
            setup = run(cluster, "setup-only", [("a", ["--users", str(opts.users), "--rate", "1", "--duration", "1"])])
            results.append(setup)
            results.append(run(cluster, "one-gateway", [("a", common)], setup))
            results.append(run(cluster, "two-gateways", [("a", common), ("b", common)], setup))
            paced = ["--users", str(opts.users), "--window", "64", "--rate", "50", "--duration", str(opts.duration)]
            results.append(run(cluster, "paced-50", [("a", paced)], setup))
        finally:
            cluster.close()
            drop_redis_prefix(SHARED_REDIS_URL, cluster.key_prefix)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

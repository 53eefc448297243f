#!/usr/bin/env python3
"""CPU of each thread of a running server over a window, per message it stored (docs/performance.md, section 8).

The server's CPU per message from /proc/<pid>/stat is one number; this splits it by thread, which is
how the event loop (thread ``python`` or ``openim``) and the SQLite writer thread (a trio worker thread,
named after the function it runs) were told apart. Messages are counted from the server's own
``openim_messages_sent_total`` (GET /metrics) at both ends of the window.

    python scripts/thread_cpu.py --pid PID --api http://127.0.0.1:10002 [--seconds 5]

Run it while a load runs (``openim bench``), not before. For the one-file executable give the pid of the
child process that serves (``pgrep -P <pid of openim>``). A thread that started or ended inside the window
counts from its start or not at all: worker threads are reused, so this is rare under load.
"""

from __future__ import annotations

import argparse
import os
import time
import urllib.request
from pathlib import Path

METRIC = "openim_messages_sent_total"


def threads(pid: int) -> dict[int, tuple[str, int, int]]:
    """tid -> (name, user ticks, system ticks)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(task.name)] = (name, int(fields[11]), int(fields[12]))
    return out


def messages(api: str) -> float:
    with urllib.request.urlopen(f"{api}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(METRIC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--api", required=True, help="the server's REST base URL, for /metrics")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    before, m0 = threads(args.pid), messages(args.api)
    time.sleep(args.seconds)
    after, m1 = threads(args.pid), messages(args.api)
    n = m1 - m0
    if n <= 0:
        raise SystemExit("no message was stored in the window: is a load running?")
    total = 0.0
    print(f"{n:.0f} messages in {args.seconds:g} s; µs of CPU per message:")
    for tid, (name, user, system) in sorted(after.items()):
        _, user0, system0 = before.get(tid, (name, 0, 0))
        u, s = (user - user0) * tick_us / n, (system - system0) * tick_us / n
        if u + s > 0:
            print(f"  {name:20s} user {u:6.1f}  system {s:6.1f}")
        total += u + s
    print(f"  {'all threads':20s} {total:6.1f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Measure the CPU that Store.persist_messages costs per message, on both backends (issue 14).

A tool, not a test: it builds realistic NewMessage batches and calls the real store, then reports

* ``app µs/msg``  CPU of this process (``time.process_time``: every thread, so SQLite's worker thread and
  the asyncpg bridge thread are included) per stored message, and per batch;
* ``pg µs/msg``   for PostgreSQL also the CPU of the server backends serving the store's connections
  (utime + stime from /proc/<pid>/stat of the backends in ``pg_stat_activity``; same machine only);
* ``msgs/s``      wall-clock throughput (fsync included: SQLite runs with WAL + synchronous=FULL).

Each figure is the median of ``--runs`` runs, each on a fresh store (a new SQLite file / a new database).
Workloads (``--case``):

* ``direct``  one-to-one messages among 200 users, random sender and peer; owners are both peers and the
              sender reads his own message, as openim.pipeline.msg builds them;
* ``group``   messages into 20 groups of 100 members (random sender among the members); owners are the
              sender only, except each group's first message, which names every member (the send path
              ensures member rows once per minute).

Payloads are real encoded MsgData (sdkws) of a short text message, about 300 bytes. Before timing,
``--warmup`` messages are stored so most conversation rows already exist, as on a running server.

    python scripts/measure_persist.py [--backend sqlite|postgres|both] [--case direct|group|both]
        [--batch 50,200,500] [--messages 10000] [--runs 3] [--dsn postgresql://postgres@127.0.0.1/postgres]

PostgreSQL: a scratch database ``openim_measure_<random>`` is created and dropped per run. Profile with
py-spy, e.g. ``py-spy record -r 400 -f raw -o persist.txt -- python scripts/measure_persist.py
--backend sqlite --runs 1`` (SQLite's time is in its worker thread: count every thread's samples).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openim.storage.messages.records import NewMessage  # noqa: E402
from openim.storage.port import Store  # noqa: E402
from openim.storage.sql.postgres import PostgresStore  # noqa: E402
from openim.storage.sql.sqlite import SqliteStore  # noqa: E402
from openim.wire.pb import sdkws_pb2  # noqa: E402

USERS = [f"{3_000_000_000 + i}" for i in range(200)]
GROUPS = 20
GROUP_SIZE = 100
NOW = 1_760_000_000_000


def _md5(*parts: object) -> str:
    return hashlib.md5("-".join(map(str, parts)).encode()).hexdigest()


def _payload(sender: str, recv: str, group: str, client_id: str, server_id: str, session: int, t: int) -> bytes:
    msg = sdkws_pb2.MsgData(
        sendID=sender,
        recvID=recv,
        groupID=group,
        clientMsgID=client_id,
        serverMsgID=server_id,
        senderPlatformID=5,
        senderNickname=f"user {sender}",
        senderFaceURL="",
        sessionType=session,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"hello there, this is a short text message"}',
        createTime=t,
        sendTime=t,
    )
    msg.options["history"] = True
    msg.options["persistent"] = True
    encoded: bytes = msg.SerializeToString()
    return encoded


class Workload:
    def __init__(self, case: str, seed: int) -> None:
        self.case = case
        self.rng = random.Random(seed)
        self.n = 0
        members = list(USERS)
        self.groups = {f"g{g:03d}": tuple(self.rng.sample(members, GROUP_SIZE)) for g in range(GROUPS)}
        self.ensured: set[str] = set()

    def message(self, t: int) -> NewMessage:
        self.n += 1
        client_id = _md5("c", self.n, self.rng.random())
        server_id = _md5("s", self.n, self.rng.random())
        if self.case == "direct":
            sender, peer = self.rng.sample(USERS, 2)
            a, b = sorted((sender, peer))
            return NewMessage(
                conversation_id=f"si_{a}_{b}", send_id=sender, client_msg_id=client_id, server_msg_id=server_id,
                send_time=t, session_type=1, content_type=101,
                payload=_payload(sender, peer, "", client_id, server_id, 1, t), recv_id=peer,
                owners=(sender, peer), conversation_type=1, reader_user_id=sender,
            )  # fmt: skip
        group = self.rng.choice(list(self.groups))
        members = self.groups[group]
        sender = self.rng.choice(members)
        owners = (sender,) if group in self.ensured else members
        self.ensured.add(group)
        return NewMessage(
            conversation_id=f"sg_{group}", send_id=sender, client_msg_id=client_id, server_msg_id=server_id,
            send_time=t, session_type=3, content_type=101,
            payload=_payload(sender, "", group, client_id, server_id, 3, t), group_id=group,
            owners=owners, conversation_type=3, reader_user_id=sender,
        )  # fmt: skip

    def batches(self, count: int, size: int) -> list[list[NewMessage]]:
        return [[self.message(NOW + i) for _ in range(size)] for i in range(count)]


def _backend_cpu(pids: Sequence[int]) -> float:
    """Seconds of CPU the given processes used so far (utime + stime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


async def _pg_backends(dsn: str, database: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def _one_run(
    backend: str, case: str, size: int, messages: int, warmup: int, admin_dsn: str, seed: int
) -> dict[str, float]:
    work = Workload(case, seed)
    warm = work.batches(max(1, warmup // size), size)
    timed = work.batches(max(1, messages // size), size)
    stored = sum(len(b) for b in timed)
    database = f"openim_measure_{uuid.uuid4().hex[:10]}"
    store: Store
    tmp = tempfile.TemporaryDirectory(prefix="openim-measure-")
    if backend == "sqlite":
        store = SqliteStore(Path(tmp.name) / "openim.db")
    else:
        await trio.to_thread.run_sync(lambda: asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{database}"')))
        store = PostgresStore(_with_database(admin_dsn, database), pool_size=4)
    try:
        await store.open()
        for batch in warm:
            await store.persist_messages(batch, NOW)
        pids: list[int] = []
        if backend == "postgres":
            pids = await trio.to_thread.run_sync(lambda: asyncio.run(_pg_backends(admin_dsn, database)))
        pg0 = _backend_cpu(pids)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i, batch in enumerate(timed):
            results = await store.persist_messages(batch, NOW + i)
            assert not any(r.duplicate for r in results)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pg = _backend_cpu(pids) - pg0
    finally:
        await store.aclose()
        tmp.cleanup()
        if backend == "postgres":
            await trio.to_thread.run_sync(
                lambda: asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            )
    return {
        "app_us_msg": cpu / stored * 1e6,
        "app_us_batch": cpu / len(timed) * 1e6,
        "pg_us_msg": pg / stored * 1e6,
        "msgs_s": stored / wall,
    }


async def main(args: argparse.Namespace) -> None:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print(f"# {platform.python_implementation()} {platform.python_version()}, CPU: {cpu}, {os.cpu_count()} cpus")
    print(f"# messages per run {args.messages} (after {args.warmup} warm-up), medians of {args.runs} runs")
    header = ("backend", "case", "batch", "app µs/msg", "app µs/batch", "pg µs/msg", "msgs/s")
    print("{:9} {:7} {:>5} {:>11} {:>13} {:>10} {:>8}".format(*header))
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    cases = ["direct", "group"] if args.case == "both" else [args.case]
    for backend in backends:
        for case in cases:
            for size in args.batch:
                runs = [
                    await _one_run(backend, case, size, args.messages, args.warmup, args.dsn, seed)
                    for seed in range(args.runs)
                ]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                pg = f"{med['pg_us_msg']:10.1f}" if backend == "postgres" else f"{'-':>10}"
                print(
                    f"{backend:9} {case:7} {size:5d} {med['app_us_msg']:11.1f} {med['app_us_batch']:13.0f} "
                    f"{pg} {med['msgs_s']:8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--case", choices=["direct", "group", "both"], default="both")
    parser.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200, 500])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--dsn",
        default=os.environ.get("OPENIM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin DSN (database postgres); scratch databases are created next to it",
    )
    trio.run(main, parser.parse_args())

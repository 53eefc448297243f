#!/usr/bin/env python3
"""Measure ways of driving PostgreSQL from trio, to choose the storage bridge (docs/architecture.md).

Variants (each skipped when its package is missing):

* ``asyncio``      asyncpg on a plain asyncio loop: the ceiling, no trio involved;
* ``bridge``       trio + asyncpg on an asyncio loop in one dedicated thread (openim.storage.sql.asyncio_thread:
                   call_soon_threadsafe there, TrioToken.run_sync_soon back), one hop per operation;
* ``trio-asyncio`` asyncpg through trio-asyncio's loop (aio_as_trio per operation);
* ``psycopg``      psycopg 3 (synchronous) in trio.to_thread, one connection per worker thread.

Workloads: single-row INSERT in autocommit, one after the other; 1,000-row batches (executemany, and one
INSERT .. SELECT FROM unnest() of column arrays); primary-key SELECT from 16 concurrent tasks.

    python scripts/measure_drivers.py [--dsn postgresql://postgres@127.0.0.1/postgres] [--quick]

It creates (and drops) a scratch database ``openim_measure_<random>``; needs trio and asyncpg, and
optionally trio-asyncio and psycopg[binary] (not project dependencies: install them to measure).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import trio

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
BATCH = 1000

INSERT_ONE = "INSERT INTO bench (k, v, n) VALUES ($1, $2, $3)"
INSERT_UNNEST = "INSERT INTO bench (k, v, n) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[])"
SELECT_PK = "SELECT v, n FROM bench WHERE k = $1"


def load_bridge() -> Any:
    """The project's bridge, loaded from its file so this script needs only trio (not the whole package)."""
    path = ROOT / "openim" / "storage" / "sql" / "asyncio_thread.py"
    spec = importlib.util.spec_from_file_location("openim_asyncio_thread", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AsyncioThread


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class Sizes:
    def __init__(self, quick: bool) -> None:
        self.single = 1000 if quick else 3000
        self.batches = 5 if quick else 20
        self.selects = 4000 if quick else 16000


def rows_for(prefix: str, count: int) -> list[tuple[str, bytes, int]]:
    return [(f"{prefix}-{i}", b"x" * 64, i) for i in range(count)]


def columns(rows: list[tuple[str, bytes, int]]) -> list[list[Any]]:
    return [list(c) for c in zip(*rows, strict=True)]


async def reset_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench")
        await conn.execute("CREATE TABLE bench (k text PRIMARY KEY, v bytea NOT NULL, n bigint NOT NULL)")
    finally:
        await conn.close()


# -- asyncpg workloads, written once for every asyncio-side variant -----------------------------------------


async def aio_single(pool: Any, prefix: str, count: int) -> None:
    async with pool.acquire() as conn:
        for i in range(count):
            await conn.execute(INSERT_ONE, f"{prefix}-{i}", b"x" * 64, i)


async def aio_many(pool: Any, rows: list[tuple[str, bytes, int]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(INSERT_ONE, rows)


async def aio_unnest(pool: Any, rows: list[tuple[str, bytes, int]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(INSERT_UNNEST, *columns(rows))


async def aio_select(pool: Any, key: str) -> None:
    async with pool.acquire() as conn:
        await conn.fetchrow(SELECT_PK, key)


Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


async def run_workloads(call: Call, pool: Any, tag: str, sizes: Sizes) -> dict[str, float]:
    """Each asyncio operation goes through ``call`` (the variant's hop); timing happens on the caller side."""
    results: dict[str, float] = {}
    # Single-row inserts: one hop per row, which is what a per-message design would pay.
    start = time.perf_counter()
    for i in range(sizes.single):
        key = f"{tag}-s-{i}"
        await call(lambda key=key, i=i: _one(pool, key, i))  # type: ignore[misc]
    results["single"] = sizes.single / (time.perf_counter() - start)

    start = time.perf_counter()
    for b in range(sizes.batches):
        rows = rows_for(f"{tag}-m{b}", BATCH)
        await call(lambda rows=rows: aio_many(pool, rows))  # type: ignore[misc]
    results["executemany"] = sizes.batches * BATCH / (time.perf_counter() - start)

    start = time.perf_counter()
    for b in range(sizes.batches):
        rows = rows_for(f"{tag}-u{b}", BATCH)
        await call(lambda rows=rows: aio_unnest(pool, rows))  # type: ignore[misc]
    results["unnest"] = sizes.batches * BATCH / (time.perf_counter() - start)
    return results


async def _one(pool: Any, key: str, i: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute(INSERT_ONE, key, b"x" * 64, i)


def keys_for_select(tag: str, sizes: Sizes) -> list[str]:
    return [f"{tag}-u{(i // BATCH) % sizes.batches}-{i % BATCH}" for i in range(sizes.selects)]


# -- variants -------------------------------------------------------------------------------------------------


def measure_asyncio(dsn: str, sizes: Sizes) -> dict[str, float]:
    async def main() -> dict[str, float]:
        pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)

        async def direct(work: Callable[[], Awaitable[Any]]) -> Any:
            return await work()

        results = await run_workloads(direct, pool, "aio", sizes)
        keys = keys_for_select("aio", sizes)
        start = time.perf_counter()

        async def worker(part: list[str]) -> None:
            for key in part:
                await aio_select(pool, key)

        await asyncio.gather(*(worker(keys[w::CONCURRENCY]) for w in range(CONCURRENCY)))
        results["select16"] = len(keys) / (time.perf_counter() - start)
        await pool.close()
        return results

    return asyncio.run(main())


async def _trio_selects(call: Call, pool: Any, keys: list[str]) -> float:
    start = time.perf_counter()

    async def worker(part: list[str]) -> None:
        for key in part:
            await call(lambda key=key: aio_select(pool, key))  # type: ignore[misc]

    async with trio.open_nursery() as nursery:
        for w in range(CONCURRENCY):
            nursery.start_soon(worker, keys[w::CONCURRENCY])
    return len(keys) / (time.perf_counter() - start)


def measure_bridge(dsn: str, sizes: Sizes) -> dict[str, float]:
    bridge_type = load_bridge()

    async def main() -> dict[str, float]:
        bridge = bridge_type("measure")
        bridge.start()
        pool = await bridge.run(lambda: asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY))
        results = await run_workloads(bridge.run, pool, "bridge", sizes)
        results["select16"] = await _trio_selects(bridge.run, pool, keys_for_select("bridge", sizes))
        await bridge.run(pool.close)
        await bridge.aclose()
        return results

    return trio.run(main)


def measure_trio_asyncio(dsn: str, sizes: Sizes) -> dict[str, float] | None:
    try:
        import trio_asyncio
    except ImportError:
        return None

    async def main() -> dict[str, float]:
        async with trio_asyncio.open_loop():

            async def hop(work: Callable[[], Awaitable[Any]]) -> Any:
                return await trio_asyncio.aio_as_trio(work)()

            pool = await hop(lambda: asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY))
            results = await run_workloads(hop, pool, "tasyncio", sizes)
            results["select16"] = await _trio_selects(hop, pool, keys_for_select("tasyncio", sizes))
            await hop(pool.close)
            return results

    return trio.run(main)


def measure_psycopg(dsn: str, sizes: Sizes) -> dict[str, float] | None:
    try:
        import psycopg
    except ImportError:
        return None
    insert = INSERT_ONE.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s")
    unnest = "INSERT INTO bench (k, v, n) SELECT * FROM unnest(%s::text[], %s::bytea[], %s::bigint[])"
    select = SELECT_PK.replace("$1", "%s")

    async def main() -> dict[str, float]:
        results: dict[str, float] = {}
        conns = [psycopg.connect(dsn, autocommit=True) for _ in range(CONCURRENCY)]
        limiter = trio.CapacityLimiter(CONCURRENCY)
        first = conns[0]

        start = time.perf_counter()
        for i in range(sizes.single):
            await trio.to_thread.run_sync(first.execute, insert, (f"pg-s-{i}", b"x" * 64, i), limiter=limiter)
        results["single"] = sizes.single / (time.perf_counter() - start)

        def many(rows: list[tuple[str, bytes, int]]) -> None:
            with first.transaction(), first.cursor() as cur:
                cur.executemany(insert, rows)

        def arrays(rows: list[tuple[str, bytes, int]]) -> None:
            with first.transaction():
                first.execute(unnest, columns(rows))

        for name, fn, tag in (("executemany", many, "m"), ("unnest", arrays, "u")):
            start = time.perf_counter()
            for b in range(sizes.batches):
                await trio.to_thread.run_sync(fn, rows_for(f"pg-{tag}{b}", BATCH), limiter=limiter)
            results[name] = sizes.batches * BATCH / (time.perf_counter() - start)

        keys = keys_for_select("pg", sizes)
        start = time.perf_counter()

        async def worker(conn: Any, part: list[str]) -> None:
            for key in part:
                await trio.to_thread.run_sync(lambda k=key: conn.execute(select, (k,)).fetchone(), limiter=limiter)

        async with trio.open_nursery() as nursery:
            for w in range(CONCURRENCY):
                nursery.start_soon(worker, conns[w], keys[w::CONCURRENCY])
        results["select16"] = len(keys) / (time.perf_counter() - start)
        for conn in conns:
            conn.close()
        return results

    return trio.run(main)


# -- main ----------------------------------------------------------------------------------------------------


async def _admin(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres", help="an admin DSN")
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the script)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per variant; the best of each is kept")
    args = parser.parse_args()
    sizes = Sizes(args.quick)
    name = f"openim_measure_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(args.dsn, f'CREATE DATABASE "{name}"'))
    dsn = urlunsplit(urlsplit(args.dsn)._replace(path=f"/{name}"))
    rows: list[tuple[str, dict[str, float] | None]] = []
    try:
        for label, measure in (
            ("asyncpg, plain asyncio (ceiling)", measure_asyncio),
            ("asyncpg, asyncio thread bridge", measure_bridge),
            ("asyncpg, trio-asyncio", measure_trio_asyncio),
            ("psycopg 3 in trio.to_thread", measure_psycopg),
        ):
            best: dict[str, float] | None = None
            for _ in range(max(1, args.repeat)):
                # Best of several rounds: the figure least disturbed by whatever else the machine runs.
                asyncio.run(reset_table(dsn))
                result = measure(dsn, sizes)
                if result is None:
                    break
                best = result if best is None else {k: max(v, result[k]) for k, v in best.items()}
            rows.append((label, best))
            print(f"  measured: {label}", file=sys.stderr)
    finally:
        asyncio.run(_admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    print(
        f"CPU: {cpu_model()} ({os.cpu_count()} CPUs); Python {platform.python_version()}; "
        f"asyncpg {asyncpg.__version__}; best of {args.repeat}; load average {os.getloadavg()[0]:.2f}"
    )
    header = ("variant", "single INSERT/s", "1000-row executemany rows/s", "1000-row unnest rows/s", "PK SELECT x16/s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for label, result in rows:
        if result is None:
            print(f"| {label} | not installed | | | |")
            continue
        cells = [f"{result[k]:,.0f}" for k in ("single", "executemany", "unnest", "select16")]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

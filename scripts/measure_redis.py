"""Measure three ways of driving Redis from trio, to choose the bus's Redis client with figures.

    (a) native: a trio socket + hiredis.Reader (openim.bus.resp), pipelining in one write
    (b) bridge: redis.asyncio on an asyncio loop in a dedicated thread; trio awaits each call through
        ``run_coroutine_threadsafe`` and a wake-up posted back with the trio token
    (c) thread: sync redis-py called through ``trio.to_thread.run_sync``

For each: single INCR round trips, pipelines of 100 INCRs, and pub/sub delivery rate to one subscriber (the
publisher is the same native pipelined client in every case, so only the receiving side differs). Every
figure is the median of ``--runs`` runs. Keys live under a random prefix and are deleted afterwards; the
script never flushes anything.

    python scripts/measure_redis.py [--url redis://127.0.0.1:6379/0] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
import trio

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from openim.bus.resp import RedisAddress, RespConnection

T = TypeVar("T")

SINGLE_N = 5_000
PIPE_BATCHES = 200
PIPE_SIZE = 100
PUBSUB_N = 100_000


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- (b) asyncio loop in a thread, bridged to trio -------------------------------------------------------


class AsyncioThread:
    """An asyncio loop running forever in its own thread; trio awaits coroutines submitted to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        future.add_done_callback(lambda _f: token.run_sync_soon(done.set))
        await done.wait()
        return future.result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


# -- the measurements --------------------------------------------------------------------------------------


async def timed(fn: Callable[[], Awaitable[int]]) -> float:
    """Operations per second of one run of ``fn`` (which returns how many operations it did)."""
    start = time.perf_counter()
    ops = await fn()
    return ops / (time.perf_counter() - start)


async def publish_all(address: RedisAddress, channel: str, n: int) -> None:
    pub = await RespConnection.connect(address)
    try:
        for start in range(0, n, PIPE_SIZE):
            await pub.pipeline([("PUBLISH", channel, b"payload-%d" % i) for i in range(start, start + PIPE_SIZE)])
    finally:
        pub.close()


async def native(address: RedisAddress, prefix: str) -> dict[str, float]:
    conn = await RespConnection.connect(address)
    key = prefix + "a"

    async def single() -> int:
        for _ in range(SINGLE_N):
            await conn.execute("INCR", key)
        return SINGLE_N

    async def pipelined() -> int:
        cmds = [("INCR", key)] * PIPE_SIZE
        for _ in range(PIPE_BATCHES):
            await conn.pipeline(cmds)
        return PIPE_BATCHES * PIPE_SIZE

    async def pubsub() -> int:
        channel = prefix + "ch-a"
        sub = await RespConnection.connect(address)
        try:
            await sub.send([("SUBSCRIBE", channel)])
            await sub.read_reply()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(publish_all, address, channel, PUBSUB_N)
                got = 0
                while got < PUBSUB_N:
                    msg = await sub.read_reply()
                    if msg[0] == b"message":
                        got += 1
        finally:
            sub.close()
        return PUBSUB_N

    try:
        return {
            "single": await timed(single),
            "pipe100": await timed(pipelined),
            "pubsub": await timed(pubsub),
        }
    finally:
        await conn.execute("DEL", key)
        conn.close()


async def bridged(address: RedisAddress, prefix: str, url: str) -> dict[str, float]:
    bridge = AsyncioThread()
    client: aioredis.Redis = await bridge.call(_make_async_client(url))
    key = prefix + "b"

    async def single() -> int:
        for _ in range(SINGLE_N):
            await bridge.call(client.incr(key))
        return SINGLE_N

    async def pipelined() -> int:
        async def one_batch() -> None:
            pipe = client.pipeline(transaction=False)
            for _ in range(PIPE_SIZE):
                pipe.incr(key)
            await pipe.execute()

        for _ in range(PIPE_BATCHES):
            await bridge.call(one_batch())
        return PIPE_BATCHES * PIPE_SIZE

    async def pubsub() -> int:
        channel = prefix + "ch-b"
        token = trio.lowlevel.current_trio_token()
        send, receive = trio.open_memory_channel[list[bytes]](1000)
        ready = trio.Event()

        async def listen() -> None:
            # Runs in the asyncio thread: collect what is buffered, hand it to trio in one hop per burst.
            ps = client.pubsub()
            await ps.subscribe(channel)
            token.run_sync_soon(ready.set)
            got = 0
            batch: list[bytes] = []
            while got < PUBSUB_N:
                msg = await ps.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is None:
                    continue
                batch.append(msg["data"])
                got += 1
                if len(batch) >= 256 or got == PUBSUB_N:
                    token.run_sync_soon(send.send_nowait, batch)
                    batch = []
            await ps.aclose()

        future = asyncio.run_coroutine_threadsafe(listen(), bridge.loop)
        await ready.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_all, address, channel, PUBSUB_N)
            got = 0
            while got < PUBSUB_N:
                got += len(await receive.receive())
        future.result()
        return PUBSUB_N

    try:
        return {
            "single": await timed(single),
            "pipe100": await timed(pipelined),
            "pubsub": await timed(pubsub),
        }
    finally:
        await bridge.call(client.delete(key))
        await bridge.call(client.aclose())
        bridge.stop()


async def _make_async_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url)


async def threaded(address: RedisAddress, prefix: str, url: str) -> dict[str, float]:
    client = redis.Redis.from_url(url)
    key = prefix + "c"

    async def single() -> int:
        for _ in range(SINGLE_N):
            await trio.to_thread.run_sync(client.incr, key)
        return SINGLE_N

    def one_batch() -> None:
        pipe = client.pipeline(transaction=False)
        for _ in range(PIPE_SIZE):
            pipe.incr(key)
        pipe.execute()

    async def pipelined() -> int:
        for _ in range(PIPE_BATCHES):
            await trio.to_thread.run_sync(one_batch)
        return PIPE_BATCHES * PIPE_SIZE

    async def pubsub() -> int:
        channel = prefix + "ch-c"
        ps = client.pubsub(ignore_subscribe_messages=True)
        ps.subscribe(channel)

        def drain(limit: int) -> int:
            # Block for the first message, then take what is already buffered: one thread hop per burst.
            got = 0
            msg = ps.get_message(timeout=1.0)
            while msg is not None and got < limit:
                got += 1
                if got >= limit:
                    break
                msg = ps.get_message(timeout=0)
            return got

        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_all, address, channel, PUBSUB_N)
            got = 0
            while got < PUBSUB_N:
                got += await trio.to_thread.run_sync(drain, PUBSUB_N - got)
        ps.close()
        return PUBSUB_N

    try:
        return {
            "single": await timed(single),
            "pipe100": await timed(pipelined),
            "pubsub": await timed(pubsub),
        }
    finally:
        client.delete(key)
        client.close()


async def main_async(url: str, runs: int) -> None:
    address = RedisAddress.from_url(url)
    prefix = f"measure:{uuid.uuid4().hex[:8]}:"
    results: dict[str, list[dict[str, float]]] = {
        "a native trio + hiredis": [],
        "b redis.asyncio bridge": [],
        "c redis-py to_thread": [],
    }
    for run in range(runs):
        print(f"run {run + 1}/{runs} ...", file=sys.stderr)
        results["a native trio + hiredis"].append(await native(address, prefix))
        results["b redis.asyncio bridge"].append(await bridged(address, prefix, url))
        results["c redis-py to_thread"].append(await threaded(address, prefix, url))

    print(
        f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); Python {platform.python_version()}; "
        f"trio {trio.__version__}; redis-py {redis.__version__}; median of {runs} runs"
    )
    print(f"Redis at {url} (same host, loopback)")
    print()
    head = ("client", "INCR round trips/s", "pipelines of 100, cmds/s", "pub/sub msgs/s")
    print(f"| {head[0]:<26} | {head[1]:>18} | {head[2]:>24} | {head[3]:>14} |")
    print(f"|{'-' * 28}|{'-' * 20}|{'-' * 26}|{'-' * 16}|")
    for name, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("single", "pipe100", "pubsub")}
        single, pipe, pubsub = med["single"], med["pipe100"], med["pubsub"]
        print(f"| {name:<26} | {single:>18,.0f} | {pipe:>24,.0f} | {pubsub:>14,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    trio.run(main_async, args.url, args.runs)


if __name__ == "__main__":
    main()

"""Fixtures shared by the contract suites: every port test runs on each adapter."""

from __future__ import annotations

# --- bus (openim.bus) -------------------------------------------------------------------------------------

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest
import trio

from openim.bus.port import Bus

if TYPE_CHECKING:
    from openim.bus.redis import RedisBus

BUS_REDIS_URL = "redis://127.0.0.1:6379/0"
# Short redelivery so the contract tests can watch an unacked item come back; production uses 30 s.
BUS_REDELIVER_AFTER_S = 0.3


async def _bus_redis_cleanup(prefix: str) -> None:
    """Delete every key under the test's own prefix (never FLUSHALL: the Redis is shared)."""
    from openim.bus.resp import RedisAddress, RespConnection

    conn = await RespConnection.connect(RedisAddress.from_url(BUS_REDIS_URL))
    try:
        cursor: bytes | int = 0
        while True:
            cursor, keys = await conn.execute("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            if keys:
                await conn.execute("DEL", *keys)
            if cursor in (0, b"0"):
                break
    finally:
        conn.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """An opened Bus of each adapter; the Redis one lives under a random key prefix, removed afterwards."""
    if request.param == "memory":
        from openim.bus.memory import MemoryBus

        memory = MemoryBus(redeliver_after_s=BUS_REDELIVER_AFTER_S)
        await memory.open()
        try:
            yield memory
        finally:
            await memory.aclose()
        return

    async with _open_redis_bus("test") as redis_bus:
        yield redis_bus


@asynccontextmanager
async def _open_redis_bus(node_prefix: str) -> AsyncIterator[RedisBus]:
    from openim.bus.port import BusUnavailable
    from openim.bus.redis import RedisBus

    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    redis_bus = RedisBus(
        BUS_REDIS_URL,
        node_id=f"{node_prefix}-{uuid.uuid4().hex[:8]}",
        key_prefix=prefix,
        redeliver_after_s=BUS_REDELIVER_AFTER_S,
        command_timeout_s=3.0,
    )
    try:
        await redis_bus.open()
    except BusUnavailable:
        pytest.skip(f"no Redis at {BUS_REDIS_URL}")
    try:
        yield redis_bus
    finally:
        await redis_bus.aclose()
        with trio.CancelScope(shield=True):
            await _bus_redis_cleanup(prefix)


@pytest.fixture
async def redis_bus() -> AsyncIterator[RedisBus]:
    """The Redis bus alone, for what only it can suffer (killed connections); node id ``kill-<random>``."""
    async with _open_redis_bus("kill") as redis_bus:
        yield redis_bus

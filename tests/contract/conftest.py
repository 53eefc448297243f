"""Fixtures for the contract suites: every test runs once per backend (docs/architecture.md, "Ports and
adapters").

Shared between the storage suite (this part) and the bus suite (the bus engineer appends a ``bus``
fixture below). Async tests here run under trio: the collection hook marks them, no ini setting needed.

PostgreSQL: one database with a random name is created for the test session (so parallel runs never
collide) and dropped afterwards; every test starts from empty tables. Point the suite elsewhere with
$OPENIM_TEST_POSTGRES_DSN (an admin DSN, database ``postgres``). When the server is unreachable the
postgres-marked tests are skipped, not failed (``-m 'not postgres'`` deselects them outright).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from openim.storage.port import Store
from openim.storage.sql.postgres import PostgresStore
from openim.storage.sql.sqlite import SqliteStore

_HERE = Path(__file__).parent

POSTGRES_ADMIN_DSN = os.environ.get("OPENIM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run every ``async def`` test of the contract suites under trio (pytest-trio)."""
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and Path(str(item.path)).is_relative_to(_HERE)
            and inspect.iscoroutinefunction(item.obj)
        ):
            item.add_marker(pytest.mark.trio)


# -- storage ---------------------------------------------------------------------------------------------


def database_dsn(admin_dsn: str, database: str) -> str:
    parts = urlsplit(admin_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _empty_tables(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if names:
            await conn.execute("TRUNCATE " + ", ".join(f'"{r[0]}"' for r in names))
    finally:
        await conn.close()


def postgres_database() -> Iterator[str]:
    """Create a uniquely named database; yield its DSN; drop it."""
    name = f"openim_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {exc}")
    try:
        yield database_dsn(POSTGRES_ADMIN_DSN, name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The session's PostgreSQL database (schema created by the first store that opens it)."""
    yield from postgres_database()


@pytest.fixture
def fresh_postgres_dsn() -> Iterator[str]:
    """A database of its own, for tests that need one without any schema (migrations)."""
    yield from postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Store]:
    """Builds unopened stores over the same data: a second call is "the server after a restart"."""
    if backend == "sqlite":
        path = tmp_path / "data" / "openim.db"  # the data dir does not exist yet: the store creates it
        return lambda: SqliteStore(path)
    dsn = request.getfixturevalue("postgres_dsn")
    asyncio.run(_empty_tables(dsn))
    return lambda: PostgresStore(dsn, pool_size=8)


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = store_factory()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.aclose()


# -- bus -------------------------------------------------------------------------------------------------
# Every Bus test runs on the memory adapter and on Redis. Redis tests live under a random key prefix and a
# random node id (connections are named openim-<node id>-<role>, so a test kills only its own), and delete
# their keys afterwards: the Redis is shared, never flushed.

BUS_REDIS_URL = os.environ.get("OPENIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Short redelivery so the tests can watch an unacked item come back; production uses 30 s.
BUS_REDELIVER_AFTER_S = 0.3


async def _drop_redis_keys(prefix: str) -> None:
    """Delete every key under the test's own prefix (SCAN + DEL; never FLUSHALL)."""
    from openim.bus.resp import RedisAddress, RespConnection

    conn = await RespConnection.connect(RedisAddress.from_url(BUS_REDIS_URL))
    try:
        cursor: Any = b"0"
        while True:
            cursor, keys = await conn.execute("SCAN", cursor, "MATCH", f"{prefix}*", "COUNT", 1000)
            if keys:
                await conn.execute("DEL", *keys)
            if cursor in (b"0", "0", 0):
                break
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def _open_redis_bus(role: str) -> AsyncIterator[Any]:
    """An opened RedisBus with a random node id and key prefix; skipped when Redis is unreachable."""
    import trio

    from openim.bus.port import BusUnavailable
    from openim.bus.redis import RedisBus

    tag = uuid.uuid4().hex[:10]
    prefix = f"openim-test-{tag}:"
    opened = RedisBus(
        BUS_REDIS_URL,
        node_id=f"{role}-{tag}",
        key_prefix=prefix,
        redeliver_after_s=BUS_REDELIVER_AFTER_S,
        command_timeout_s=3.0,
    )
    try:
        await opened.open()
    except BusUnavailable as exc:
        pytest.skip(f"Redis is not reachable at {BUS_REDIS_URL}: {exc}")
    try:
        yield opened
    finally:
        await opened.aclose()
        with trio.CancelScope(shield=True):  # clean up even when the test was cancelled (timeout)
            await _drop_redis_keys(prefix)


@pytest.fixture
async def redis_bus() -> AsyncIterator[Any]:
    """The Redis adapter alone, for what only it can suffer (killed connections, resubscription)."""
    async with _open_redis_bus("kill") as opened:
        yield opened


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """An opened Bus of each adapter."""
    if request.param == "redis":
        async with _open_redis_bus("test") as opened:
            yield opened
        return
    from openim.bus.memory import MemoryBus

    memory = MemoryBus(redeliver_after_s=BUS_REDELIVER_AFTER_S)
    await memory.open()
    try:
        yield memory
    finally:
        await memory.aclose()

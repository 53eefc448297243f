"""The token sweeper: runs on its interval, deletes expired and long-kicked tokens, one process per round."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.config import AuthConfig
from openim.services.token_sweeper import TokenSweeper
from openim.storage.messages.records import TokenRecord, TokenState
from openim.storage.sql.sqlite import SqliteStore

pytestmark = pytest.mark.trio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.db")
    await s.open()
    yield s
    await s.aclose()


def auth(interval: float, retention: float = 60.0) -> AuthConfig:
    return AuthConfig.model_validate({"token_purge_interval": interval, "kicked_token_retention": retention})


async def test_purges_expired_and_old_kicked_tokens_only(store: SqliteStore) -> None:
    now = time.time_ns() // 1_000_000
    hour = 3_600_000
    for token, state, expire, created in (
        ("expired", TokenState.NORMAL, now - 1, now - hour),
        ("kicked-long-ago", TokenState.KICKED, now + hour, now - 2 * 60_000),
        ("kicked-just-now", TokenState.KICKED, now + hour, now),
        ("live", TokenState.NORMAL, now + hour, now - hour),
    ):
        await store.save_token(TokenRecord("u1", 5, token, state, expire, created))
    sweeper = TokenSweeper(store, MemoryBus(), auth(3600, retention=60), "node-a")
    assert await sweeper.purge_once() == 2
    assert sorted(t.token for t in await store.list_tokens("u1")) == ["kicked-just-now", "live"]


async def test_one_process_per_interval(store: SqliteStore) -> None:
    bus = MemoryBus()
    a = TokenSweeper(store, bus, auth(3600), "node-a")
    b = TokenSweeper(store, bus, auth(3600), "node-b")
    await a.purge_once()
    await b.purge_once()
    assert (a.rounds, b.rounds) == (1, 0)


async def test_runs_on_its_interval_and_zero_turns_it_off(store: SqliteStore) -> None:
    now = time.time_ns() // 1_000_000
    bus = MemoryBus()
    sweeper = TokenSweeper(store, bus, auth(0.05), "node-a")
    off = TokenSweeper(store, bus, auth(0), "node-b")
    async with trio.open_nursery() as nursery:
        await nursery.start(sweeper.serve)
        await nursery.start(off.serve)
        await store.save_token(TokenRecord("u1", 5, "expired", TokenState.NORMAL, now - 1, now - 10))
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert sweeper.rounds >= 3 and off.rounds == 0
    assert await store.list_tokens("u1") == []

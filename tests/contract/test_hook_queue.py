"""The HookQueue contract (openim.hook_queue): the same tests on the Store (SQLite and PostgreSQL) and on the
Redis bus's stream, the two places after-callbacks wait durably (openim.webhooks.delivery)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio

from openim.clock import now_ms
from openim.hook_queue import HookCounts, HookEntry, HookQueue, HookRetry, HookWrites
from openim.storage.sql.postgres import PostgresStore
from openim.storage.sql.sqlite import SqliteStore
from tests.contract.conftest import _empty_tables, _open_redis_bus

LEASE_MS = 60_000


@pytest.fixture(
    params=[
        "sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("redis", marks=pytest.mark.redis)
    ]
)
async def queues(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[[], HookQueue]]:
    """Makes HookQueues over the same data: a second one is "the process after a restart"."""
    if request.param == "redis":
        async with _open_redis_bus("hooks") as bus:
            yield bus.hook_queue
        return
    if request.param == "sqlite":
        store: SqliteStore | PostgresStore = SqliteStore(tmp_path / "hooks.db")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        await trio.to_thread.run_sync(lambda: asyncio.run(_empty_tables(dsn)))
        store = PostgresStore(dsn, pool_size=4)
    await store.open()
    try:
        yield lambda: store
    finally:
        await store.aclose()


def entry(n: int, body: str | None = None) -> HookEntry:
    return HookEntry(f"{n:020d}-e{n}", "afterSendSingleMsg", f"op-{n}", body or f'{{"n":{n},"text":"é ✓"}}', 0, "", n)


def same(got: HookEntry, want: HookEntry) -> bool:
    """Equal but for the id (Redis names entries itself)."""
    return (got.hook, got.operation_id, got.body, got.attempts, got.last_error, got.created_at) == (
        want.hook, want.operation_id, want.body, want.attempts, want.last_error, want.created_at
    )


async def test_entries_are_taken_oldest_first_once_and_leave_when_delivered(queues: Callable[[], HookQueue]) -> None:
    q = queues()
    sent = [entry(i) for i in range(1, 6)]
    await q.hook_write(HookWrites(new=sent), now_ms=now_ms())
    assert await q.hook_counts() == HookCounts(queued=5, dead=0)
    first = await q.hook_take("a", max_items=3, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert [e.operation_id for e in first] == ["op-1", "op-2", "op-3"]
    assert all(same(g, w) for g, w in zip(first, sent, strict=False))
    rest = await q.hook_take("b", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert [e.operation_id for e in rest] == ["op-4", "op-5"], "a leased entry is not taken twice"
    assert await q.hook_take("b", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS) == []
    await q.hook_write(HookWrites(delivered=[*first, *rest]), now_ms=now_ms())
    assert await q.hook_counts() == HookCounts(queued=0, dead=0)
    assert await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS) == []


async def test_an_entry_whose_taker_died_is_taken_by_another_after_the_lease(queues: Callable[[], HookQueue]) -> None:
    q = queues()
    await q.hook_write(HookWrites(new=[entry(1)]), now_ms=now_ms())
    (held,) = await q.hook_take("dead-node", max_items=10, now_ms=now_ms(), lease_ms=300)
    assert await q.hook_take("other", max_items=10, now_ms=now_ms(), lease_ms=300) == []
    await trio.sleep(0.5)
    (again,) = await q.hook_take("other", max_items=10, now_ms=now_ms(), lease_ms=300)
    assert same(again, entry(1)) and same(held, entry(1))
    await q.hook_write(HookWrites(delivered=[again]), now_ms=now_ms())
    assert (await q.hook_counts()).queued == 0


async def test_a_restarted_consumer_gets_its_taken_entries_back_at_once(queues: Callable[[], HookQueue]) -> None:
    before = queues()
    await before.hook_write(HookWrites(new=[entry(1), entry(2)]), now_ms=now_ms())
    assert len(await before.hook_take("node-a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)) == 2
    after = queues()  # node-a after a crash: the lease has a minute to run
    await after.hook_release("node-a")
    back = await after.hook_take("node-a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert [e.operation_id for e in back] == ["op-1", "op-2"]
    assert await after.hook_take("node-a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS) == []


async def test_a_retry_waits_until_it_is_due_with_its_attempts_and_error(queues: Callable[[], HookQueue]) -> None:
    q = queues()
    await q.hook_write(HookWrites(new=[entry(1)]), now_ms=now_ms())
    (taken,) = await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    failed = taken.failed("HTTP 503")
    await q.hook_write(HookWrites(retries=[HookRetry(failed, now_ms() + 400)]), now_ms=now_ms())
    assert await q.hook_counts() == HookCounts(queued=1, dead=0)
    assert await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS) == []
    await trio.sleep(0.5)
    (due,) = await q.hook_take("b", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert (due.attempts, due.last_error, due.body, due.operation_id) == (1, "HTTP 503", entry(1).body, "op-1")


async def test_dead_letters_are_kept_inspectable_and_can_be_requeued(queues: Callable[[], HookQueue]) -> None:
    q = queues()
    await q.hook_write(HookWrites(new=[entry(1), entry(2), entry(3)]), now_ms=now_ms())
    taken = await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    dead = [e.failed("timed out").failed("HTTP 500") for e in taken]
    await q.hook_write(HookWrites(dead=dead), now_ms=now_ms())
    assert await q.hook_counts() == HookCounts(queued=0, dead=3)
    assert await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS) == []
    letters = await q.hook_dead_letters(limit=10)
    assert [(e.operation_id, e.attempts, e.last_error, e.body) for e in letters] == [
        (f"op-{i}", 2, "HTTP 500", entry(i).body) for i in (1, 2, 3)
    ]
    assert len(await q.hook_dead_letters(limit=2)) == 2
    assert await q.hook_redrive([letters[1].entry_id], now_ms=now_ms()) == 1
    assert await q.hook_counts() == HookCounts(queued=1, dead=2)
    (one,) = await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert (one.operation_id, one.attempts, one.body) == ("op-2", 0, entry(2).body)
    assert await q.hook_redrive(None, now_ms=now_ms()) == 2
    assert await q.hook_counts() == HookCounts(queued=3, dead=0)
    assert await q.hook_redrive(None, now_ms=now_ms()) == 0


async def test_one_write_carries_new_delivered_retried_and_dead_entries(queues: Callable[[], HookQueue]) -> None:
    q = queues()
    await q.hook_write(HookWrites(new=[entry(1), entry(2), entry(3)]), now_ms=now_ms())
    one, two, three = await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    await q.hook_write(
        HookWrites(
            new=[entry(4)],
            delivered=[one],
            retries=[HookRetry(two.failed("HTTP 429"), now_ms() - 1)],
            dead=[three.failed("HTTP 500")],
        ),
        now_ms=now_ms(),
    )
    assert await q.hook_counts() == HookCounts(queued=2, dead=1)
    taken = await q.hook_take("a", max_items=10, now_ms=now_ms(), lease_ms=LEASE_MS)
    assert sorted((e.operation_id, e.attempts) for e in taken) == [("op-2", 1), ("op-4", 0)]

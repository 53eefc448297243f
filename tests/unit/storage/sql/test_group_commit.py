"""Group commit: concurrent callers share transactions, each gets exactly its own results."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from openim.storage.messages.records import NewMessage, PersistResult
from openim.storage.sql.group_commit import GroupCommit

pytestmark = pytest.mark.trio


def msg(tag: str) -> NewMessage:
    return NewMessage("c", "u", tag, tag, 0, 1, 101, b"")


class FakeStore:
    """A 'transaction' that takes a while and numbers the messages it commits."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail
        self.seq = 0

    async def persist(self, batch: Sequence[NewMessage], now_ms: int) -> list[PersistResult]:
        self.calls.append([m.client_msg_id for m in batch])
        await trio.sleep(0.01)
        if self.fail:
            raise RuntimeError("disk full")
        out = []
        for m in batch:
            self.seq += 1
            out.append(PersistResult("c", self.seq, m.server_msg_id, now_ms))
        return out


async def test_concurrent_callers_share_commits_and_get_their_own_results() -> None:
    store = FakeStore()
    gc = GroupCommit(store.persist)
    got: dict[str, list[str]] = {}

    async def call(i: int) -> None:
        batch = [msg(f"{i}-a"), msg(f"{i}-b")]
        results = await gc.persist(batch, 7)
        got[str(i)] = [r.server_msg_id for r in results]

    async with trio.open_nursery() as nursery:
        for i in range(30):
            nursery.start_soon(call, i)
    assert got == {str(i): [f"{i}-a", f"{i}-b"] for i in range(30)}
    assert 1 < len(store.calls) < 30  # grouped, and not all in one
    assert sorted(t for call in store.calls for t in call) == sorted(t for v in got.values() for t in v)
    assert store.seq == 60


async def test_a_lone_call_is_committed_at_once() -> None:
    store = FakeStore()
    gc = GroupCommit(store.persist)
    with trio.fail_after(1):
        results = await gc.persist([msg("solo")], 1)
    assert [r.seq for r in results] == [1] and store.calls == [["solo"]]


async def test_a_failure_reaches_every_caller_of_that_group() -> None:
    store = FakeStore(fail=True)
    gc = GroupCommit(store.persist)
    errors: list[str] = []

    async def call(i: int) -> None:
        try:
            await gc.persist([msg(str(i))], 1)
        except RuntimeError as exc:
            errors.append(str(exc))

    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(call, i)
    assert errors == ["disk full"] * 5
    store.fail = False
    assert [r.seq for r in await gc.persist([msg("after")], 1)] == [1]  # not stuck after failures


async def test_a_cancelled_waiter_is_not_committed_and_does_not_block_others() -> None:
    store = FakeStore()
    gc = GroupCommit(store.persist)
    done: list[str] = []

    async def call(tag: str, timeout: float) -> None:
        with trio.move_on_after(timeout):
            await gc.persist([msg(tag)], 1)
            done.append(tag)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "leader", 1.0)
        await trio.sleep(0.001)
        nursery.start_soon(call, "gives-up", 0.002)  # waits behind the leader, then is cancelled
        nursery.start_soon(call, "patient", 1.0)
    committed = [t for call in store.calls for t in call]
    assert "gives-up" not in committed
    assert sorted(done) == ["leader", "patient"]


async def test_the_leaders_cancellation_does_not_abort_the_shared_commit() -> None:
    store = FakeStore()
    gc = GroupCommit(store.persist)
    done: list[str] = []

    async def call(tag: str, timeout: float) -> None:
        with trio.move_on_after(timeout):
            await gc.persist([msg(tag)], 1)
            done.append(tag)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "first", 1.0)
        await trio.sleep(0.001)
        nursery.start_soon(call, "leader-of-2nd", 0.015)  # promoted, then cancelled mid-commit
        nursery.start_soon(call, "rider", 1.0)
    assert "rider" in done
    assert store.seq == 3  # the second group was committed whole despite its leader's cancellation

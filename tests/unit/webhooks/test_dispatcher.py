"""The webhook dispatcher against a real local HTTP receiver and a real queue (the SQLite store): the answer
contract of before-callbacks (continue, block, modify), failure handling (fail closed / fail open, timeout,
non-JSON), and the after-callback queue (retries with backoff, dead letters, refusing when full, never
blocking, what a stop leaves queued)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from openim.clock import now_ms
from openim.config import WebhooksConfig
from openim.hook_queue import HookCounts, HookEntry, HookQueue, HookRetry
from openim.storage.sql.sqlite import SqliteStore
from openim.webhooks.delivery import after_failure, backoff_s, retryable
from openim.webhooks.dispatcher import Webhooks
from openim.wire.errors import ErrCode, OpenIMError
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

pytestmark = pytest.mark.trio


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "hooks.db")
    await store.open()
    try:
        yield store
    finally:
        await store.aclose()


def make(cfg: WebhooksConfig, queue: HookQueue) -> Webhooks:
    return Webhooks(cfg, queue=queue, consumer="node-a")


def hooks(receiver: Receiver, queue: HookQueue, **cfg: Any) -> Webhooks:
    return make(WebhooksConfig(url=receiver.url, enable=("*",), **cfg), queue)


def answer(status: int, body: Any, delay: float = 0.0) -> Any:
    return lambda _c, _b: (status, body, delay)


async def test_continue_returns_the_answer_for_modifications(receiver: Receiver, queue: SqliteStore) -> None:
    receiver.rules["callbackBeforeSetFriendRemarkCommand"] = answer(200, {**CONTINUE, "remark": "new"})
    got = await hooks(receiver, queue).before("beforeSetFriendRemark", {"remark": "old"}, operation_id="op1")
    assert got is not None and got.changed("remark") == "new" and got.changed("ex") is None
    call = receiver.calls[0]
    assert call.body == {
        "callbackCommand": "callbackBeforeSetFriendRemarkCommand",
        "operationID": "op1",
        "remark": "old",
    }
    assert call.headers["operationID"] == "op1"


async def test_block_uses_the_receivers_code_and_a_zero_code_becomes_80000(
    receiver: Receiver, queue: SqliteStore
) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(
        200, {"actionCode": 0, "nextCode": 1, "errCode": 4242, "errMsg": "Nope", "errDlt": "because"}
    )
    with pytest.raises(OpenIMError) as blocked:
        await hooks(receiver, queue).before("beforeAddBlack", {}, operation_id="op")
    assert (int(blocked.value.code), blocked.value.name, blocked.value.detail) == (4242, "Nope", "because")
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, {"actionCode": 0, "nextCode": 1})
    with pytest.raises(OpenIMError) as zero:
        await hooks(receiver, queue).before("beforeAddBlack", {}, operation_id="op")
    assert zero.value.code == ErrCode.CALLBACK


async def test_action_code_other_than_zero_continues(receiver: Receiver, queue: SqliteStore) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, {"actionCode": 1, "nextCode": 1, "errCode": 9})
    assert await hooks(receiver, queue).before("beforeAddBlack", {}, operation_id="op") is not None


async def test_failures_close_or_open(receiver: Receiver, queue: SqliteStore) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, b"<html>not json</html>")
    with pytest.raises(OpenIMError) as not_json:
        await hooks(receiver, queue).before("beforeAddBlack", {}, operation_id="op")
    assert not_json.value.code == ErrCode.DATA
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, CONTINUE, 1.0)
    with pytest.raises(OpenIMError) as slow:
        await hooks(receiver, queue, timeout=0.2).before("beforeAddBlack", {}, operation_id="op")
    assert slow.value.code == ErrCode.NETWORK
    assert await hooks(receiver, queue, timeout=0.2, fail_open=True).before("beforeAddBlack", {}, operation_id="op")
    dead = make(WebhooksConfig(url="http://127.0.0.1:9/none", enable=("*",), timeout=1), queue)
    with pytest.raises(OpenIMError) as refused:
        await dead.before("beforeAddBlack", {}, operation_id="op")
    assert refused.value.code == ErrCode.NETWORK


async def test_disabled_hooks_are_not_called(receiver: Receiver, queue: SqliteStore) -> None:
    only = make(WebhooksConfig(url=receiver.url, enable=("afterQuitGroup",)), queue)
    assert await only.before("beforeAddBlack", {}, operation_id="op") is None
    only.after("afterRemoveBlack", {}, operation_id="op")
    assert receiver.calls == []



class RecordingQueue:
    """The real store, with a log of the calls the dispatcher made of it."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.calls: list[str] = []
        self.written: list[int] = []  # new entries per write

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if name == "hook_write":
                self.written.append(len(args[0].new))
            return await method(*args, **kwargs)

        return call


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


async def test_backoff_doubles_up_to_the_cap_and_the_last_attempt_makes_a_dead_letter() -> None:
    cfg = WebhooksConfig(url="http://x", enable=("*",), after_attempts=4, after_backoff=1.0, after_backoff_max=3.0)
    for attempts, ceiling in ((1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)):
        delay = backoff_s(cfg, attempts)
        assert 0.8 * ceiling <= delay <= ceiling
    entry = HookEntry("e1", "afterQuitGroup", "op", '{"a":1}', attempts=2, created_at=5)
    step = after_failure(cfg, entry, "HTTP 503", now=1_000)
    assert isinstance(step, HookRetry)
    assert (step.entry.attempts, step.entry.last_error, step.entry.body) == (3, "HTTP 503", '{"a":1}')
    assert 1_000 + 3_000 * 0.8 <= step.due_at <= 1_000 + 3_000
    last = after_failure(cfg, step.entry, "timed out", now=2_000)
    assert last == HookEntry("e1", "afterQuitGroup", "op", '{"a":1}', attempts=4, last_error="timed out", created_at=5)
    assert [retryable(s) for s in (200, 204, 400, 404, 429, 500, 503)] == [False] * 4 + [True] * 3


async def test_after_callbacks_retry_with_backoff_then_wait_as_dead_letters(
    receiver: Receiver, queue: SqliteStore
) -> None:
    receiver.rules["callbackAfterQuitGroupCommand"] = answer(500, b"down")
    wh = hooks(receiver, queue, after_attempts=3, after_backoff=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(wh.serve)
        wh.after("afterQuitGroup", {"groupID": "g"}, operation_id="op-dead")  # returns at once
        with trio.fail_after(5):
            await wh.flushed()
        calls = receiver.of("callbackAfterQuitGroupCommand")
        assert len(calls) == 3
        assert calls[2].at - calls[1].at >= calls[1].at - calls[0].at >= 0.04, "backoff grows"
        assert (wh.delivered, wh.dropped) == (0, 0)
        assert (await queue.hook_counts()).dead == 1
        (letter,) = await queue.hook_dead_letters(limit=10)
        assert (letter.hook, letter.operation_id, letter.attempts, letter.last_error) == (
            "afterQuitGroup", "op-dead", 3, "HTTP 500"
        )
        # Re-driven once the receiver is back: delivered with its original body and operationID.
        receiver.rules["callbackAfterQuitGroupCommand"] = answer(200, CONTINUE)
        assert await queue.hook_redrive(None, now_ms=now_ms()) == 1
        await wait_until(lambda: wh.delivered == 1)
        last = receiver.of("callbackAfterQuitGroupCommand")[-1]
        assert last.body == calls[0].body == {
            "callbackCommand": "callbackAfterQuitGroupCommand", "operationID": "op-dead", "groupID": "g"
        }
        assert last.headers["operationID"] == "op-dead"
        with trio.fail_after(5):
            await wh.flushed()
        assert await queue.hook_counts() == HookCounts(queued=0, dead=0)
        await wh.drain()
        nursery.cancel_scope.cancel()


async def test_after_is_synchronous_and_callbacks_are_written_in_batches(
    receiver: Receiver, queue: SqliteStore
) -> None:
    recording = RecordingQueue(queue)
    wh = make(WebhooksConfig(url=receiver.url, enable=("*",)), cast(HookQueue, recording))
    for i in range(50):
        wh.after("afterQuitGroup", {"groupID": f"g{i}"}, operation_id=f"op{i}")
    assert recording.calls == [], "after() touched the queue"
    async with trio.open_nursery() as nursery:
        await nursery.start(wh.serve)
        await wait_until(lambda: wh.delivered == 50)
        assert recording.written[0] == 50, "the 50 callbacks accepted before the pump ran are one write"
        await wh.drain()
        nursery.cancel_scope.cancel()
    assert sorted(c.body["groupID"] for c in receiver.of("callbackAfterQuitGroupCommand")) == sorted(
        f"g{i}" for i in range(50)
    )


async def test_a_full_queue_refuses_instead_of_blocking(receiver: Receiver, queue: SqliteStore) -> None:
    wh = hooks(receiver, queue, after_queue_size=2)
    for _ in range(5):
        wh.after("afterQuitGroup", {}, operation_id="op")  # no pump running: the memory buffer fills
    assert wh.dropped == 3
    capped = hooks(receiver, queue, after_queue_limit=4)
    for _ in range(6):
        capped.after("afterQuitGroup", {}, operation_id="op")
    assert capped.dropped == 2


async def test_a_stop_leaves_the_queue_for_the_next_start(receiver: Receiver, queue: SqliteStore) -> None:
    receiver.rules["callbackAfterQuitGroupCommand"] = answer(503, b"busy")
    first = hooks(receiver, queue, after_attempts=50, after_backoff=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(first.serve)
        for i in range(3):
            first.after("afterQuitGroup", {"groupID": f"g{i}"}, operation_id=f"op{i}")
        await wait_until(lambda: len(receiver.of("callbackAfterQuitGroupCommand")) >= 3)
        await first.drain()  # at once: nothing is drained, nothing is lost
        nursery.cancel_scope.cancel()
    assert (await queue.hook_counts()).queued == 3
    receiver.rules["callbackAfterQuitGroupCommand"] = answer(200, CONTINUE)
    second = hooks(receiver, queue, after_attempts=50, after_backoff=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(second.serve)
        with trio.fail_after(5):
            await second.flushed()
        await second.drain()
        nursery.cancel_scope.cancel()
    delivered = [c for c in receiver.of("callbackAfterQuitGroupCommand") if c.body["groupID"] and c.at]
    ok = {c.body["operationID"]: c.body for c in delivered[-3:]}
    assert ok == {f"op{i}": {"callbackCommand": "callbackAfterQuitGroupCommand", "operationID": f"op{i}",
                             "groupID": f"g{i}"} for i in range(3)}
    assert second.delivered == 3


async def test_without_an_after_callback_the_queue_is_never_touched(receiver: Receiver, queue: SqliteStore) -> None:
    recording = RecordingQueue(queue)
    wh = make(WebhooksConfig(url=receiver.url, enable=("beforeAddBlack",)), cast(HookQueue, recording))
    async with trio.open_nursery() as nursery:
        await nursery.start(wh.serve)
        wh.after("afterQuitGroup", {}, operation_id="op")
        await trio.sleep(0.3)
        await wh.drain()
        nursery.cancel_scope.cancel()
    assert recording.calls == []

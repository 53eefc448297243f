"""The webhook dispatcher against a real local HTTP receiver: the answer contract of before-callbacks
(continue, block, modify), failure handling (fail closed / fail open, timeout, non-JSON), and the
after-callback queue (retries with backoff, giving up, dropping when full, never blocking)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio

from openim.config import WebhooksConfig
from openim.webhooks.dispatcher import Webhooks
from openim.wire.errors import ErrCode, OpenIMError
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

pytestmark = pytest.mark.trio


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


def hooks(receiver: Receiver, **cfg: Any) -> Webhooks:
    return Webhooks(WebhooksConfig(url=receiver.url, enable=("*",), **cfg))


def answer(status: int, body: Any, delay: float = 0.0) -> Any:
    return lambda _c, _b: (status, body, delay)


async def test_continue_returns_the_answer_for_modifications(receiver: Receiver) -> None:
    receiver.rules["callbackBeforeSetFriendRemarkCommand"] = answer(200, {**CONTINUE, "remark": "new"})
    got = await hooks(receiver).before("beforeSetFriendRemark", {"remark": "old"}, operation_id="op1")
    assert got is not None and got.changed("remark") == "new" and got.changed("ex") is None
    call = receiver.calls[0]
    assert call.body == {
        "callbackCommand": "callbackBeforeSetFriendRemarkCommand",
        "operationID": "op1",
        "remark": "old",
    }
    assert call.headers["operationID"] == "op1"


async def test_block_uses_the_receivers_code_and_a_zero_code_becomes_80000(receiver: Receiver) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(
        200, {"actionCode": 0, "nextCode": 1, "errCode": 4242, "errMsg": "Nope", "errDlt": "because"}
    )
    with pytest.raises(OpenIMError) as blocked:
        await hooks(receiver).before("beforeAddBlack", {}, operation_id="op")
    assert (int(blocked.value.code), blocked.value.name, blocked.value.detail) == (4242, "Nope", "because")
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, {"actionCode": 0, "nextCode": 1})
    with pytest.raises(OpenIMError) as zero:
        await hooks(receiver).before("beforeAddBlack", {}, operation_id="op")
    assert zero.value.code == ErrCode.CALLBACK


async def test_action_code_other_than_zero_continues(receiver: Receiver) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, {"actionCode": 1, "nextCode": 1, "errCode": 9})
    assert await hooks(receiver).before("beforeAddBlack", {}, operation_id="op") is not None


async def test_failures_close_or_open(receiver: Receiver) -> None:
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, b"<html>not json</html>")
    with pytest.raises(OpenIMError) as not_json:
        await hooks(receiver).before("beforeAddBlack", {}, operation_id="op")
    assert not_json.value.code == ErrCode.DATA
    receiver.rules["callbackBeforeAddBlackCommand"] = answer(200, CONTINUE, 1.0)
    with pytest.raises(OpenIMError) as slow:
        await hooks(receiver, timeout=0.2).before("beforeAddBlack", {}, operation_id="op")
    assert slow.value.code == ErrCode.NETWORK
    assert await hooks(receiver, timeout=0.2, fail_open=True).before("beforeAddBlack", {}, operation_id="op")
    dead = Webhooks(WebhooksConfig(url="http://127.0.0.1:9/none", enable=("*",), timeout=1))
    with pytest.raises(OpenIMError) as refused:
        await dead.before("beforeAddBlack", {}, operation_id="op")
    assert refused.value.code == ErrCode.NETWORK


async def test_disabled_hooks_are_not_called(receiver: Receiver) -> None:
    only = Webhooks(WebhooksConfig(url=receiver.url, enable=("afterQuitGroup",)))
    assert await only.before("beforeAddBlack", {}, operation_id="op") is None
    only.after("afterRemoveBlack", {}, operation_id="op")
    assert receiver.calls == []


async def test_after_callbacks_retry_with_backoff_then_give_up(receiver: Receiver) -> None:
    receiver.rules["callbackAfterQuitGroupCommand"] = answer(500, b"down")
    wh = hooks(receiver, after_attempts=3, after_backoff=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(wh.serve)
        wh.after("afterQuitGroup", {"groupID": "g"}, operation_id="op")  # returns at once
        with trio.fail_after(5):
            await wh.flushed()
        assert len(receiver.of("callbackAfterQuitGroupCommand")) == 3
        assert (wh.delivered, wh.dropped) == (0, 1)
        receiver.rules["callbackAfterQuitGroupCommand"] = answer(200, CONTINUE)
        wh.after("afterQuitGroup", {"groupID": "g2"}, operation_id="op")
        with trio.fail_after(5):
            while not wh.delivered:
                await trio.sleep(0.01)
        await wh.drain()
        nursery.cancel_scope.cancel()


async def test_after_queue_full_drops_instead_of_blocking(receiver: Receiver) -> None:
    wh = hooks(receiver, after_queue_size=2)
    for _ in range(5):
        wh.after("afterQuitGroup", {}, operation_id="op")  # no worker running: the queue fills
    assert wh.dropped == 3

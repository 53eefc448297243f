"""The transfer stage on its own: answers after the commit, then the fan-out of what was stored."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.internode.inbox import NodeInbox
from openim.ops.metrics import Metrics
from openim.pipeline.handoff import MemoryHandoff
from openim.pipeline.jobs import PushJob, SendJob
from openim.pipeline.replies import Replies
from openim.pipeline.transfer import TransferStage
from openim.storage.messages.records import MessageToStore, PersistResult
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio


class Store:
    """Stores every message with the next seq of its conversation; the second copy is a duplicate."""

    def __init__(self) -> None:
        self.seqs: dict[str, int] = {}
        self.keys: dict[tuple[str, str], PersistResult] = {}
        self.batches: list[int] = []

    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        self.batches.append(len(batch))
        out = []
        for m in batch:
            key = (m.send_id, m.client_msg_id)
            if key in self.keys:
                first = self.keys[key]
                out.append(PersistResult(first.conversation_id, first.seq, first.server_msg_id, first.send_time, True))
                continue
            seq = self.seqs[m.conversation_id] = self.seqs.get(m.conversation_id, 0) + 1
            self.keys[key] = PersistResult(m.conversation_id, seq, m.server_msg_id, m.send_time)
            out.append(self.keys[key])
        return out


def job(client_msg_id: str, done: list[tuple[str, int, bool, bool]]) -> SendJob:
    msg = sdkws_pb2.MsgData(sendID="alice", recvID="bob", clientMsgID=client_msg_id, sessionType=1, contentType=101)
    return SendJob(
        payload=msg.SerializeToString(), send_id="alice", recv_id="bob", group_id="", client_msg_id=client_msg_id,
        server_msg_id="s-" + client_msg_id, send_time=1000, session_type=1, content_type=101,
        conversation_id="si_alice_bob", conversation_type=1, owners=("alice", "bob"), reader_user_id="alice",
        recipients=("bob", "alice"), operation_id="op-" + client_msg_id, origin_node="n1", origin_conn="7",
        done=lambda j: done.append((j.client_msg_id, j.seq, j.duplicate, j.push is not None)),
    )


async def test_one_process_fans_out_the_stored_batch_itself_after_the_answers() -> None:
    bus = MemoryBus()
    await bus.open()
    store = Store()
    pushes = MemoryHandoff[PushJob](max_items=100)
    fanned: list[list[tuple[str, bytes]]] = []
    answered: list[tuple[str, int, bool, bool]] = []

    async def fan_out(items: list[PushJob]) -> None:
        assert len(answered) == 3, "the senders are answered before anything is pushed"
        fanned.append([(p.operation_id, p.exclude_conn.encode()) for p in items])

    stage = TransferStage(
        store=store, sends=MemoryHandoff[SendJob](max_items=100), pushes=pushes,  # type: ignore[arg-type]  # a Store fake
        replies=Replies(bus=bus, node_id="n1", inbox=NodeInbox(bus, "n1"), timeout_s=5),
        node_id="n1", metrics=Metrics("n1", ("all",)), fan_out=fan_out,
    )
    await stage.handle(0, [job("a", answered), job("b", answered), job("a", answered)])
    assert store.batches == [3]
    assert answered == [("a", 1, False, True), ("b", 2, False, True), ("a", 1, True, False)]
    assert fanned == [[("op-a", b"n1/7"), ("op-b", b"n1/7")]]  # the duplicate is not pushed again
    assert len(pushes) == 0  # nothing went through the hand-off
    await bus.aclose()


class GatedStore(Store):
    """A Store whose commits each wait for the test to let them through."""

    def __init__(self) -> None:
        super().__init__()
        self.started = [trio.Event() for _ in range(3)]
        self.release = [trio.Event() for _ in range(3)]

    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        n = len(self.batches)
        self.started[n].set()
        await self.release[n].wait()
        return await super().persist_messages(batch, now_ms)


async def test_the_next_batch_is_committed_while_the_last_one_is_answered_and_pushed_in_order() -> None:
    bus = MemoryBus()
    await bus.open()
    store = GatedStore()
    sends = MemoryHandoff[SendJob](max_items=100)
    answered: list[tuple[str, int, bool, bool]] = []
    fanned: list[str] = []
    first_push_may_end = trio.Event()

    async def fan_out(items: list[PushJob]) -> None:
        fanned.extend(p.operation_id for p in items)
        if items[0].operation_id == "op-a":
            await first_push_may_end.wait()  # batch A's finishing is slow...

    stage = TransferStage(
        store=store, sends=sends, pushes=MemoryHandoff[PushJob](max_items=100),  # type: ignore[arg-type]  # a Store fake
        replies=Replies(bus=bus, node_id="n1", inbox=NodeInbox(bus, "n1"), timeout_s=5),
        node_id="n1", metrics=Metrics("n1", ("all",)), fan_out=fan_out,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.serve)
        try:
            sends.put_nowait(0, [job("a", answered)])
            await store.started[0].wait()
            sends.put_nowait(0, [job("b", answered)])  # queued while A is being committed
            store.release[0].set()
            with trio.fail_after(5):
                await store.started[1].wait()  # ...and B's commit starts meanwhile, A not yet finished
                while not fanned:
                    await trio.sleep(0.01)
            assert answered == [("a", 1, False, True)] and fanned == ["op-a"]
            store.release[1].set()
            await trio.sleep(0.05)
            assert [a[0] for a in answered] == ["a"], "B is answered only after A is finished"
        finally:
            first_push_may_end.set()  # a failed check must not leave the shielded finisher waiting
        with trio.fail_after(5):
            while len(fanned) < 2:
                await trio.sleep(0.01)
        assert answered == [("a", 1, False, True), ("b", 2, False, True)]
        assert fanned == ["op-a", "op-b"]
        nursery.cancel_scope.cancel()
    await bus.aclose()

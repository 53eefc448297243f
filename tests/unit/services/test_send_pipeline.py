"""The send path in one process: msg stage -> transfer -> push, on a real SQLite store and the memory bus.

These hold DESIGN.md's invariants at the service level (the gateway and the SDK tests hold them again at
the wire level): acked means stored, gapless seqs under concurrency, idempotent retries, targeted push
that skips the sending connection (which gets the echo from its own gateway instead).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import PresenceEntry
from openim.config import Config
from openim.ops.metrics import Metrics
from openim.services.inbox import NodeInbox
from openim.services.internal import KIND_DELIVER, Delivery
from openim.services.push import PushStage
from openim.pipeline.msg import Sender, SendService
from openim.services.transfer import TransferStage
from openim.storage.records import UserRecord
from openim.storage.sqlite import SqliteStore
from openim.wire.constants import ContentType, MsgStatus, Option, SessionType, single_conversation_id
from openim.wire.envelope import decode_response
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio

NODE = "node-a"


@dataclass
class Pipeline:
    store: SqliteStore
    bus: MemoryBus
    send: SendService
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: trio.Event = field(default_factory=trio.Event)


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    cfg = Config()
    store = SqliteStore(tmp_path / "openim.db")
    await store.open()
    bus = MemoryBus()
    await bus.open()
    metrics = Metrics(NODE, ("all",))
    inbox = NodeInbox(bus, NODE)
    send = SendService(
        store=store, bus=bus, inbox=inbox, node_id=NODE, messaging=cfg.messaging, metrics=metrics
    )
    pipe = Pipeline(store, bus, send)

    def on_deliver(body: bytes) -> None:
        pipe.deliveries.append(Delivery.decode(body))
        pipe.arrived.set()

    inbox.register(KIND_DELIVER, on_deliver)
    await store.insert_users([UserRecord("alice", "Alice"), UserRecord("bob", "Bob")])
    transfer = TransferStage(store=store, bus=bus, node_id=NODE, messaging=cfg.messaging, metrics=metrics)
    push = PushStage(bus=bus, node_id=NODE, messaging=cfg.messaging, metrics=metrics)
    async with trio.open_nursery() as nursery:
        await nursery.start(inbox.serve)
        await nursery.start(transfer.serve)
        await nursery.start(push.serve)
        yield pipe
        await transfer.drain()
        await push.drain()
        nursery.cancel_scope.cancel()
    await bus.aclose()
    await store.aclose()


def text(send_id: str, recv_id: str, client_msg_id: str, body: str = "hi") -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID=send_id, recvID=recv_id, clientMsgID=client_msg_id, senderPlatformID=5,
        sessionType=SessionType.SINGLE, msgFrom=100, contentType=ContentType.TEXT,
        content=b'{"content":"' + body.encode() + b'"}', createTime=1, status=MsgStatus.SENDING,
    )


async def test_ack_means_stored_and_seqs_start_at_one(pipeline: Pipeline) -> None:
    out = await pipeline.send.send(text("alice", "bob", "c1"), operation_id="op1", sender=Sender("alice", 5))
    conv = single_conversation_id("alice", "bob")
    assert (out.seq, out.conversation_id) == (1, conv)
    assert len(out.server_msg_id) == 32 and out.send_time > 0
    stored = await pipeline.store.get_messages(conv, [1])
    assert stored[1].client_msg_id == "c1" and stored[1].server_msg_id == out.server_msg_id
    alice_rows = await pipeline.store.get_user_conversations("alice", [conv])
    bob_rows = await pipeline.store.get_user_conversations("bob", [conv])
    assert alice_rows[0].user_id == "bob" and bob_rows[0].user_id == "alice"
    assert alice_rows[0].has_read_seq == 1 and bob_rows[0].has_read_seq == 0
    assert set(await pipeline.store.get_conversation_owners(conv)) == {"alice", "bob"}


async def test_retry_returns_original_result_and_is_not_pushed_again(pipeline: Pipeline) -> None:
    await pipeline.bus.presence_add([PresenceEntry("bob", NODE, 5, "b1")], ttl_s=60)
    first = await pipeline.send.send(text("alice", "bob", "same"), operation_id="op", sender=Sender("alice", 5))
    with trio.fail_after(5):
        await pipeline.arrived.wait()
    again = await pipeline.send.send(text("alice", "bob", "same"), operation_id="op", sender=Sender("alice", 5))
    assert again.duplicate and (again.seq, again.server_msg_id) == (first.seq, first.server_msg_id)
    await trio.sleep(0.2)
    assert len(pipeline.deliveries) == 1
    seqs = await pipeline.store.get_conversation_seqs([first.conversation_id])
    assert seqs[first.conversation_id].max_seq == 1


async def test_concurrent_sends_get_gapless_seqs(pipeline: Pipeline) -> None:
    results: list[int] = []

    async def one(i: int) -> None:
        sender, peer = ("alice", "bob") if i % 2 else ("bob", "alice")
        out = await pipeline.send.send(text(sender, peer, f"m{i}"), operation_id=f"o{i}", sender=Sender(sender, 5))
        results.append(out.seq)

    async with trio.open_nursery() as nursery:
        for i in range(60):
            nursery.start_soon(one, i)
    assert sorted(results) == list(range(1, 61))


async def test_push_is_targeted_and_skips_the_sending_connection(pipeline: Pipeline) -> None:
    await pipeline.bus.presence_add(
        [PresenceEntry("bob", NODE, 5, "b1"), PresenceEntry("alice", NODE, 5, "a1"),
         PresenceEntry("alice", "other-node", 2, "a2")],
        ttl_s=60,
    )
    out = await pipeline.send.send(
        text("alice", "bob", "c-echo"), operation_id="op-echo", sender=Sender("alice", 5, conn_id="a1")
    )
    assert out.echo is not None and out.echo.seq == out.seq and out.echo.status == MsgStatus.SUCCESS
    with trio.fail_after(5):
        await pipeline.arrived.wait()
    [delivery] = pipeline.deliveries  # this node only: "other-node" got its own publish
    assert set(delivery.user_ids) == {"alice", "bob"}
    assert delivery.exclude_conn == f"{NODE}/a1"
    frame = decode_response(delivery.frame)
    assert frame.req_identifier == 2001 and frame.operation_id == "op-echo"
    push = sdkws_pb2.PushMessages.FromString(frame.data or b"")
    [pushed] = push.msgs[out.conversation_id].Msgs
    assert (pushed.seq, pushed.clientMsgID, pushed.status) == (out.seq, "c-echo", MsgStatus.SUCCESS)


async def test_online_only_messages_are_pushed_not_stored(pipeline: Pipeline) -> None:
    await pipeline.bus.presence_add([PresenceEntry("bob", NODE, 5, "b1")], ttl_s=60)
    msg = text("alice", "bob", "typing-1")
    msg.contentType = ContentType.TYPING
    out = await pipeline.send.send(msg, operation_id="op-t", sender=Sender("alice", 5, conn_id="a1"))
    assert out.seq == 0 and out.echo is None
    with trio.fail_after(5):
        await pipeline.arrived.wait()
    assert pipeline.deliveries[0].user_ids == ("bob",)  # typing is not synced to the sender
    assert msg.options[Option.HISTORY] is False
    assert await pipeline.store.get_conversation_seqs([out.conversation_id]) == {}


@pytest.mark.parametrize(
    ("msg_kwargs", "sender", "code"),
    [
        ({"sendID": "mallory"}, Sender("alice", 5), ErrCode.NO_PERMISSION),
        ({"recvID": "nobody"}, Sender("alice", 5), ErrCode.RECORD_NOT_FOUND),
        ({"clientMsgID": ""}, Sender("alice", 5), ErrCode.ARGS),
        ({"sessionType": 7}, Sender("alice", 5), ErrCode.ARGS),
        ({"recvID": ""}, Sender("alice", 5), ErrCode.ARGS),
    ],
)
async def test_refusals(pipeline: Pipeline, msg_kwargs: dict[str, object], sender: Sender, code: ErrCode) -> None:
    msg = text("alice", "bob", "r1")
    for key, value in msg_kwargs.items():
        setattr(msg, key, value)
    with pytest.raises(OpenIMError) as caught:
        await pipeline.send.send(msg, operation_id="op", sender=sender)
    assert caught.value.code == code


async def test_recipient_refusing_all_messages(pipeline: Pipeline) -> None:
    await pipeline.store.update_user("bob", {"global_recv_msg_opt": 1})
    with pytest.raises(OpenIMError) as caught:
        await pipeline.send.send(text("alice", "bob", "x"), operation_id="op", sender=Sender("alice", 5))
    assert caught.value.code == ErrCode.ARGS and "not sent" in caught.value.detail

"""The send path in one process: msg stage -> transfer -> push, on a real SQLite store and the memory bus.

These hold the send path's invariants (docs/architecture.md) at the service level (the gateway and the SDK
tests hold them again at the wire level): acked means stored, gapless seqs under concurrency, idempotent
retries, targeted push that skips the sending connection (which gets the echo from its own gateway
instead). Every test runs with both hand-offs (tests/unit/pipeline/send_rig.py): objects in memory, and
protobuf items on the bus's partitioned queues with the answers coming back through the node inbox, as in
a cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import PresenceEntry
from openim.config import Config
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_DELIVERIES, Delivery, decode_deliveries
from openim.ops.metrics import Metrics
from openim.pipeline.jobs import SendJob
from openim.pipeline.msg import Sender, SendService
from openim.storage.messages.records import NewMessage, PersistResult, UserPatch, UserRecord
from openim.storage.port import StoreUnavailable
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import ContentType, MsgStatus, Option, SessionType, single_conversation_id
from openim.wire.envelope import decode_response
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2
from tests.unit.pipeline.send_rig import HANDOFFS, running_send_path

pytestmark = pytest.mark.trio

NODE = "node-a"


class WatchedStore(SqliteStore):
    """SQLite that records each committed batch and can be made to fail like a database outage."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.committed: list[str] = []  # client message ids, in commit order
        self.down = False

    async def persist_messages(self, batch: Sequence[NewMessage], now_ms: int) -> list[PersistResult]:
        if self.down:
            try:
                raise ConnectionRefusedError("database down")
            except ConnectionRefusedError as exc:
                raise StoreUnavailable("persist failed") from exc
        results = await super().persist_messages(batch, now_ms)
        self.committed.extend(m.client_msg_id for m in batch)
        return results


@dataclass
class Pipeline:
    store: WatchedStore
    bus: MemoryBus
    send: SendService
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: trio.Event = field(default_factory=trio.Event)


@pytest.fixture(params=HANDOFFS)
async def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pipeline]:
    cfg = Config()
    store = WatchedStore(tmp_path / "openim.db")
    await store.open()
    bus = MemoryBus()
    await bus.open()
    metrics = Metrics(NODE, ("all",))
    inbox = NodeInbox(bus, NODE)
    await store.insert_users([UserRecord("alice", "Alice"), UserRecord("bob", "Bob")])
    async with trio.open_nursery() as nursery:
        await nursery.start(inbox.serve)
        async with running_send_path(
            request.param, store=store, bus=bus, inbox=inbox, node_id=NODE, messaging=cfg.messaging, metrics=metrics
        ) as path:
            pipe = Pipeline(store, bus, path.send)

            def on_deliveries(body: bytes) -> None:
                pipe.deliveries.extend(decode_deliveries(body))
                pipe.arrived.set()

            inbox.register(KIND_DELIVERIES, on_deliveries)
            yield pipe
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
    await pipeline.store.update_user("bob", UserPatch(global_recv_msg_opt=1))
    with pytest.raises(OpenIMError) as caught:
        await pipeline.send.send(text("alice", "bob", "x"), operation_id="op", sender=Sender("alice", 5))
    assert caught.value.code == ErrCode.ARGS and "not sent" in caught.value.detail


async def test_submit_returns_at_once_and_on_done_runs_once_after_the_commit(pipeline: Pipeline) -> None:
    events: list[str] = []
    done: list[SendJob] = []
    finished = trio.Event()

    def on_done(job: SendJob) -> None:
        # acked means stored: the batch holding this message has been committed by now
        events.append("done" if job.client_msg_id in pipeline.store.committed else "done before the commit")
        done.append(job)
        finished.set()

    msg = text("alice", "bob", "sub-1")
    await pipeline.send.submit(msg, operation_id="op-s", sender=Sender("alice", 5, conn_id="a1"), on_done=on_done)
    events.append("returned")
    with trio.fail_after(5):
        await finished.wait()
    await trio.sleep(0.1)
    assert events == ["returned", "done"]
    [job] = done
    assert (job.err_code, job.seq, job.duplicate, job.client_msg_id) == (0, 1, False, "sub-1")
    assert job.want_echo and job.push is not None  # the sender is among the recipients (sender sync)
    echo = sdkws_pb2.PushMessages.FromString(decode_response(job.push.frame).data or b"")
    [pushed] = echo.msgs[job.conversation_id].Msgs
    assert (pushed.seq, pushed.clientMsgID, pushed.serverMsgID) == (1, "sub-1", job.server_msg_id)


async def test_submit_nowait_queues_when_the_checks_are_cached_and_hands_back_the_rest_otherwise(
    pipeline: Pipeline, request: pytest.FixtureRequest
) -> None:
    jobs: list[SendJob] = []
    two = trio.Event()

    def on_done(job: SendJob) -> None:
        assert job.err_code == 0, job.err_detail
        jobs.append(job)
        if len(jobs) == 2:
            two.set()

    alice = Sender("alice", 5, conn_id="a1")
    first = text("alice", "bob", "n1")
    pending = pipeline.send.submit_nowait(first, operation_id="op1", sender=alice, on_done=on_done)
    assert pending is not None and not first.serverMsgID  # cold caches: nothing done, the reads are left
    await pending()
    second = text("alice", "bob", "n2")
    pending = pipeline.send.submit_nowait(second, operation_id="op2", sender=alice, on_done=on_done)
    assert second.serverMsgID  # checked from the caches and stamped without waiting
    if "memory" in request.node.callspec.id:
        assert pending is None  # in one process the transfer stage took the job itself
    else:
        assert pending is not None  # the bus is I/O: only the put of the job built here is left
        await pending()
    with trio.fail_after(5):
        await two.wait()
    assert [(j.client_msg_id, j.seq) for j in jobs] == [("n1", 1), ("n2", 2)]
    assert pipeline.store.committed == ["n1", "n2"]


async def test_submit_nowait_refuses_at_once(pipeline: Pipeline) -> None:
    calls: list[SendJob] = []
    with pytest.raises(OpenIMError) as caught:
        pipeline.send.submit_nowait(
            text("alice", "bob", ""), operation_id="op", sender=Sender("alice", 5), on_done=calls.append
        )
    assert caught.value.code == ErrCode.ARGS
    typing = text("alice", "bob", "t1")
    typing.contentType = ContentType.TYPING  # online only: pushed, never stored, so never queued here
    pending = pipeline.send.submit_nowait(typing, operation_id="op", sender=Sender("alice", 5), on_done=calls.append)
    assert pending is not None and calls == []
    await pending()
    assert [(j.seq, j.err_code) for j in calls] == [(0, 0)] and pipeline.store.committed == []


async def test_one_connections_sends_get_seqs_in_submit_order(pipeline: Pipeline) -> None:
    seqs: dict[str, int] = {}
    all_done = trio.Event()

    def on_done(job: SendJob) -> None:
        assert job.err_code == 0, job.err_detail
        seqs[job.client_msg_id] = job.seq
        if len(seqs) == 30:
            all_done.set()

    for i in range(30):  # as a connection's reader does: submit, submit, ... without waiting
        await pipeline.send.submit(
            text("alice", "bob", f"o{i}"), operation_id=f"op{i}", sender=Sender("alice", 5), on_done=on_done
        )
    with trio.fail_after(5):
        await all_done.wait()
    assert [seqs[f"o{i}"] for i in range(30)] == list(range(1, 31))


async def test_a_store_outage_is_answered_with_90002_and_nothing_is_pushed(pipeline: Pipeline) -> None:
    await pipeline.bus.presence_add([PresenceEntry("bob", NODE, 5, "b1")], ttl_s=60)
    pipeline.store.down = True
    with pytest.raises(OpenIMError) as caught:
        await pipeline.send.send(text("alice", "bob", "retry-me"), operation_id="op", sender=Sender("alice", 5))
    assert caught.value.code == ErrCode.DATABASE
    await trio.sleep(0.1)
    assert pipeline.deliveries == []
    pipeline.store.down = False  # the client's retry with the same clientMsgID is a first store
    out = await pipeline.send.send(text("alice", "bob", "retry-me"), operation_id="op", sender=Sender("alice", 5))
    assert (out.seq, out.duplicate) == (1, False)
    with trio.fail_after(5):
        await pipeline.arrived.wait()
    assert len(pipeline.deliveries) == 1


async def test_the_same_message_submitted_twice_at_once_is_stored_once(pipeline: Pipeline) -> None:
    jobs: list[SendJob] = []
    both = trio.Event()

    def on_done(job: SendJob) -> None:
        jobs.append(job)
        if len(jobs) == 2:
            both.set()

    for _ in range(2):
        await pipeline.send.submit(
            text("alice", "bob", "twice"), operation_id="op", sender=Sender("alice", 5), on_done=on_done
        )
    with trio.fail_after(5):
        await both.wait()
    assert [j.err_code for j in jobs] == [0, 0]
    assert [j.seq for j in jobs] == [1, 1]
    assert [j.duplicate for j in jobs] == [False, True]
    assert len({j.server_msg_id for j in jobs}) == 1
    seqs = await pipeline.store.get_conversation_seqs([jobs[0].conversation_id])
    assert seqs[jobs[0].conversation_id].max_seq == 1

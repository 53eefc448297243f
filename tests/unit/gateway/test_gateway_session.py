"""A session without sockets: a fake connection, fake services, trio's testing clock.

Covers request dispatch and its error rules, the reply-then-echo order of 1003, pings answered while
a request is stuck, the connection-fatal conditions, the outbound queue overflow, kicks, logout and
the idle timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from openim.gateway.requests import Dispatcher
from openim.gateway.session import Session, SessionLimits
from openim.gateway.transport import TransportClosed
from openim.ops.metrics import Metrics
from openim.services.push import push_frame
from openim.pipeline.msg import Sender, SendOutcome
from openim.wire.envelope import KICK_FRAME, PONG_TEXT, decode_response, encode_request
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import msg_pb2, sdkws_pb2

pytestmark = pytest.mark.trio

USER = "u1"


class FakeConnection:
    """Frames in through ``feed``; frames out recorded in ``sent``; ``hold_sends`` stalls the writer."""

    remote = "test:1"

    def __init__(self) -> None:
        self._in_send, self._in_recv = trio.open_memory_channel[str | bytes](100)
        self.sent: list[str | bytes] = []
        self.writes = 0  # send_many calls: frames queued together leave in one write
        self.closed: tuple[int, str] | None = None
        self.hold_sends = False
        self.release = trio.Event()

    def feed(self, frame: str | bytes) -> None:
        self._in_send.send_nowait(frame)

    def hang_up(self) -> None:
        self._in_send.close()

    async def receive(self) -> str | bytes:
        try:
            return await self._in_recv.receive()
        except trio.EndOfChannel:
            raise TransportClosed(1000, "bye") from None

    async def send(self, frame: str | bytes) -> None:
        if self.closed is not None:
            raise TransportClosed(*self.closed)
        if self.hold_sends:
            await self.release.wait()
        self.sent.append(frame)

    async def send_many(self, frames: Sequence[str | bytes]) -> None:
        self.writes += 1
        for frame in frames:
            await self.send(frame)

    async def ping(self) -> None:
        await trio.sleep_forever()

    async def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = (code, reason)

    def replies(self) -> list[tuple[int, str, str, int, bytes | None]]:
        out = []
        for f in self.sent:
            assert isinstance(f, bytes), f
            r = decode_response(f)
            out.append((r.req_identifier, r.msg_incr, r.operation_id, r.err_code, r.data))
        return out


@dataclass
class FakeSync:
    calls: list[tuple[str, object]] = field(default_factory=list)
    fail_with: Exception | None = None

    async def newest_seq(self, user_id: str) -> sdkws_pb2.GetMaxSeqResp:
        self.calls.append(("newest_seq", user_id))
        return sdkws_pb2.GetMaxSeqResp(maxSeqs={"si_u1_u2": 3})

    async def pull_by_range(self, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
        self.calls.append(("pull_by_range", req.userID))
        return sdkws_pb2.PullMessageBySeqsResp()

    async def pull_by_seqs(self, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp:
        self.calls.append(("pull_by_seqs", req.userID))
        resp = msg_pb2.GetSeqMessageResp()
        resp.msgs["si_u1_u2"].Msgs.add(seq=1)
        return resp

    async def has_read_and_max_seq(
        self, user_id: str, conversation_ids: Sequence[str], return_pinned: bool = False
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        self.calls.append(("has_read_and_max_seq", (user_id, list(conversation_ids))))
        if self.fail_with is not None:
            raise self.fail_with
        resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
        resp.seqs["si_u1_u2"].maxSeq = 7
        return resp

    async def last_messages(self, user_id: str, conversation_ids: Sequence[str]) -> msg_pb2.GetLastMessageResp:
        self.calls.append(("last_messages", user_id))
        return msg_pb2.GetLastMessageResp()


@dataclass
class FakeSender:
    gate: trio.Event | None = None
    senders: list[Sender] = field(default_factory=list)
    echo: bool = True

    async def send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender) -> SendOutcome:
        self.senders.append(sender)
        if self.gate is not None:
            await self.gate.wait()
        stored = sdkws_pb2.MsgData()
        stored.CopyFrom(msg)
        stored.seq, stored.status, stored.serverMsgID = 1, 2, "smid"
        return SendOutcome("smid", msg.clientMsgID, 1234, 1, "si_u1_u2", echo=stored if self.echo else None)


@dataclass
class FakeOnline:
    platforms: dict[str, list[int]] = field(default_factory=dict)

    async def online_platforms(self, user_ids: Sequence[str]) -> dict[str, list[int]]:
        return {u: self.platforms[u] for u in user_ids if u in self.platforms}


@dataclass
class FakeSubs:
    subs: dict[str, set[str]] = field(default_factory=dict)

    def update_subscriptions(
        self, conn_id: str, subscribe: Sequence[str], unsubscribe: Sequence[str], *, limit: int
    ) -> bool:
        current = self.subs.setdefault(conn_id, set())
        current.difference_update(unsubscribe)
        current.update(subscribe)
        return True


@dataclass
class Rig:
    conn: FakeConnection
    session: Session
    sync: FakeSync
    sender: FakeSender
    metrics: Metrics
    subs: FakeSubs


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    limits = getattr(request, "param", SessionLimits(idle_timeout=30.0, outbound_frames=8))
    metrics = Metrics("n1", ("gateway",))
    sync, sender, subs = FakeSync(), FakeSender(), FakeSubs()
    online = FakeOnline({"u2": [5, 2, 5]})
    dispatcher = Dispatcher(sync=sync, sender=sender, online=online, subscriptions=subs, metrics=metrics)
    conn = FakeConnection()
    session = Session(
        conn,
        conn_id="c1",
        user_id=USER,
        platform_id=5,
        token="tok",
        is_admin=False,
        dispatcher=dispatcher,
        metrics=metrics,
        limits=limits,
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.run)
        yield Rig(conn, session, sync, sender, metrics, subs)
        nursery.cancel_scope.cancel()


def req(req_id: int, data: bytes = b"", *, msg_incr: str = "m1", op: str = "op1", send_id: str = USER) -> bytes:
    return encode_request(req_id, msg_incr, send_id, op, data)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


# -- dispatch ----------------------------------------------------------------------------------------------


async def test_1006_reply_echoes_msg_incr_and_operation_id(rig: Rig) -> None:
    get = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER, conversationIDs=["si_u1_u2"])
    rig.conn.feed(req(1006, get.SerializeToString(), msg_incr="abc", op="op-9"))
    await settle()
    [(rid, incr, op, code, data)] = rig.conn.replies()
    assert (rid, incr, op, code) == (1006, "abc", "op-9", 0)
    assert data is not None
    assert msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(data).seqs["si_u1_u2"].maxSeq == 7
    assert rig.sync.calls == [("has_read_and_max_seq", (USER, ["si_u1_u2"]))]


@pytest.mark.parametrize(
    ("req_id", "payload"),
    [
        (1001, sdkws_pb2.GetMaxSeqReq(userID="u2")),
        (1002, sdkws_pb2.PullMessageBySeqsReq(userID="u2")),
        (1005, msg_pb2.GetSeqMessageReq(userID="u2")),
        (1006, msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="")),
        (1007, msg_pb2.GetLastMessageReq(userID="u2")),
    ],
)
async def test_requests_naming_another_user_get_1002(rig: Rig, req_id: int, payload: object) -> None:
    rig.conn.feed(req(req_id, payload.SerializeToString()))  # type: ignore[attr-defined]
    await settle()
    assert rig.conn.replies() == [(req_id, "m1", "op1", 1002, None)]
    assert rig.sync.calls == []
    assert rig.conn.closed is None


async def test_own_pulls_reach_the_sync_service(rig: Rig) -> None:
    rig.conn.feed(req(1001, sdkws_pb2.GetMaxSeqReq(userID=USER).SerializeToString(), msg_incr="a"))
    rig.conn.feed(req(1005, msg_pb2.GetSeqMessageReq(userID=USER).SerializeToString(), msg_incr="b"))
    rig.conn.feed(req(1002, sdkws_pb2.PullMessageBySeqsReq(userID=USER).SerializeToString(), msg_incr="c"))
    await settle()
    assert [r[:2] for r in rig.conn.replies()] == [(1001, "a"), (1005, "b"), (1002, "c")]
    assert [c[0] for c in rig.sync.calls] == ["newest_seq", "pull_by_seqs", "pull_by_range"]
    data = rig.conn.replies()[0][4]
    assert data is not None
    assert dict(sdkws_pb2.GetMaxSeqResp.FromString(data).maxSeqs) == {"si_u1_u2": 3}


async def test_1003_reply_comes_before_the_echo_with_the_same_operation_id(rig: Rig) -> None:
    msg = sdkws_pb2.MsgData(sendID=USER, recvID="u2", clientMsgID="c1", sessionType=1, contentType=101)
    rig.conn.feed(req(1003, msg.SerializeToString(), msg_incr="s1", op="op-send"))
    await settle()
    [reply, echo] = rig.conn.replies()
    assert reply[:4] == (1003, "s1", "op-send", 0)
    assert reply[4] is not None
    ack = msg_pb2.SendMsgResp.FromString(reply[4])
    assert (ack.serverMsgID, ack.clientMsgID, ack.sendTime) == ("smid", "c1", 1234)
    assert echo[:4] == (2001, "", "op-send", 0)
    assert echo[4] is not None
    pushed = sdkws_pb2.PushMessages.FromString(echo[4]).msgs["si_u1_u2"].Msgs
    assert [(m.clientMsgID, m.seq) for m in pushed] == [("c1", 1)]
    # the echo is exactly the frame the push stage would have built
    expected = sdkws_pb2.MsgData()
    expected.CopyFrom(msg)
    expected.seq, expected.status, expected.serverMsgID = 1, 2, "smid"
    assert rig.conn.sent[1] == push_frame("si_u1_u2", expected.SerializeToString(), "op-send")
    assert rig.sender.senders == [Sender(USER, 5, False, "c1")]


async def test_1003_without_echo_sends_only_the_reply(rig: Rig) -> None:
    rig.sender.echo = False
    rig.conn.feed(req(1003, sdkws_pb2.MsgData(sendID=USER, clientMsgID="c2").SerializeToString()))
    await settle()
    assert [r[0] for r in rig.conn.replies()] == [1003]


async def test_pings_are_answered_while_a_request_is_stuck(rig: Rig) -> None:
    rig.sender.gate = trio.Event()
    rig.conn.feed(req(1003, sdkws_pb2.MsgData(sendID=USER, clientMsgID="c3").SerializeToString(), op="slow"))
    rig.conn.feed('{"type":"ping"}')
    rig.conn.feed(
        req(1006, msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER).SerializeToString(), msg_incr="m2")
    )
    await settle()
    assert rig.conn.sent == [PONG_TEXT]  # the 1006 waits behind the 1003: one request at a time
    rig.sender.gate.set()
    await settle()
    frames = [decode_response(f) for f in rig.conn.sent[1:]]
    assert [(f.req_identifier, f.operation_id) for f in frames] == [(1003, "slow"), (2001, "slow"), (1006, "op1")]


async def test_service_errors_are_replied_and_the_connection_stays(rig: Rig) -> None:
    rig.sync.fail_with = OpenIMError(ErrCode.MUTED_GROUP, "muted")
    data = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER).SerializeToString()
    rig.conn.feed(req(1006, data, msg_incr="e1"))
    await settle()
    rig.sync.fail_with = RuntimeError("bug")
    rig.conn.feed(req(1006, data, msg_incr="e2"))
    rig.conn.feed(req(1006, b"\xff\xff", msg_incr="e3"))
    rig.conn.feed(req(1004, msg_incr="e4"))
    rig.conn.feed('{"type":"ping"}')
    await settle()
    frames = rig.conn.sent
    assert frames[-1] == PONG_TEXT
    errors = [decode_response(f) for f in frames[:-1]]
    assert [(e.msg_incr, e.err_code, e.err_msg, e.data) for e in errors] == [
        ("e1", 1403, "MutedGroup", None),
        ("e2", 500, "ServerInternalError", None),
        ("e3", 1001, "ArgsError", None),
        ("e4", 1001, "ArgsError", None),
    ]
    assert rig.conn.closed is None
    assert rig.metrics.registry.get_sample_value("openim_gateway_request_errors_total", {"code": "500"}) == 1


async def test_2004_sets_background_and_2005_replies_with_platforms(rig: Rig) -> None:
    rig.conn.feed(req(2004, sdkws_pb2.SetAppBackgroundStatusReq(userID=USER, isBackground=True).SerializeToString()))
    sub = sdkws_pb2.SubUserOnlineStatus(subscribeUserID=["u2", "u3", "u2"], unsubscribeUserID=["u9"])
    rig.conn.feed(req(2005, sub.SerializeToString(), msg_incr="s"))
    await settle()
    assert rig.session.background is True
    [bg, status] = rig.conn.replies()
    assert bg == (2004, "m1", "op1", 0, None)
    assert status[4] is not None
    tips = sdkws_pb2.SubUserOnlineStatusTips.FromString(status[4])
    assert [(e.userID, list(e.onlinePlatformIDs)) for e in tips.subscribers] == [("u2", [2, 5]), ("u3", [])]
    assert rig.subs.subs == {"c1": {"u2", "u3"}}


async def test_logout_replies_then_closes(rig: Rig) -> None:
    rig.conn.feed(req(2003, msg_incr="bye"))
    rig.conn.feed(req(1006, msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER).SerializeToString()))
    await settle()
    assert [r[:2] for r in rig.conn.replies()] == [(2003, "bye")]
    assert rig.conn.closed == (1000, "logout")
    assert rig.session.ended


# -- connection-fatal ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        req(1006, send_id="u2"),  # sendID is not the connection's user
        req(9999),
        req(2001),
        req(2002),
        req(2100),
        req(3001),
        b"not json",
        b'{"reqIdentifier":"1006"}',
        '{"type":"hello"}',
        "ping",
    ],
)
async def test_protocol_violations_close_without_reply(rig: Rig, frame: str | bytes) -> None:
    rig.conn.feed(frame)
    await settle()
    assert rig.conn.sent == []
    assert rig.conn.closed == (1008, "protocol error")


async def test_peer_hang_up_ends_the_session(rig: Rig) -> None:
    rig.conn.hang_up()
    await settle()
    assert rig.session.ended
    assert rig.session.close_reason == "closed by peer"


# -- outbound queue ----------------------------------------------------------------------------------------------


async def test_a_slow_consumer_is_dropped_when_its_queue_overflows(rig: Rig) -> None:
    rig.conn.hold_sends = True
    assert rig.session.push(b"first")  # taken by the writer, which then blocks in send
    await settle()
    assert all(rig.session.push(f"f{i}".encode()) for i in range(8))  # fills the queue (8)
    assert rig.session.push(b"one too many") is False
    assert rig.metrics.registry.get_sample_value("openim_push_dropped_total") == 1
    await settle()
    assert rig.conn.closed == (1013, "slow consumer")
    assert rig.session.push(b"after") is False


async def test_kick_writes_2002_then_closes(rig: Rig) -> None:
    rig.session.push(b"earlier push")
    rig.session.kick()
    assert rig.session.push(b"late push") is False
    await settle()
    assert rig.conn.sent == [b"earlier push", KICK_FRAME]
    assert rig.conn.closed == (1000, "kicked")


async def test_frames_queued_together_leave_in_one_write(rig: Rig) -> None:
    await settle()
    before = rig.conn.writes
    for i in range(5):
        rig.session.push(f"frame {i}".encode())
    await settle()
    assert rig.conn.sent[-5:] == [f"frame {i}".encode() for i in range(5)]
    assert rig.conn.writes - before == 1


# -- timers ---------------------------------------------------------------------------------------------------------


async def test_idle_timeout_closes_and_any_frame_rearms_it(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await trio.sleep(29)
    rig.conn.feed('{"type":"pong"}')
    await trio.sleep(29)  # 58 s since start, 29 since the last frame
    assert rig.conn.closed is None
    await trio.sleep(2)
    assert rig.conn.closed == (1000, "idle timeout")

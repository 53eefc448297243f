"""A session without sockets: a fake connection, fake services, trio's testing clock.

Covers request dispatch and its error rules, the deferred 1003 (reply then echo, after the send
completes, while the reader goes on), pings answered while a send is pending, the connection-fatal
conditions, the outbound backlog limit, kicks, logout and the idle timeout.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from openim.gateway.outbox import Outbox, Pinger
from openim.gateway.requests import Dispatcher
from openim.gateway.session import Session, SessionLimits
from openim.gateway.transport import TransportClosed
from openim.ops.metrics import Metrics
from openim.pipeline.jobs import PushJob, SendJob, push_messages_bytes
from openim.pipeline.msg import OnDone, Pending, Sender
from openim.wire.envelope import KICK_FRAME, PONG_TEXT, decode_response, encode_push, encode_request
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, sdkws_pb2

pytestmark = pytest.mark.trio

USER = "u1"
CONV = "si_u1_u2"


class FakeConnection:
    """The WsConnection protocol in memory.

    Frames in through ``feed`` (everything fed before the reader wakes comes back from one ``receive``,
    as one socket read of several frames does); frames out are queued and reach ``sent`` on a flush;
    ``writes`` counts the flushes that wrote something. ``hold_sends`` is a full kernel buffer:
    ``flush_nowait`` writes nothing and ``flush`` waits for ``release``.
    """

    remote = "test:1"

    def __init__(self) -> None:
        self._in_send, self._in_recv = trio.open_memory_channel[str | bytes](100)
        self._out: list[str | bytes] = []
        self.sent: list[str | bytes] = []
        self.writes = 0
        self.closed: tuple[int, str] | None = None
        self.hold_sends = False
        self.release = trio.Event()
        self.close_sent: tuple[int, str] | None = None  # a close frame sent without waiting (a drain)
        self.close_hangs = False  # close() waits for an answer that never comes

    def feed(self, frame: str | bytes) -> None:
        self._in_send.send_nowait(frame)

    def hang_up(self) -> None:
        self._in_send.close()

    async def receive(self) -> list[str | bytes]:
        try:
            frames = [await self._in_recv.receive()]
        except trio.EndOfChannel:
            raise TransportClosed(1000, "bye") from None
        while True:
            try:
                frames.append(self._in_recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return frames

    def queue(self, frame: str | bytes) -> None:
        self._out.append(frame)

    def _write(self) -> None:
        if self._out:
            self.writes += 1
            self.sent.extend(self._out)
            self._out.clear()

    def flush_nowait(self) -> bool:
        if self.closed is not None:
            self._out.clear()
            return True
        if self.hold_sends:
            return not self._out
        self._write()
        return True

    async def flush(self) -> None:
        if self.closed is not None:
            raise TransportClosed(*self.closed)
        if self.hold_sends:
            await self.release.wait()
        self._write()

    async def send(self, frame: str | bytes) -> None:
        self.queue(frame)
        await self.flush()

    async def ping(self) -> None:
        await trio.sleep_forever()

    async def close(self, code: int, reason: str) -> None:
        # Like the real transport: what was queued goes first, then the close frame.
        if self.closed is None:
            if not self.hold_sends:
                self._write()
            self.closed = (code, reason)
            if self.close_hangs:
                await trio.sleep_forever()

    def replies(self) -> list[tuple[int, str, str, int, bytes | None]]:
        out = []
        for f in self.sent:
            assert isinstance(f, bytes), f
            r = decode_response(f)
            out.append((r.req_identifier, r.msg_incr, r.operation_id, r.err_code, r.data))
        return out


class FakeReactor:
    """The gateway's reactor (openim.gateway.reactor) without an epoll: a fed connection is readable."""

    def __init__(self) -> None:
        self.readers: dict[int, object] = {}
        self._wake = trio.lowlevel.ParkingLot()
        self._ready = False  # level-triggered, as epoll: a feed before run() parks is not lost

    def add(self, fd: int, reader: object) -> None:
        assert fd not in self.readers
        self.readers[fd] = reader

    def discard(self, fd: int, reader: object) -> None:
        if self.readers.get(fd) is reader:
            del self.readers[fd]

    def readable(self) -> None:
        self._ready = True
        self._wake.unpark_all()

    async def run(self) -> None:
        while True:
            if not self._ready:
                await self._wake.park()
            self._ready = False
            for reader in list(self.readers.values()):
                reader.on_readable()  # type: ignore[attr-defined]


class FakePolledConnection(FakeConnection):
    """A FakeConnection read through a FakeReactor: ``read_nowait`` returns what was fed since the last
    read (everything fed before the reactor runs comes back from one read)."""

    def __init__(self, reactor: FakeReactor) -> None:
        super().__init__()
        self._reactor = reactor
        self._inbox: list[str | bytes] = []
        self._hung_up = False

    def fileno(self) -> int:
        return 7

    def feed(self, frame: str | bytes) -> None:
        self._inbox.append(frame)
        self._reactor.readable()

    def hang_up(self) -> None:
        self._hung_up = True
        self._reactor.readable()

    def read_nowait(self) -> tuple[list[str | bytes], TransportClosed | None]:
        frames, self._inbox = self._inbox, []
        return frames, TransportClosed(1000, "bye") if self._hung_up else None

    def send_close_nowait(self, code: int, reason: str) -> None:
        if self.close_sent is None:
            self._write()
            self.close_sent = (code, reason)


@dataclass
class FakeSync:
    calls: list[tuple[str, object]] = field(default_factory=list)
    fail_with: Exception | None = None

    async def newest_seq(self, user_id: str) -> sdkws_pb2.GetMaxSeqResp:
        self.calls.append(("newest_seq", user_id))
        return sdkws_pb2.GetMaxSeqResp(maxSeqs={CONV: 3})

    async def pull_by_range(self, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
        self.calls.append(("pull_by_range", req.userID))
        return sdkws_pb2.PullMessageBySeqsResp()

    async def pull_by_seqs(self, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp:
        self.calls.append(("pull_by_seqs", req.userID))
        resp = msg_pb2.GetSeqMessageResp()
        resp.msgs[CONV].Msgs.add(seq=1)
        return resp

    async def has_read_and_max_seq(
        self, user_id: str, conversation_ids: Sequence[str], return_pinned: bool = False
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        self.calls.append(("has_read_and_max_seq", (user_id, list(conversation_ids))))
        if self.fail_with is not None:
            raise self.fail_with
        resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
        resp.seqs[CONV].maxSeq = 7
        return resp

    async def last_messages(self, user_id: str, conversation_ids: Sequence[str]) -> msg_pb2.GetLastMessageResp:
        self.calls.append(("last_messages", user_id))
        return msg_pb2.GetLastMessageResp()


def submitted_job(msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender) -> SendJob:
    """What the msg stage hands to the transfer stage for ``msg`` (already stamped)."""
    return SendJob(
        payload=msg.SerializeToString(), send_id=msg.sendID, recv_id=msg.recvID, group_id=msg.groupID,
        client_msg_id=msg.clientMsgID, server_msg_id=msg.serverMsgID, send_time=msg.sendTime,
        session_type=msg.sessionType, content_type=msg.contentType, conversation_id=CONV, conversation_type=1,
        owners=(msg.sendID, msg.recvID), reader_user_id=msg.sendID, recipients=(msg.recvID, msg.sendID),
        operation_id=operation_id, origin_node="n1", origin_conn=sender.conn_id,
    )


@dataclass
class FakeSender:
    """The msg stage plus a transfer stage: ``submit`` stamps and queues; ``serve`` (another task, like
    the transfer stage) completes what was queued, unless ``hold`` is set: then the test calls
    ``complete`` itself. ``refuse`` makes ``submit`` raise (a refusal answered at once)."""

    hold: bool = False
    echo: bool = True
    refuse: OpenIMError | None = None
    nowait: bool = False
    senders: list[Sender] = field(default_factory=list)
    jobs: list[SendJob] = field(default_factory=list)
    pending: list[tuple[SendJob, OnDone]] = field(default_factory=list)
    wake: trio.Event = field(default_factory=trio.Event)

    async def submit(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        self._take(msg, operation_id, sender, on_done)

    def submit_nowait(
        self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone
    ) -> Pending | None:
        """With ``nowait`` the send is queued here (its checks cached); without it what is left must be
        awaited (a cache miss), so the session's own task finishes it."""
        if self.nowait:
            self._take(msg, operation_id, sender, on_done)
            return None

        async def rest() -> None:
            await trio.lowlevel.checkpoint()  # a read, as a cache miss would
            self._take(msg, operation_id, sender, on_done)

        return rest

    def _take(self, msg: sdkws_pb2.MsgData, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        self.senders.append(sender)
        if self.refuse is not None:
            raise self.refuse
        msg.serverMsgID, msg.sendTime, msg.status = "smid", 1234, 2
        job = submitted_job(msg, operation_id, sender)
        job.want_echo = self.echo
        self.jobs.append(job)
        self.pending.append((job, on_done))
        self.wake.set()

    def complete(self, *, err_code: int = 0, duplicate: bool = False) -> None:
        """The transfer stage's outcome for every pending job: stored with seq 1 (or a duplicate of an
        earlier one), or refused with ``err_code``."""
        pending, self.pending = self.pending, []
        for job, on_done in pending:
            if err_code:
                job.err_code, job.err_detail = err_code, "storage unavailable"
            else:
                job.seq, job.duplicate = 1, duplicate
                if not duplicate:
                    job.push = PushJob(
                        job.conversation_id, with_seq(job.payload, 1), job.operation_id,
                        exclude_conn=f"n1/{job.origin_conn}", recipients=job.recipients,
                    )
            on_done(job)

    async def serve(self) -> None:
        while True:
            await self.wake.wait()
            self.wake = trio.Event()
            if not self.hold:
                self.complete()


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


# How the session is read: by its own task ("task"), or by the gateway's reactor with every send's
# checks cached ("polled") or with each send finished by the session's own task ("polled-waiting").
READ_MODES = ["task", "polled", "polled-waiting"]


@pytest.fixture(params=READ_MODES)
def read_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def rig(request: pytest.FixtureRequest, read_mode: str) -> AsyncIterator[Rig]:
    limits = getattr(request, "param", SessionLimits(idle_timeout=30.0, outbound_frames=8))
    metrics = Metrics("n1", ("gateway",))
    sync, sender, subs = FakeSync(), FakeSender(nowait=read_mode == "polled"), FakeSubs()
    online = FakeOnline({"u2": [5, 2, 5]})
    dispatcher = Dispatcher(sync=sync, sender=sender, online=online, subscriptions=subs, metrics=metrics)
    reactor = FakeReactor() if read_mode != "task" else None
    conn = FakeConnection() if reactor is None else FakePolledConnection(reactor)
    outbox = Outbox()
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
        outbox=outbox,
        reactor=reactor,
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        nursery.start_soon(sender.serve)
        if reactor is not None:
            nursery.start_soon(reactor.run)
        nursery.start_soon(session.run)
        yield Rig(conn, session, sync, sender, metrics, subs)
        nursery.cancel_scope.cancel()


def req(req_id: int, data: bytes = b"", *, msg_incr: str = "m1", op: str = "op1", send_id: str = USER) -> bytes:
    return encode_request(req_id, msg_incr, send_id, op, data)


def text_msg(client_msg_id: str) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(sendID=USER, recvID="u2", clientMsgID=client_msg_id, sessionType=1, contentType=101)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


# -- dispatch ----------------------------------------------------------------------------------------------


async def test_1006_reply_echoes_msg_incr_and_operation_id(rig: Rig) -> None:
    get = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER, conversationIDs=[CONV])
    rig.conn.feed(req(1006, get.SerializeToString(), msg_incr="abc", op="op-9"))
    await settle()
    [(rid, incr, op, code, data)] = rig.conn.replies()
    assert (rid, incr, op, code) == (1006, "abc", "op-9", 0)
    assert data is not None
    assert msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(data).seqs[CONV].maxSeq == 7
    assert rig.sync.calls == [("has_read_and_max_seq", (USER, [CONV]))]


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
    assert dict(sdkws_pb2.GetMaxSeqResp.FromString(data).maxSeqs) == {CONV: 3}


# -- 1003: deferred reply, then the echo ---------------------------------------------------------------------


async def test_1003_reply_comes_before_the_echo_with_the_same_operation_id(rig: Rig) -> None:
    msg = text_msg("c1")
    rig.conn.feed(req(1003, msg.SerializeToString(), msg_incr="s1", op="op-send"))
    await settle()
    [reply, echo] = rig.conn.replies()
    assert reply[:4] == (1003, "s1", "op-send", 0)
    assert reply[4] is not None
    ack = msg_pb2.SendMsgResp.FromString(reply[4])
    assert (ack.serverMsgID, ack.clientMsgID, ack.sendTime) == ("smid", "c1", 1234)
    assert echo[:4] == (2001, "", "op-send", 0)
    assert echo[4] is not None
    # the echo carries the stored message: the request's MsgData with seq, status and server fields set
    expected = sdkws_pb2.MsgData()
    expected.CopyFrom(msg)
    expected.seq, expected.status, expected.serverMsgID, expected.sendTime = 1, 2, "smid", 1234
    [pushed] = sdkws_pb2.PushMessages.FromString(echo[4]).msgs[CONV].Msgs
    assert pushed == expected
    # and it is exactly the frame the push stage writes to the other connections (encoded once, shared)
    [job] = rig.sender.jobs
    assert job.push is not None
    assert rig.conn.sent[1] is job.push.frame
    assert job.push.frame == encode_push(push_messages_bytes(CONV, with_seq(job.payload, 1)), "op-send")
    assert rig.sender.senders == [Sender(USER, 5, False, "c1")]


async def test_1003_without_echo_sends_only_the_reply(rig: Rig) -> None:
    rig.sender.echo = False
    rig.conn.feed(req(1003, text_msg("c2").SerializeToString()))
    await settle()
    assert [r[0] for r in rig.conn.replies()] == [1003]


async def test_1003_duplicate_gets_the_reply_and_no_second_echo(rig: Rig) -> None:
    rig.sender.hold = True
    rig.conn.feed(req(1003, text_msg("c2").SerializeToString(), msg_incr="d"))
    await settle()
    rig.sender.complete(duplicate=True)  # pushed when first stored: no echo now
    await settle()
    [(rid, incr, _op, code, data)] = rig.conn.replies()
    assert (rid, incr, code) == (1003, "d", 0)
    assert data is not None and msg_pb2.SendMsgResp.FromString(data).clientMsgID == "c2"


async def test_1003_that_could_not_be_stored_is_answered_with_the_code(rig: Rig) -> None:
    rig.sender.hold = True
    rig.conn.feed(req(1003, text_msg("c5").SerializeToString(), msg_incr="x", op="op-x"))
    await settle()
    assert rig.conn.sent == []  # nothing before the outcome
    rig.sender.complete(err_code=ErrCode.DATABASE)
    await settle()
    assert rig.conn.replies() == [(1003, "x", "op-x", 90002, None)]
    assert decode_response(rig.conn.sent[0]).err_msg == "DatabaseError"
    assert rig.metrics.registry.get_sample_value("openim_gateway_request_errors_total", {"code": "90002"}) == 1
    assert rig.conn.closed is None


async def test_1003_refused_by_the_msg_stage_is_answered_at_once(rig: Rig) -> None:
    rig.sender.refuse = OpenIMError(ErrCode.NOT_IN_GROUP_YET, "no such group")
    rig.conn.feed(req(1003, text_msg("c6").SerializeToString(), msg_incr="r"))
    await settle()
    assert rig.conn.replies() == [(1003, "r", "op1", int(ErrCode.NOT_IN_GROUP_YET), None)]
    assert rig.sender.pending == []


async def test_the_reader_goes_on_while_a_send_is_pending(rig: Rig) -> None:
    rig.sender.hold = True
    rig.conn.feed(req(1003, text_msg("c3").SerializeToString(), msg_incr="s", op="slow"))
    rig.conn.feed('{"type":"ping"}')
    rig.conn.feed(
        req(1006, msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=USER).SerializeToString(), msg_incr="m2")
    )
    await settle()
    # the 1003 waits for its commit; the ping and the 1006 behind it are answered meanwhile, in order
    assert rig.conn.sent[0] == PONG_TEXT
    assert [(f.req_identifier, f.msg_incr) for f in map(decode_response, rig.conn.sent[1:])] == [(1006, "m2")]
    rig.sender.complete()
    await settle()
    frames = [decode_response(f) for f in rig.conn.sent[2:]]
    assert [(f.req_identifier, f.operation_id) for f in frames] == [(1003, "slow"), (2001, "slow")]


async def test_sends_in_one_read_are_answered_in_order_each_reply_before_its_echo(rig: Rig) -> None:
    rig.sender.hold = True
    for i in range(3):
        rig.conn.feed(req(1003, text_msg(f"b{i}").SerializeToString(), msg_incr=f"i{i}", op=f"o{i}"))
    await settle()
    assert len(rig.sender.pending) == 3 and rig.conn.sent == []
    writes = rig.conn.writes
    rig.sender.complete()  # one batch stored: six frames, one write
    await settle()
    frames = [decode_response(f) for f in rig.conn.sent]
    assert [(f.req_identifier, f.operation_id) for f in frames] == [
        (1003, "o0"), (2001, "o0"), (1003, "o1"), (2001, "o1"), (1003, "o2"), (2001, "o2"),
    ]
    assert rig.conn.writes - writes == 1


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


async def test_logout_then_close_in_separate_reads(rig: Rig) -> None:
    rig.conn.feed(req(2003, msg_incr="bye"))
    await settle()
    assert [r[:2] for r in rig.conn.replies()] == [(2003, "bye")]
    assert rig.conn.closed == (1000, "logout")
    assert rig.session.push(b"late") is False



async def test_nothing_after_a_logout_in_the_same_read_is_handled(rig: Rig) -> None:
    rig.conn.feed(req(2003, msg_incr="bye"))
    rig.conn.feed(req(1003, text_msg("after-logout").SerializeToString()))
    await settle()
    assert rig.conn.closed == (1000, "logout")
    assert rig.sender.senders == []

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


async def test_a_send_completing_after_the_close_writes_nothing(rig: Rig) -> None:
    rig.sender.hold = True
    rig.conn.feed(req(1003, text_msg("c9").SerializeToString()))
    await settle()
    rig.conn.hang_up()
    await settle()
    assert rig.session.ended
    rig.sender.complete()  # the transfer stage answers a connection that is gone: no error, nothing written
    await settle()
    assert rig.conn.sent == []


# -- drain: close frames without waiting, abort, a cancel from outside ------------------------------------------


async def test_go_away_sends_the_close_frame_at_once_and_ends_when_the_peer_answers(
    rig: Rig, read_mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openim")
    await settle()  # the session is being read
    rig.session.go_away(1001, "going away")
    assert rig.session.ended and not rig.session.push(PONG_TEXT)  # nothing more is queued after it
    await settle()
    if read_mode == "task":  # no reactor to read the answer: ended as by end()
        assert rig.conn.closed == (1001, "going away")
    else:
        assert rig.conn.close_sent == (1001, "going away")  # sent from the caller, no task involved
        assert rig.conn.closed is None  # the session waits for the peer's answer (read by the reactor)
        rig.conn.hang_up()  # the answer
        await settle()
        assert rig.conn.closed is not None
    assert (rig.session.close_code, rig.session.close_reason) == (1001, "going away")
    assert [r.getMessage() for r in caplog.records].count("conn.closed") == 1


async def test_abort_ends_a_session_still_waiting_for_the_answer_to_its_close(rig: Rig) -> None:
    await settle()
    rig.session.go_away(1001, "going away")
    await settle()
    rig.session.abort(1001, "going away")
    await settle()
    assert rig.conn.closed == (1001, "going away")
    assert rig.session.close_reason == "going away"


def _lone_session(conn: FakeConnection) -> Session:
    metrics = Metrics("n1", ("gateway",))
    dispatcher = Dispatcher(
        sync=FakeSync(), sender=FakeSender(), online=FakeOnline({}), subscriptions=FakeSubs(), metrics=metrics
    )
    return Session(conn, conn_id="c1", user_id=USER, platform_id=5, token="tok", is_admin=False,
                   dispatcher=dispatcher, metrics=metrics, limits=SessionLimits(), outbox=Outbox())


async def test_a_close_handshake_that_never_ends_is_cut_short_by_abort() -> None:
    conn = FakeConnection()
    conn.close_hangs = True
    session = _lone_session(conn)
    done = trio.Event()

    async def run() -> None:
        await session.run()
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await settle()
        session.end(1000, "bye")
        await settle()
        assert conn.closed == (1000, "bye") and not done.is_set()  # in its close handshake
        session.abort(1001, "going away")
        with trio.fail_after(1):
            await done.wait()
    assert session.close_reason == "bye"  # the first reason stays


async def test_a_session_cancelled_from_outside_does_not_wait_on_its_way_out() -> None:
    # The process stops past its grace: the runtime cancels everything; the shielded close must not hold it.
    conn = FakeConnection()
    conn.close_hangs = True
    session = _lone_session(conn)
    with trio.fail_after(1):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session.run)
            await settle()
            nursery.cancel_scope.cancel()
    assert conn.closed is not None


# -- outbound backlog ----------------------------------------------------------------------------------------------


async def test_a_slow_consumer_is_dropped_when_its_backlog_overflows(rig: Rig) -> None:
    await settle()
    rig.conn.hold_sends = True  # the kernel buffer is full: nothing queued from now on leaves
    assert rig.session.push(b"first")
    await settle()  # the flush wrote nothing: a task now waits for the socket
    assert rig.conn.sent == []
    assert all(rig.session.push(f"f{i}".encode()) for i in range(7))  # 8 unwritten frames: the limit
    assert rig.session.push(b"one too many") is False
    assert rig.metrics.registry.get_sample_value("openim_push_dropped_total") == 1
    await settle()
    assert rig.conn.closed == (1013, "slow consumer")
    assert rig.session.push(b"after") is False


async def test_a_backlog_written_in_time_is_not_dropped(rig: Rig) -> None:
    await settle()
    rig.conn.hold_sends = True
    for i in range(8):
        assert rig.session.push(f"f{i}".encode())
    await settle()
    rig.conn.hold_sends = False
    rig.conn.release.set()  # the socket takes everything: the backlog starts over
    await settle()
    assert rig.conn.sent == [f"f{i}".encode() for i in range(8)]
    assert all(rig.session.push(f"g{i}".encode()) for i in range(8))
    await settle()
    assert rig.conn.sent[8:] == [f"g{i}".encode() for i in range(8)]
    assert rig.conn.closed is None
    assert rig.metrics.registry.get_sample_value("openim_push_dropped_total") == 0


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


async def test_frames_queued_before_run_leave_first() -> None:
    metrics = Metrics("n1", ("gateway",))
    dispatcher = Dispatcher(
        sync=FakeSync(), sender=FakeSender(), online=FakeOnline(), subscriptions=FakeSubs(), metrics=metrics
    )
    conn, outbox = FakeConnection(), Outbox()
    session = Session(
        conn, conn_id="c1", user_id=USER, platform_id=5, token="tok", is_admin=False, dispatcher=dispatcher,
        metrics=metrics, limits=SessionLimits(), outbox=outbox,
    )
    assert session.push("handshake ok")
    await settle()
    assert conn.sent == []  # nothing leaves before the login is registered and the session runs
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run)
        nursery.start_soon(session.run)
        await settle()
        assert conn.sent == ["handshake ok"]
        session.push(b"push")
        await settle()
        assert conn.sent == ["handshake ok", b"push"]
        nursery.cancel_scope.cancel()


# -- timers ---------------------------------------------------------------------------------------------------------


async def test_idle_timeout_closes_and_any_frame_rearms_it(rig: Rig, autojump_clock: trio.testing.MockClock) -> None:
    await trio.sleep(29)
    rig.conn.feed('{"type":"pong"}')
    await trio.sleep(29)  # 58 s since start, 29 since the last frame
    assert rig.conn.closed is None
    await trio.sleep(2)
    assert rig.conn.closed == (1000, "idle timeout")


class PongingConnection(FakeConnection):
    """Answers every protocol ping at once (records when)."""

    def __init__(self, *, answer: bool = True) -> None:
        super().__init__()
        self.answer = answer
        self.pings: list[float] = []

    async def ping(self) -> None:
        self.pings.append(trio.current_time())
        if not self.answer:
            await trio.sleep_forever()


def _pinged_session(conn: FakeConnection, pinger: Pinger | None, conn_id: str = "c1") -> Session:
    metrics = Metrics("n1", ("gateway",))
    dispatcher = Dispatcher(
        sync=FakeSync(), sender=FakeSender(), online=FakeOnline(), subscriptions=FakeSubs(), metrics=metrics
    )
    return Session(
        conn, conn_id=conn_id, user_id=USER, platform_id=5, token="tok", is_admin=False, dispatcher=dispatcher,
        metrics=metrics, limits=SessionLimits(idle_timeout=30.0, ping_interval=27.0), outbox=Outbox(),
        pinger=pinger,
    )


@pytest.mark.parametrize("shared", [True, False])
async def test_protocol_pings_every_interval_and_pongs_keep_the_session(
    shared: bool, autojump_clock: trio.testing.MockClock
) -> None:
    pinger = Pinger() if shared else None
    conns = [PongingConnection(), PongingConnection(answer=False)]
    sessions = [_pinged_session(c, pinger, f"c{i}") for i, c in enumerate(conns)]
    async with trio.open_nursery() as nursery:
        if pinger is not None:
            nursery.start_soon(pinger.run)
        for s in sessions:
            nursery.start_soon(s.run)
        await trio.sleep(100)  # no data frame at all: only the pongs keep the first session
        assert conns[0].closed is None
        assert [round(t) for t in conns[0].pings] == [27, 54, 81]
        # the one that never answers is pinged once, then closed by the idle timeout (30 s)
        assert conns[1].closed == (1000, "idle timeout")
        assert [round(t) for t in conns[1].pings] == [27]
        sessions[0].end(1000, "bye")
        await trio.sleep(60)
        assert len(conns[0].pings) == 3  # an ended session is not pinged any more
        if pinger is not None:
            assert len(pinger) == 0
        nursery.cancel_scope.cancel()

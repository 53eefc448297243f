"""The load engine's loop and accounting, with a small gateway on socket pairs in the test's thread.

The gateway side reads the engine's frames with wsproto in the server role (an independent RFC 6455
implementation) and the server's own request decoder, and answers with the server's own encoders:
the reply, the echo to the sender and the push to the recipient. So these tests cover the engine's
closed loop, drain, heartbeats and cross-check without a server process.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field

from wsproto.connection import Connection as WsServer
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, TextMessage

from openim.bench.codec import MSG, CodecSetup, Scan
from openim.bench.codec_json import JsonEnvelopeCodec, JsonReceiver
from openim.bench.engine import Connection, Engine, Tally
from openim.bench.plan import COUNTER_SLOTS, ClientSpec, Command, Slot, WorkerPlan
from openim.pipeline.jobs import PushJob
from openim.wire.envelope import PONG_TEXT, decode_request, encode_response
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, sdkws_pb2

USERS = ("eng_a", "eng_b", "eng_c")


@dataclass
class _Word:
    value: int = int(Command.CONNECT)


@dataclass
class _Gateway:
    """The server side of every socket pair; answers each 1003 like the real gateway does."""

    socks: list[socket.socket]
    wss: list[WsServer] = field(default_factory=list)
    partial: list[bytearray] = field(default_factory=list)
    sends: int = 0
    pings: int = 0

    def __post_init__(self) -> None:
        self.wss = [WsServer(ConnectionType.SERVER) for _ in self.socks]
        self.partial = [bytearray() for _ in self.socks]

    def serve(self, seconds: float, until_quiet: bool = False) -> None:
        end = time.monotonic() + seconds
        last_send = time.monotonic()
        while (now := time.monotonic()) < end:
            if until_quiet and now - last_send > 0.3:
                return  # no send for a while (heartbeats go on)
            ready, _, _ = select.select(self.socks, [], [], 0.05)
            for sock in ready:
                i = self.socks.index(sock)
                self.wss[i].receive_data(sock.recv(65536))
                for event in self.wss[i].events():
                    if isinstance(event, TextMessage):
                        self.pings += 1
                        self._send(i, PONG_TEXT)
                    elif isinstance(event, BytesMessage):
                        self.partial[i] += event.data  # wsproto hands over a frame cut by a read in parts
                        if event.message_finished:
                            self._answer(i, bytes(self.partial[i]))
                            self.partial[i].clear()
                            last_send = time.monotonic()

    def _send(self, i: int, frame: bytes | str) -> None:
        event = TextMessage(data=frame) if isinstance(frame, str) else BytesMessage(data=frame)
        self.socks[i].sendall(self.wss[i].send(event))

    def _answer(self, i: int, payload: bytes) -> None:
        self.sends += 1
        req = decode_request(payload)
        msg = sdkws_pb2.MsgData.FromString(req.data)
        msg.serverMsgID, msg.sendTime = f"s{self.sends}", 1
        reply = msg_pb2.SendMsgResp(serverMsgID=msg.serverMsgID, clientMsgID=msg.clientMsgID, sendTime=1)
        self._send(i, encode_response(1003, req.msg_incr, req.operation_id, 0, "", reply.SerializeToString()))
        # as the push stage builds it: the stored bytes with the seq appended, one frame for echo and recipient
        push = PushJob("si_x", with_seq(msg.SerializeToString(), self.sends), req.operation_id).frame
        self._send(i, push)  # the echo
        self._send(USERS.index(msg.recvID), push)


class _LyingCodec(JsonEnvelopeCodec):
    """Says every delivery was sent a nanosecond later than it was: the cross-check must notice."""

    def scan(self, opcode: int, payload: bytes, receiver: JsonReceiver) -> Scan:
        got = super().scan(opcode, payload, receiver)
        return (MSG, got[1], got[2] + 1, got[3]) if got[0] == MSG else got


def _run(codec_class: type[JsonEnvelopeCodec], verify_every: int) -> tuple[Tally, list[int], _Gateway]:
    plan = WorkerPlan(
        worker=0, workload="direct", ws_host="", ws_port=0,
        clients=tuple(ClientSpec(i, u, "") for i, u in enumerate(USERS)), all_user_ids=USERS,
        senders=frozenset({0, 1, 2}), window=3, verify_every=verify_every, heartbeat_s=0.05,
    )
    codec = codec_class(CodecSetup("direct", USERS))
    pairs = [socket.socketpair() for _ in USERS]
    for ours, _ in pairs:
        ours.setblocking(False)
    conns = [
        Connection(ours, b"", i, codec.sender(i, USERS[i]), codec.receiver(i, USERS[i]))
        for i, (ours, _) in enumerate(pairs)
    ]
    command = _Word()
    counters: list[int] = [0] * COUNTER_SLOTS
    tally = Tally()
    engine = Engine(plan, codec, conns, command, counters, tally)  # type: ignore[arg-type]
    gateway = _Gateway([theirs for _, theirs in pairs])
    thread = threading.Thread(target=engine.run)
    thread.start()
    try:
        gateway.serve(0.2)  # READY: heartbeats only
        command.value = int(Command.RUN)
        gateway.serve(0.5)
        command.value = int(Command.DRAIN)
        gateway.serve(5, until_quiet=True)
        command.value = int(Command.DONE)
        thread.join(5)
    finally:
        command.value = int(Command.DONE)
        thread.join(5)
        engine.close()
        for _, theirs in pairs:
            theirs.close()
    return tally, counters, gateway


def test_closed_loop_counts_every_ack_echo_and_delivery() -> None:
    tally, counters, gateway = _run(JsonEnvelopeCodec, verify_every=1)
    assert tally.errors == []
    assert tally.sent > 30 and tally.sent == gateway.sends
    assert len(tally.acked) == tally.sent == len(tally.log) == tally.echoes
    assert len(tally.latency) == len(tally.ack_latency) == tally.sent
    assert tally.inflight == 0 and tally.refused == 0 and tally.log.duplicates == 0 and tally.other_pushes == 0
    assert tally.verified >= 4 * tally.sent  # every send, reply, echo and delivery was decoded in full too
    assert gateway.pings >= 3
    assert counters[Slot.STOPPED] == 1 and counters[Slot.SENT] == tally.sent
    assert counters[Slot.ACKED] == tally.sent and counters[Slot.DELIVERED] == tally.sent
    assert tally.cpu_run_s > 0 and tally.wall_run_s > 0.5


def test_a_scan_that_disagrees_with_the_full_decode_is_an_error() -> None:
    tally, _, _ = _run(_LyingCodec, verify_every=1)
    assert tally.sent > 0
    assert tally.errors and all("cross-check of a received frame failed" in e for e in tally.errors)

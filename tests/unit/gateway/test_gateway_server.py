"""The gateway module in one process: real transport on a loopback port, the memory bus, fake tokens.

What a single session cannot show: the local index and 2005 watchers, inbox deliveries (the sender's
connection excluded), kicks by policy and token, presence entries, the connection limit, and drain.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
import trio
import trio.testing
import trio_websocket

from openim.bench.client import connect as raw_login
from openim.bench.codec import CodecSetup
from openim.bench.codec_json import JsonEnvelopeCodec
from openim.bench.wsframe import OP_CLOSE, split_frames
from openim.bus.memory import MemoryBus
from openim.config import Config, GatewayConfig
from openim.gateway.requests import MessageSender
from openim.gateway.server import Gateway
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import Delivery, Kick, StatusChange, encode_deliveries
from openim.node import Node
from openim.ops.metrics import Metrics
from openim.pipeline.jobs import PushJob, SendJob
from openim.pipeline.msg import OnDone, Pending, Sender
from openim.services.tokens import Claims
from openim.storage.port import Store
from openim.wire.codec import GOB, GOB_GZIP, FrameCodec
from openim.wire.envelope import HANDSHAKE_OK_TEXT, KICK_FRAME, PONG_TEXT, decode_response, encode_push, encode_request
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.msgdata import with_seq
from openim.wire.pb import msg_pb2, sdkws_pb2

pytestmark = pytest.mark.trio

NODE = "n1"


@dataclass
class FakeTokens:
    """Tokens look like ``<user>:<platform>:<anything>``; ``bad`` ones are malformed."""

    kicked: list[tuple[str, list[int], str]] = field(default_factory=list)

    async def verify(self, token: str) -> Claims:
        if token == "bad":
            raise OpenIMError(ErrCode.TOKEN_MALFORMED, "token malformed")
        user, platform, _ = token.split(":", 2)
        return Claims(user, int(platform), 0, token)

    def platforms_to_kick(self, user_id: str, platform_id: int) -> list[int]:
        return [platform_id]  # policy 1

    async def kick(
        self, user_id: str, platform_ids: Sequence[int], *, except_token: str = "", issued_before_ms: int | None = None
    ) -> list[str]:
        self.kicked.append((user_id, list(platform_ids), except_token))
        return []

    def is_admin(self, user_id: str) -> bool:
        return user_id == "imAdmin"


class NoSync:
    async def newest_seq(self, user_id: str) -> sdkws_pb2.GetMaxSeqResp:
        return sdkws_pb2.GetMaxSeqResp()

    async def pull_by_range(self, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
        return sdkws_pb2.PullMessageBySeqsResp()

    async def pull_by_seqs(self, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp:
        return msg_pb2.GetSeqMessageResp()

    async def has_read_and_max_seq(
        self, user_id: str, conversation_ids: Sequence[str], return_pinned: bool = False
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        return msg_pb2.GetConversationsHasReadAndMaxSeqResp()

    async def last_messages(self, user_id: str, conversation_ids: Sequence[str]) -> msg_pb2.GetLastMessageResp:
        return msg_pb2.GetLastMessageResp()


class NoSend:
    async def submit(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        raise OpenIMError(ErrCode.ARGS, "not in this test")

    def submit_nowait(
        self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone
    ) -> Pending | None:
        raise OpenIMError(ErrCode.ARGS, "not in this test")


@dataclass
class Rig:
    gateway: Gateway
    bus: MemoryBus
    tokens: FakeTokens
    metrics: Metrics
    inbox: NodeInbox

    def url(self, user: str, platform: int = 5, token: str | None = None, **extra: str) -> str:
        token = token if token is not None else f"{user}:{platform}:t1"
        params = {
            "sendID": user,
            "token": token,
            "platformID": str(platform),
            "operationID": "op",
            "isBackground": "false",
            "isMsgResp": "true",
            "sdkType": "js",
            **extra,
        }
        return f"ws://127.0.0.1:{self.gateway.port}/?" + "&".join(f"{k}={v}" for k, v in params.items() if v)

    def go_url(self, user: str, platform: int = 5, token: str | None = None, gzip: bool = True) -> str:
        """As openim-sdk-core connects: no sdkType, compression=gzip, isMsgResp=true."""
        return self.url(user, platform, token, sdkType="", compression="gzip" if gzip else "")


async def make_rig(nursery: trio.Nursery, sender: MessageSender | None = None, **gateway_cfg: Any) -> Rig:
    config = Config(gateway=GatewayConfig(host="127.0.0.1", port=0, **gateway_cfg))
    metrics = Metrics(NODE, ("gateway",))
    bus = MemoryBus()
    await bus.open()
    node = Node(config, NODE, ("gateway",), cast(Store, None), bus, metrics)
    tokens = FakeTokens()
    gateway = Gateway(node=node, tokens=tokens, sync=NoSync(), sender=sender or NoSend())
    inbox = NodeInbox(bus, NODE)
    gateway.register_inbox(inbox)
    await nursery.start(inbox.serve)
    await nursery.start(gateway.serve)
    return Rig(gateway, bus, tokens, metrics, inbox)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with trio.open_nursery() as nursery:
        yield await make_rig(nursery)
        nursery.cancel_scope.cancel()


async def until(condition: Callable[[], bool], what: str) -> None:
    with trio.fail_after(5):
        while not condition():
            await trio.sleep(0.01)


@asynccontextmanager
async def connect(rig: Rig, user: str, platform: int = 5, token: str | None = None) -> AsyncIterator[Any]:
    """A logged-in client connection, returned once the gateway has registered it."""
    before = len(rig.gateway.sessions.of_user(user))
    async with trio_websocket.open_websocket_url(rig.url(user, platform, token)) as ws:
        assert await ws.get_message() == HANDSHAKE_OK_TEXT
        await until(lambda: len(rig.gateway.sessions.of_user(user)) > before, f"{user} registered")
        yield ws


@asynccontextmanager
async def connect_go(rig: Rig, user: str, platform: int = 5, *, gzip: bool = True) -> AsyncIterator[Any]:
    """A logged-in Go client (gob frames, gzip unless told otherwise)."""
    before = len(rig.gateway.sessions.of_user(user))
    async with trio_websocket.open_websocket_url(rig.go_url(user, platform, f"{user}:{platform}:go", gzip)) as ws:
        assert await ws.get_message() == HANDSHAKE_OK_TEXT  # the handshake answer stays a JSON text frame
        await until(lambda: len(rig.gateway.sessions.of_user(user)) > before, f"{user} registered")
        yield ws


async def next_frame(ws: Any) -> str | bytes:
    with trio.fail_after(5):
        msg: str | bytes = await ws.get_message()
    return msg


async def nothing_pending(ws: Any) -> bool:
    """True when the next frame after a fresh ping is its pong (nothing was queued before it)."""
    await ws.send_message('{"type":"ping"}')
    return await next_frame(ws) == PONG_TEXT


async def closed_code(ws: Any) -> int:
    with trio.fail_after(5), pytest.raises(trio_websocket.ConnectionClosed) as info:
        while True:
            await ws.get_message()
    assert info.value.reason is not None
    return int(info.value.reason.code)


def conn_id_of(rig: Rig, user: str, platform: int) -> str:
    [session] = [s for s in rig.gateway.sessions.of_user(user) if s.platform_id == platform]
    return session.conn_id


# -- presence and gauges ----------------------------------------------------------------------------------


async def test_login_adds_presence_and_close_removes_it(rig: Rig) -> None:
    async with connect(rig, "u1"):
        presence = await rig.bus.presence_get(["u1"])
        [entry] = presence["u1"]
        assert (entry.user_id, entry.node_id, entry.platform_id) == ("u1", NODE, 5)
        assert entry.conn_id == conn_id_of(rig, "u1", 5)
        assert rig.metrics.registry.get_sample_value("openim_gateway_connections") == 1
        assert rig.metrics.registry.get_sample_value("openim_gateway_online_users") == 1
    await until(lambda: len(rig.gateway.sessions) == 0, "session gone")
    assert await rig.bus.presence_get(["u1"]) == {}
    assert rig.metrics.registry.get_sample_value("openim_gateway_connections") == 0


# -- inbox ---------------------------------------------------------------------------------------------------


async def test_delivery_reaches_every_local_connection_except_the_excluded_one(rig: Rig) -> None:
    async with connect(rig, "u1") as web, connect(rig, "u1", 2, "u1:2:t") as android, connect(rig, "u2") as other:
        frame = b'{"reqIdentifier":2001,"msgIncr":"","operationID":"op","errCode":0,"errMsg":"","data":"AA=="}'
        exclude = f"{NODE}/{conn_id_of(rig, 'u1', 5)}"
        await rig.bus.publish(NODE, [Delivery(frame, ("u1", "u2", "nobody"), exclude).encode()])
        assert await next_frame(android) == frame
        assert await next_frame(other) == frame
        assert await nothing_pending(web)
        assert rig.metrics.registry.get_sample_value("openim_push_frames_total") == 2


async def test_deliveries_of_one_push_batch_reach_their_connections_in_order(rig: Rig) -> None:
    async with connect(rig, "u1") as u1, connect(rig, "u2") as u2:
        frames = [b'{"reqIdentifier":2001,"msgIncr":"","data":"%d"}' % n for n in range(3)]
        exclude = f"{NODE}/{conn_id_of(rig, 'u2', 5)}"
        batch = [Delivery(frames[0], ("u1", "u2")), Delivery(frames[1], ("u1",)), Delivery(frames[2], ("u2",), exclude)]
        await rig.bus.publish(NODE, [encode_deliveries(batch)])
        assert [await next_frame(u1) for _ in range(2)] == frames[:2]
        assert await next_frame(u2) == frames[0]
        assert await nothing_pending(u2)


async def test_backgrounded_ios_connections_get_no_push(rig: Rig) -> None:
    async with connect(rig, "u1", 1, "u1:1:t") as ios:
        bg = sdkws_pb2.SetAppBackgroundStatusReq(userID="u1", isBackground=True).SerializeToString()
        await ios.send_message(encode_request(2004, "b", "u1", "op", bg))
        assert decode_response(await next_frame(ios)).req_identifier == 2004
        await rig.bus.publish(NODE, [Delivery(b"frame", ("u1",)).encode()])
        assert await nothing_pending(ios)


async def test_new_login_kicks_other_tokens_on_the_same_platform_only(rig: Rig) -> None:
    async with (
        connect(rig, "u1", token="u1:5:old") as old,
        connect(rig, "u1", 2, "u1:2:x") as android,
        connect(rig, "u1", token="u1:5:old") as same_token,
    ):
        assert await nothing_pending(old)  # same token: never kicked
        async with connect(rig, "u1", token="u1:5:new") as new:
            assert await next_frame(old) == KICK_FRAME
            assert await closed_code(old) == 1000
            assert await next_frame(same_token) == KICK_FRAME
            assert await closed_code(same_token) == 1000
            assert await nothing_pending(android)
            assert await nothing_pending(new)
    assert rig.tokens.kicked[-1] == ("u1", [5], "u1:5:new")


async def test_kick_payload_spares_the_surviving_token(rig: Rig) -> None:
    async with connect(rig, "u1", token="u1:5:keep") as keep, connect(rig, "u1", 2, "u1:2:drop") as drop:
        await rig.bus.publish(NODE, [Kick("u1", (5, 2), except_token="u1:5:keep").encode()])
        assert await next_frame(drop) == KICK_FRAME
        assert await closed_code(drop) == 1000
        assert await nothing_pending(keep)


async def test_status_changes_reach_watchers(rig: Rig) -> None:
    async with connect(rig, "watcher") as watcher:
        sub = sdkws_pb2.SubUserOnlineStatus(subscribeUserID=["u1"]).SerializeToString()
        await watcher.send_message(encode_request(2005, "s", "watcher", "op", sub))
        reply = decode_response(await next_frame(watcher))
        assert reply.data is not None
        tips = sdkws_pb2.SubUserOnlineStatusTips.FromString(reply.data)
        assert [(e.userID, list(e.onlinePlatformIDs)) for e in tips.subscribers] == [("u1", [])]

        def pushed(frame: str | bytes) -> list[tuple[str, list[int]]]:
            resp = decode_response(frame)
            assert (resp.req_identifier, resp.msg_incr, resp.operation_id) == (2005, "", "")
            assert resp.data is not None
            tips = sdkws_pb2.SubUserOnlineStatusTips.FromString(resp.data)
            return [(e.userID, list(e.onlinePlatformIDs)) for e in tips.subscribers]

        async with connect(rig, "u1", 2, "u1:2:t"):
            assert pushed(await next_frame(watcher)) == [("u1", [2])]
        assert pushed(await next_frame(watcher)) == [("u1", [])]
        # another node reports a change
        await rig.bus.publish(NODE, [StatusChange("u1", (3, 4)).encode()])
        assert pushed(await next_frame(watcher)) == [("u1", [3, 4])]



async def test_local_delivery_from_this_process_push_stage(rig: Rig) -> None:
    async with connect(rig, "u1") as web, connect(rig, "u1", 2, "u1:2:t") as android, connect(rig, "u2") as other:
        frame = b'{"reqIdentifier":2001,"msgIncr":"","operationID":"op","errCode":0,"errMsg":"","data":"AQ=="}'
        exclude = f"{NODE}/{conn_id_of(rig, 'u1', 5)}"
        assert rig.gateway.deliver(frame, ("u1", "u2", "nobody"), exclude) == 2
        assert await next_frame(android) == frame
        assert await next_frame(other) == frame
        assert await nothing_pending(web)
        assert rig.gateway.deliver(frame, ("u1",), "other-node/1") == 2  # another node's connection id: no skip
        assert await next_frame(web) == frame and await next_frame(android) == frame
        presence = rig.gateway.presence(["u1", "u2", "nobody"])
        assert {u: sorted(e.platform_id for e in entries) for u, entries in presence.items()} == {
            "u1": [2, 5], "u2": [5],
        }


class StoringSender:
    """Completes every send at once, as the transfer stage would after the commit, with seq 1."""

    async def submit(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone) -> None:
        self.submit_nowait(msg, operation_id=operation_id, sender=sender, on_done=on_done)

    def submit_nowait(
        self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender, on_done: OnDone
    ) -> Pending | None:
        msg.serverMsgID, msg.sendTime, msg.status = "smid", 99, 2
        raw = msg.SerializeToString()
        job = SendJob(
            payload=raw, send_id=msg.sendID, recv_id=msg.recvID, group_id="", client_msg_id=msg.clientMsgID,
            server_msg_id="smid", send_time=99, session_type=1, content_type=101, conversation_id="si_u1_u2",
            conversation_type=1, owners=("u1", "u2"), reader_user_id="u1", recipients=("u2", "u1"),
            operation_id=operation_id, origin_node=NODE, origin_conn=sender.conn_id,
        )
        job.seq, job.want_echo = 1, True
        job.push = PushJob("si_u1_u2", with_seq(raw, 1), operation_id, exclude_conn=f"{NODE}/{sender.conn_id}")
        on_done(job)
        return None


@pytest.mark.parametrize("transport", ["wsproto", "trio-websocket"])
async def test_a_send_over_the_socket_gets_its_reply_then_its_echo(transport: str) -> None:
    async with trio.open_nursery() as nursery:
        rig = await make_rig(nursery, sender=StoringSender(), transport=transport)
        async with connect(rig, "u1") as ws:
            msg = sdkws_pb2.MsgData(sendID="u1", recvID="u2", clientMsgID="c1", sessionType=1, contentType=101)
            for i in range(3):
                msg.clientMsgID = f"c{i}"
                await ws.send_message(encode_request(1003, f"s{i}", "u1", f"op{i}", msg.SerializeToString()))
            frames = [decode_response(await next_frame(ws)) for _ in range(6)]
            assert [(f.req_identifier, f.msg_incr, f.operation_id) for f in frames] == [
                (1003, "s0", "op0"), (2001, "", "op0"), (1003, "s1", "op1"), (2001, "", "op1"),
                (1003, "s2", "op2"), (2001, "", "op2"),
            ]
            assert frames[0].data is not None
            assert msg_pb2.SendMsgResp.FromString(frames[0].data).clientMsgID == "c0"
            assert frames[1].data is not None
            [echo] = sdkws_pb2.PushMessages.FromString(frames[1].data).msgs["si_u1_u2"].Msgs
            assert (echo.clientMsgID, echo.seq, echo.serverMsgID) == ("c0", 1, "smid")
            assert await nothing_pending(ws)
        nursery.cancel_scope.cancel()


# -- Go clients (gob, gzip) -------------------------------------------------------------------------------------


async def test_go_client_requests_and_replies_are_gob(rig: Rig) -> None:
    for codec, gzip in ((GOB_GZIP, True), (GOB, False)):
        async with connect_go(rig, "g1", gzip=gzip) as go:
            [session] = rig.gateway.sessions.of_user("g1")
            assert session.codec is codec
            sub = sdkws_pb2.SubUserOnlineStatus(subscribeUserID=["u1"]).SerializeToString()
            await go.send_message(codec.encode_request(2005, "g1_1", "g1", "op-g", sub))
            reply = codec.decode_response(await next_frame(go))
            assert (reply.req_identifier, reply.msg_incr, reply.operation_id) == (2005, "g1_1", "op-g")
            assert reply.err_code == 0
            assert reply.data is not None
            assert sdkws_pb2.SubUserOnlineStatusTips.FromString(reply.data).subscribers[0].userID == "u1"
            # an error reply is gob too
            await go.send_message(codec.encode_request(1001, "g1_2", "g1", "op-e", b"\xff"))
            err = codec.decode_response(await next_frame(go))
            assert (err.req_identifier, err.msg_incr, err.err_code, err.data) == (1001, "g1_2", 1001, None)
            # the JSON heartbeats work whatever the codec
            assert await nothing_pending(go)
        await until(lambda: not rig.gateway.sessions.of_user("g1"), "g1 gone")


async def test_a_json_frame_from_a_go_client_is_a_protocol_violation(rig: Rig) -> None:
    async with connect_go(rig, "g1") as go:
        await go.send_message(encode_request(1001, "m", "g1", "op", b""))
        assert await closed_code(go) == 1008


async def test_a_delivery_is_encoded_once_per_codec(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = FrameCodec.from_json_frame

    def counting(self: FrameCodec, frame: bytes) -> bytes:
        calls.append(self.name)
        return original(self, frame)

    monkeypatch.setattr(FrameCodec, "from_json_frame", counting)
    async with (
        connect(rig, "u1") as web,
        connect_go(rig, "u1", 2) as go_a,
        connect_go(rig, "u2", 3) as go_b,
        connect_go(rig, "u3", 2, gzip=False) as go_plain,
    ):
        frame = encode_push(b"\x0a\x01x", "op-p")
        await rig.bus.publish(NODE, [Delivery(frame, ("u1", "u2", "u3")).encode()])
        assert await next_frame(web) == frame
        expected = GOB_GZIP.from_json_frame(frame)
        assert await next_frame(go_a) == expected
        assert await next_frame(go_b) == expected
        assert GOB_GZIP.decode_response(expected).data == b"\x0a\x01x"
        assert GOB.decode_response(await next_frame(go_plain)).operation_id == "op-p"
    assert sorted(calls) == ["gob", "gob+gzip", "gob+gzip"]  # the last: the test's own `expected`


async def test_go_client_is_kicked_with_a_gob_2002(rig: Rig) -> None:
    async with connect_go(rig, "g1") as old, connect(rig, "g1", token="g1:5:new"):
        assert await next_frame(old) == GOB_GZIP.kick_frame
        assert GOB_GZIP.decode_response(GOB_GZIP.kick_frame).req_identifier == 2002
        assert await closed_code(old) == 1000


async def test_go_client_token_error_is_one_json_text_frame(rig: Rig) -> None:
    async with trio_websocket.open_websocket_url(rig.go_url("g1", token="bad")) as ws:
        body = json.loads(str(await next_frame(ws)))
        assert (body["errCode"], body["errDlt"]) == (1503, "token malformed")
        assert await closed_code(ws) == 1008
    assert rig.metrics.registry.get_sample_value("openim_gateway_handshake_errors_total", {"code": "1503"}) == 1


# -- handshake edges -------------------------------------------------------------------------------------------


async def test_connection_limit_answers_1601_without_upgrade() -> None:
    async with trio.open_nursery() as nursery:
        rig = await make_rig(nursery, max_connections=1)
        async with connect(rig, "u1"):
            with pytest.raises(trio_websocket.ConnectionRejected) as info:
                async with trio_websocket.open_websocket_url(rig.url("u2")):
                    pass
            assert info.value.status_code == 200
            assert info.value.body is not None
            assert json.loads(info.value.body)["errCode"] == 1601
        nursery.cancel_scope.cancel()


async def test_token_error_with_is_msg_resp_is_one_text_frame_then_close(rig: Rig) -> None:
    async with trio_websocket.open_websocket_url(rig.url("u1", token="bad")) as ws:
        body = json.loads(str(await next_frame(ws)))
        assert (body["errCode"], body["errMsg"], body["errDlt"]) == (1503, "TokenMalformedError", "token malformed")
        assert await closed_code(ws) == 1008
    async with trio_websocket.open_websocket_url(rig.url("u1", token="u2:5:t")) as ws:
        assert json.loads(str(await next_frame(ws)))["errCode"] == 1502
    assert len(rig.gateway.sessions) == 0


# -- drain ---------------------------------------------------------------------------------------------------------


async def test_drain_closes_with_going_away_and_stops_accepting(rig: Rig) -> None:
    async with connect(rig, "u1") as ws1, connect(rig, "u2") as ws2:
        await rig.gateway.drain()
        assert await closed_code(ws1) == 1001
        assert await closed_code(ws2) == 1001
    assert len(rig.gateway.sessions) == 0
    assert await rig.bus.presence_get(["u1", "u2"]) == {}
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", rig.gateway.port)


@pytest.mark.parametrize("transport", ["wsproto", "trio-websocket"])
async def test_a_drain_cut_short_by_the_process_grace_ends_every_session_at_once(transport: str) -> None:
    # Clients that never read again never answer the close frame; the wait for them (up to the 3 s
    # close_timeout) must end when the process's grace does, as the runtime cancels the drain.
    async with trio.open_nursery() as nursery:
        rig = await make_rig(nursery, transport=transport)
        codec: Any = JsonEnvelopeCodec(CodecSetup(workload="connect", all_user_ids=()))
        target = rig.url("u1").split(str(rig.gateway.port), 1)[1]
        socks = [(await raw_login("127.0.0.1", rig.gateway.port, target, codec))[0] for _ in range(3)]
        await until(lambda: len(rig.gateway.sessions) == 3, "3 sessions registered")
        started = trio.current_time()
        with trio.move_on_after(0.5):
            await rig.gateway.drain()
        with trio.fail_after(1.0):  # ended without waiting for the silent peers (3 s)
            while len(rig.gateway.sessions):
                await trio.sleep(0.01)
        assert trio.current_time() - started < 1.5
        for sock in socks:
            frames, _ = split_frames(sock.recv(65536))  # the close frame reached even the silent ones
            assert [(first & 0x0F, payload[:2]) for first, payload in frames][-1:] == [
                (OP_CLOSE, (1001).to_bytes(2, "big"))
            ]
            sock.close()
        nursery.cancel_scope.cancel()


async def test_an_older_login_arriving_second_is_kicked_not_the_newer(rig: Rig) -> None:
    # The fake's claims carry no issue time; sessions get theirs from Claims.issued_ms, set here.
    async def verify(token: str) -> Claims:
        user, platform, rest = token.split(":", 2)
        return Claims(user, int(platform), 0, token, issued_ms=int(rest))

    rig.tokens.verify = verify  # type: ignore[method-assign]
    async with connect(rig, "u1", token="u1:5:200") as newer, connect(rig, "u1", token="u1:5:100") as older:
        assert await next_frame(older) == KICK_FRAME
        assert await closed_code(older) == 1000
        assert await nothing_pending(newer)
        # A late kick from the older login's issue (another node) spares the newer session too.
        await rig.bus.publish(NODE, [Kick("u1", (5,), except_token="u1:5:100", issued_before_ms=100).encode()])
        assert await nothing_pending(newer)

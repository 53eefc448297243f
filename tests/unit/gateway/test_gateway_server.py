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

from openim.bus.memory import MemoryBus
from openim.config import Config, GatewayConfig
from openim.gateway.server import Gateway
from openim.node import Node
from openim.ops.metrics import Metrics
from openim.services.inbox import NodeInbox
from openim.services.internal import Delivery, Kick, StatusChange
from openim.services.send import Sender, SendOutcome
from openim.services.tokens import Claims
from openim.storage.port import Store
from openim.wire.envelope import HANDSHAKE_OK_TEXT, KICK_FRAME, PONG_TEXT, decode_response, encode_request
from openim.wire.errors import ErrCode, OpenIMError
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
    async def send(self, msg: sdkws_pb2.MsgData, *, operation_id: str, sender: Sender) -> SendOutcome:
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
        return f"ws://127.0.0.1:{self.gateway.port}/?" + "&".join(f"{k}={v}" for k, v in params.items())


async def make_rig(nursery: trio.Nursery, **gateway_cfg: Any) -> Rig:
    config = Config(gateway=GatewayConfig(host="127.0.0.1", port=0, **gateway_cfg))
    metrics = Metrics(NODE, ("gateway",))
    bus = MemoryBus()
    await bus.open()
    node = Node(config, NODE, ("gateway",), cast(Store, None), bus, metrics)
    tokens = FakeTokens()
    gateway = Gateway(node=node, tokens=tokens, sync=NoSync(), sender=NoSend())
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

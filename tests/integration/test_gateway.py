"""The WebSocket gateway as a client sees it, against a real server process (the ``server`` fixture).

A small trio-websocket client speaks the protocol exactly as the JS SDK does (query keys unencoded,
requests as JSON in binary frames, text pings) and checks the bytes that come back: the handshake
text frame first, the 1003 reply before its echo, pushes with real seqs, kicks, and the conditions
that close a connection without a reply. The same client with the gob codec (gzip) connects as
openim-sdk-core does (no sdkType) and talks to JSON clients. The last test checks that none of it hurt
the process.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio
import trio_websocket

from openim.wire.codec import GOB_GZIP, JSON, FrameCodec
from openim.wire.constants import single_conversation_id
from openim.wire.envelope import WsResponse
from openim.wire.pb import msg_pb2, sdkws_pb2

if TYPE_CHECKING:  # the conftest is not importable by name at run time (no packages under tests/)
    from conftest import ServerProcess

pytestmark = pytest.mark.trio

WAIT_S = 10.0
WEB = 5


def _op() -> str:
    return f"op{time.time_ns()}"


def ws_url(server: ServerProcess, user_id: str, token: str, *, platform_id: int = WEB, **overrides: str | None) -> str:
    """The URL the JS SDK opens: fixed key order, values not URL-encoded; ``None`` drops a key."""
    params: dict[str, str | None] = {
        "sendID": user_id,
        "token": token,
        "platformID": str(platform_id),
        "operationID": _op(),
        "isBackground": "false",
        "isMsgResp": "true",
        "sdkType": "js",
    }
    params.update(overrides)
    return server.ws_url + "?" + "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


@pytest.fixture(scope="module")
def users(server: ServerProcess) -> dict[str, str]:
    """Registered users of this module, by role, with unique ids (the server is shared)."""
    suffix = str(time.time_ns())[-9:]
    ids = {role: f"gw{role}{suffix}" for role in ("alice", "bob", "carol", "dave", "gopher", "gordon")}
    admin = server.admin_token()
    server.call(
        "/user/user_register",
        {"users": [{"userID": uid, "nickname": role, "faceURL": ""} for role, uid in ids.items()]},
        token=admin,
    )
    return ids


class Client:
    """One logged-in connection; keeps frames that are not the awaited reply in ``others``."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, user_id: str, codec: FrameCodec = JSON) -> None:
        self.ws = ws
        self.user_id = user_id
        self.codec = codec
        self.others: list[str | WsResponse] = []
        self._n = 0

    async def frame(self) -> str | WsResponse:
        with trio.fail_after(WAIT_S):
            msg = await self.ws.get_message()
        return msg if isinstance(msg, str) else self.codec.decode_response(msg)

    async def push(self) -> WsResponse:
        """The next server frame that is a push (taken from ``others`` first)."""
        for i, f in enumerate(self.others):
            if isinstance(f, WsResponse) and f.msg_incr == "":
                return self.others.pop(i)  # type: ignore[return-value]
        f = await self.frame()
        assert isinstance(f, WsResponse), f
        return f

    async def send(self, req_id: int, data: bytes, *, op: str | None = None, send_id: str | None = None) -> str:
        self._n += 1
        msg_incr = f"{self.user_id}-{self._n}"
        send_id = self.user_id if send_id is None else send_id
        frame = self.codec.encode_request(req_id, msg_incr, send_id, op or _op(), data)
        await self.ws.send_message(frame)
        return msg_incr

    async def request(self, req_id: int, data: bytes, *, op: str | None = None) -> WsResponse:
        msg_incr = await self.send(req_id, data, op=op)
        while True:
            f = await self.frame()
            if isinstance(f, WsResponse) and f.msg_incr == msg_incr:
                return f
            self.others.append(f)


@asynccontextmanager
async def login(
    server: ServerProcess, user_id: str, token: str | None = None, *, codec: FrameCodec = JSON, **kw: Any
) -> AsyncIterator[Client]:
    """Log in; with the gob codec as openim-sdk-core does (no sdkType, compression=gzip)."""
    token = token or server.user_token(user_id, kw.get("platform_id", WEB))
    if codec is GOB_GZIP:
        kw = {"sdkType": None, "compression": "gzip", **kw}
    async with trio_websocket.open_websocket_url(ws_url(server, user_id, token, **kw)) as ws:
        first = await Client(ws, user_id, codec).frame()
        assert first == '{"errCode":0,"errMsg":"","errDlt":""}', first
        yield Client(ws, user_id, codec)


async def closed_without_reply(client: Client) -> int:
    """Wait for the server to close; fail if anything but the close arrives. Returns the close code."""
    with trio.fail_after(WAIT_S):
        try:
            msg = await client.ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            assert exc.reason is not None
            return exc.reason.code
    pytest.fail(f"expected the connection to close, got {msg!r}")


async def rejected_json(url: str) -> dict[str, Any]:
    """Open ``url`` expecting an HTTP 200 JSON answer instead of an upgrade."""
    with pytest.raises(trio_websocket.ConnectionRejected) as info:
        async with trio_websocket.open_websocket_url(url):
            pass
    assert info.value.status_code == 200
    headers = {k.lower(): v for k, v in info.value.headers or ()}
    assert headers[b"content-type"].startswith(b"application/json")
    assert info.value.body is not None
    body: dict[str, Any] = json.loads(info.value.body)
    return body


def text_msg(send_id: str, recv_id: str, client_msg_id: str, text: str) -> sdkws_pb2.MsgData:
    """A single-chat text message as the JS SDK builds it (seq 0, sendTime 0, status 1)."""
    return sdkws_pb2.MsgData(
        sendID=send_id,
        recvID=recv_id,
        clientMsgID=client_msg_id,
        senderPlatformID=WEB,
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=json.dumps({"content": text}).encode(),
        createTime=int(time.time() * 1000),
        status=1,
    )


# -- handshake -------------------------------------------------------------------------------------------


async def test_handshake_sends_ok_text_frame_first_and_answers_pings(
    server: ServerProcess, users: dict[str, str]
) -> None:
    async with login(server, users["alice"]) as alice:  # login() asserts the exact first text frame
        await alice.ws.send_message('{"type":"ping"}')
        pong = await alice.frame()
        assert pong == '{"type":"pong","body":null}'
        await alice.ws.send_message('{"type":"pong"}')  # ignored, connection stays usable
        await alice.ws.send_message('{"type":"ping"}')
        assert json.loads(str(await alice.frame()))["type"] == "pong"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("not-a-jwt", 1503),
        # signed with another secret: the signature check fails (TokenUnknown)
        (
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJVc2VySUQiOiJ4IiwiUGxhdGZvcm1JRCI6NSwiZXhwIjo0MTAyNDQ0ODAwfQ."
            "3xQ2wpd0B0jGQe0yhJ3cRk7FJkz1FkM8WcX8pgkM2dQ",
            1505,
        ),
    ],
)
async def test_bad_token_gets_one_text_frame_then_close(
    server: ServerProcess, users: dict[str, str], token: str, code: int
) -> None:
    async with trio_websocket.open_websocket_url(ws_url(server, users["alice"], token)) as ws:
        client = Client(ws, users["alice"])
        first = await client.frame()
        assert isinstance(first, str)
        body = json.loads(first)
        assert body["errCode"] == code
        assert body["errMsg"] and "errDlt" in body
        await closed_without_reply(client)


async def test_token_of_another_user_is_1502(server: ServerProcess, users: dict[str, str]) -> None:
    bobs = server.user_token(users["bob"])
    async with trio_websocket.open_websocket_url(ws_url(server, users["alice"], bobs)) as ws:
        body = json.loads(str(await Client(ws, users["alice"]).frame()))
    assert body["errCode"] == 1502
    assert users["bob"] in body["errDlt"]


async def test_bad_token_without_is_msg_resp_is_http_200_json(server: ServerProcess, users: dict[str, str]) -> None:
    body = await rejected_json(ws_url(server, users["alice"], "not-a-jwt", isMsgResp=None))
    assert body["errCode"] == 1503


async def test_argument_errors_are_http_200_json_without_upgrade(server: ServerProcess, users: dict[str, str]) -> None:
    token = server.user_token(users["carol"])
    missing_background = await rejected_json(ws_url(server, users["carol"], token, isBackground=None))
    assert missing_background["errCode"] == 500  # as OpenIM: ParseBool's bare error
    bad_platform = await rejected_json(ws_url(server, users["carol"], token, platformID="web"))
    assert bad_platform == {
        "errCode": 1602,
        "errMsg": "args err, need token, sendID, platformID",
        "errDlt": "platformID is not int",
    }
    unknown_sdk = await rejected_json(ws_url(server, users["carol"], token, sdkType="java"))
    assert unknown_sdk["errCode"] == 1602
    assert unknown_sdk["errDlt"] == "sdkType is invalid"
    # an argument error wins over a bad token: the token is never looked at
    both = await rejected_json(ws_url(server, users["carol"], "not-a-jwt", operationID=""))
    assert both["errCode"] == 1602
    assert both["errDlt"] == "operationID is empty"


# -- requests ----------------------------------------------------------------------------------------------


async def test_1006_on_a_fresh_user_is_an_empty_success(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["dave"]) as dave:
        req = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=users["dave"])
        resp = await dave.request(1006, req.SerializeToString(), op="op-1006")
        assert (resp.req_identifier, resp.operation_id, resp.err_code, resp.err_msg) == (1006, "op-1006", 0, "")
        assert resp.data is not None
        assert dict(msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(resp.data).seqs) == {}
        # naming another user is refused with 1002, and the connection stays open
        other = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=users["alice"])
        refused = await dave.request(1006, other.SerializeToString())
        assert (refused.err_code, refused.err_msg, refused.data) == (1002, "NoPermissionError", None)
        signal = await dave.request(1004, b"")
        assert signal.err_code == 1001
        await dave.ws.send_message('{"type":"ping"}')
        assert json.loads(str(await dave.frame()))["type"] == "pong"


async def test_send_replies_before_the_echo_and_pushes_to_the_recipient(
    server: ServerProcess, users: dict[str, str]
) -> None:
    alice_id, bob_id = users["alice"], users["bob"]
    conv_id = single_conversation_id(alice_id, bob_id)
    async with login(server, alice_id) as alice, login(server, bob_id) as bob:
        msg = text_msg(alice_id, bob_id, f"cm-{time.time_ns()}", "hello bob")
        msg_incr = await alice.send(1003, msg.SerializeToString(), op="op-send-1")

        reply = await alice.frame()
        assert isinstance(reply, WsResponse)
        assert (reply.req_identifier, reply.msg_incr, reply.operation_id, reply.err_code) == (
            1003,
            msg_incr,
            "op-send-1",
            0,
        )
        assert reply.data is not None
        ack = msg_pb2.SendMsgResp.FromString(reply.data)
        assert ack.clientMsgID == msg.clientMsgID
        assert len(ack.serverMsgID) == 32
        assert ack.sendTime > 0

        echo = await alice.frame()  # the very next frame on the sender's connection
        assert isinstance(echo, WsResponse)
        assert (echo.req_identifier, echo.msg_incr, echo.operation_id) == (2001, "", "op-send-1")
        assert echo.data is not None
        echoed = sdkws_pb2.PushMessages.FromString(echo.data).msgs[conv_id].Msgs
        assert [(m.clientMsgID, m.seq, m.status) for m in echoed] == [(msg.clientMsgID, 1, 2)]

        pushed = await bob.push()
        assert (pushed.req_identifier, pushed.operation_id) == (2001, "op-send-1")
        assert pushed.data is not None
        got = sdkws_pb2.PushMessages.FromString(pushed.data).msgs[conv_id].Msgs
        assert len(got) == 1
        assert (got[0].seq, got[0].serverMsgID, got[0].content) == (1, ack.serverMsgID, msg.content)

        # bob syncs it back with both pull kinds
        seqs = await bob.request(1006, msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=bob_id).SerializeToString())
        assert seqs.data is not None
        assert msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(seqs.data).seqs[conv_id].maxSeq == 1

        by_seqs = msg_pb2.GetSeqMessageReq(userID=bob_id)
        by_seqs.conversations.add(conversationID=conv_id, seqs=[1])
        pulled = await bob.request(1005, by_seqs.SerializeToString())
        assert (pulled.err_code, pulled.data is not None) == (0, True)
        assert pulled.data is not None
        listed = msg_pb2.GetSeqMessageResp.FromString(pulled.data).msgs[conv_id].Msgs
        assert [(m.seq, m.clientMsgID) for m in listed] == [(1, msg.clientMsgID)]

        by_range = sdkws_pb2.PullMessageBySeqsReq(userID=bob_id)
        by_range.seqRanges.add(conversationID=conv_id, begin=0, end=1, num=10)
        ranged = await bob.request(1002, by_range.SerializeToString())
        assert ranged.data is not None
        ranged_msgs = sdkws_pb2.PullMessageBySeqsResp.FromString(ranged.data).msgs[conv_id].Msgs
        assert [(m.seq, m.clientMsgID) for m in ranged_msgs] == [(1, msg.clientMsgID)]


async def test_go_clients_speak_gob_with_gzip_and_talk_to_json_clients(
    server: ServerProcess, users: dict[str, str]
) -> None:
    gopher_id, gordon_id, alice_id = users["gopher"], users["gordon"], users["alice"]
    async with (
        login(server, gopher_id, codec=GOB_GZIP) as gopher,
        login(server, gordon_id, codec=GOB_GZIP, platform_id=2) as gordon,
        login(server, alice_id, platform_id=3) as alice,
    ):
        sent: dict[str, str] = {}
        for recv_id, who in ((gordon_id, gordon), (alice_id, alice)):
            msg = text_msg(gopher_id, recv_id, f"cm-{time.time_ns()}", f"hello {recv_id}")
            msg_incr = await gopher.send(1003, msg.SerializeToString(), op=f"op-go-{recv_id}")
            reply = await gopher.frame()
            assert isinstance(reply, WsResponse)
            assert (reply.req_identifier, reply.msg_incr, reply.err_code) == (1003, msg_incr, 0)
            assert reply.data is not None
            assert msg_pb2.SendMsgResp.FromString(reply.data).clientMsgID == msg.clientMsgID
            echo = await gopher.frame()
            assert isinstance(echo, WsResponse)
            assert (echo.req_identifier, echo.operation_id) == (2001, f"op-go-{recv_id}")
            pushed = await who.push()  # gob for gordon, JSON for alice
            assert pushed.data is not None
            conv_id = single_conversation_id(gopher_id, recv_id)
            got = sdkws_pb2.PushMessages.FromString(pushed.data).msgs[conv_id].Msgs
            assert [(m.clientMsgID, m.seq, m.content) for m in got] == [(msg.clientMsgID, 1, msg.content)]
            sent[recv_id] = msg.clientMsgID
        # and back: alice (JSON) answers, gopher (gob) gets the push and pulls the history
        conv_id = single_conversation_id(gopher_id, alice_id)
        answer = text_msg(alice_id, gopher_id, f"cm-{time.time_ns()}", "hi gopher")
        assert (await alice.request(1003, answer.SerializeToString())).err_code == 0
        pushed = await gopher.push()
        assert pushed.data is not None
        assert sdkws_pb2.PushMessages.FromString(pushed.data).msgs[conv_id].Msgs[0].seq == 2
        by_range = sdkws_pb2.PullMessageBySeqsReq(userID=gopher_id)
        by_range.seqRanges.add(conversationID=conv_id, begin=1, end=2, num=10)
        ranged = await gopher.request(1002, by_range.SerializeToString())
        assert ranged.data is not None
        history = sdkws_pb2.PullMessageBySeqsResp.FromString(ranged.data).msgs[conv_id].Msgs
        assert [m.clientMsgID for m in history] == [sent[alice_id], answer.clientMsgID]


async def test_a_go_client_with_a_bad_token_is_told_why_and_the_log_says_so(
    server: ServerProcess, users: dict[str, str]
) -> None:
    url = ws_url(server, users["gopher"], "not-a-jwt", sdkType=None, compression="gzip")
    async with trio_websocket.open_websocket_url(url) as ws:
        body = json.loads(str(await Client(ws, users["gopher"], GOB_GZIP).frame()))  # JSON text, not gob
    assert body["errCode"] == 1503
    with trio.fail_after(WAIT_S):
        while True:
            refused = [
                json.loads(line) for line in server.log_path.read_text().splitlines()
                if '"handshake.refused"' in line and users["gopher"] in line
            ]  # fmt: skip
            if refused:
                break
            await trio.sleep(0.05)
    assert refused[-1]["code"] == 1503 and refused[-1]["detail"], refused


async def test_a_json_frame_on_a_gob_connection_closes_it(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["gopher"], codec=GOB_GZIP, platform_id=4) as gopher:
        await gopher.ws.send_message(JSON.encode_request(1001, "m", users["gopher"], "op", b""))
        assert await closed_without_reply(gopher) == 1008


async def test_online_status_subscription_and_push(server: ServerProcess, users: dict[str, str]) -> None:
    carol_id, dave_id = users["carol"], users["dave"]
    async with login(server, carol_id) as carol:
        async with login(server, dave_id, platform_id=2):
            sub = sdkws_pb2.SubUserOnlineStatus(subscribeUserID=[dave_id])
            resp = await carol.request(2005, sub.SerializeToString())
            assert resp.data is not None
            tips = sdkws_pb2.SubUserOnlineStatusTips.FromString(resp.data)
            assert [(e.userID, list(e.onlinePlatformIDs)) for e in tips.subscribers] == [(dave_id, [2])]
        # dave left: carol is told, with an empty platform list. (The batch that announces dave's
        # login may land after the subscription, so an "online on [2]" push may come first.)
        seen: list[tuple[str, list[int]]] = []
        while not seen or seen[-1][1]:
            pushed = await carol.push()
            assert (pushed.req_identifier, pushed.msg_incr, pushed.operation_id) == (2005, "", "")
            assert pushed.data is not None
            change = sdkws_pb2.SubUserOnlineStatusTips.FromString(pushed.data)
            seen.extend((e.userID, list(e.onlinePlatformIDs)) for e in change.subscribers)
            assert len(seen) <= 2, seen
        assert seen[-1] == (dave_id, [])
        assert all(entry == (dave_id, [2]) for entry in seen[:-1]), seen


async def test_second_login_on_the_same_platform_kicks_the_first(server: ServerProcess, users: dict[str, str]) -> None:
    carol_id = users["carol"]
    # the second login uses a new token for the same platform
    async with login(server, carol_id) as first, login(server, carol_id):
        kick = await first.frame()
        assert isinstance(kick, WsResponse)
        assert (kick.req_identifier, kick.msg_incr, kick.operation_id, kick.err_code, kick.data) == (
            2002,
            "",
            "",
            0,
            None,
        )
        await closed_without_reply(first)


async def test_same_token_twice_is_not_kicked(server: ServerProcess, users: dict[str, str]) -> None:
    bob_id = users["bob"]
    token = server.user_token(bob_id)
    async with login(server, bob_id, token) as tab1, login(server, bob_id, token):
        await tab1.ws.send_message('{"type":"ping"}')
        assert json.loads(str(await tab1.frame()))["type"] == "pong"


# -- connection-fatal conditions ----------------------------------------------------------------------------


async def test_oversized_frame_closes_the_connection(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["alice"]) as alice:
        await alice.ws.send_message(b"x" * 51201)
        assert await closed_without_reply(alice) == 1009


async def test_send_id_mismatch_closes_without_reply(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["alice"]) as alice:
        data = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=users["alice"]).SerializeToString()
        await alice.send(1006, data, send_id=users["bob"])
        await closed_without_reply(alice)


@pytest.mark.parametrize("req_id", [9999, 2001, 2002, 2100, 3001])
async def test_unknown_or_server_only_identifier_closes(
    server: ServerProcess, users: dict[str, str], req_id: int
) -> None:
    async with login(server, users["alice"]) as alice:
        await alice.send(req_id, b"")
        await closed_without_reply(alice)


@pytest.mark.parametrize("frame", ['{"type":"hello"}', "not json", b"{not json"])
async def test_garbage_frames_close_without_reply(
    server: ServerProcess, users: dict[str, str], frame: str | bytes
) -> None:
    async with login(server, users["alice"]) as alice:
        await alice.ws.send_message(frame)
        await closed_without_reply(alice)


async def test_bad_protobuf_is_answered_and_the_connection_stays(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["alice"]) as alice:
        resp = await alice.request(1006, b"\xff\xff\xff")
        assert (resp.err_code, resp.err_msg, resp.data) == (1001, "ArgsError", None)
        await alice.ws.send_message('{"type":"ping"}')
        assert json.loads(str(await alice.frame()))["type"] == "pong"


async def test_logout_replies_then_closes(server: ServerProcess, users: dict[str, str]) -> None:
    async with login(server, users["dave"]) as dave:
        resp = await dave.request(2003, b"")
        assert resp.err_code == 0
        await closed_without_reply(dave)


# -- after all of that -----------------------------------------------------------------------------------------


async def test_zz_server_is_still_healthy(server: ServerProcess) -> None:
    assert server.proc.poll() is None, server.log_tail()
    resp = httpx.get(server.api_url + "/healthz", timeout=5)
    assert resp.status_code == 200
    metrics = httpx.get(server.api_url + "/metrics", timeout=5).text
    assert "openim_gateway_logins_total" in metrics
    assert '"level": "error"' not in server.log_path.read_text(), server.log_tail()

"""Webhooks against a real server and a real HTTP receiver: before-callbacks that block, modify and
time out (fail closed), after-callbacks that are retried until the receiver recovers, friend
callbacks, and the gateway's online/offline callbacks."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio_websocket

from openim.wire.envelope import WsResponse, decode_response, encode_request
from openim.wire.pb import sdkws_pb2
from tests.integration.conftest import ServerProcess
from tests.integration.webhook_receiver import CONTINUE, Receiver, running_receiver

pytestmark = pytest.mark.trio

WEB = 5
BLOCK = {"actionCode": 0, "nextCode": 1, "errCode": 5001, "errMsg": "ContentForbidden", "errDlt": "word not allowed"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def server_extra_config(receiver: Receiver) -> str:
    return (
        f"webhooks: {{url: '{receiver.url}', enable: ['*'], timeout: 1s, after_backoff: 100ms, "
        "after_attempts: 4, headers: {X-Hook-Secret: s3cret}}\n"
    )


def _text(body: dict[str, Any]) -> str:
    try:
        return str(json.loads(body.get("content", "") or "{}").get("content", ""))
    except ValueError:
        return ""


def _install_rules(receiver: Receiver) -> None:
    def before_single(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        text = _text(body)
        if "blockme" in text:
            return 200, BLOCK, 0.0
        if "slowme" in text:
            return 200, CONTINUE, 2.5
        return 200, CONTINUE, 0.0

    def modify(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        if "modifyme" in _text(body):
            return 200, {**CONTINUE, "content": json.dumps({"content": "changed by the hook"})}, 0.0
        return 200, CONTINUE, 0.0

    attempts: dict[str, int] = {}

    def after_single(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        if "flaky" in _text(body):
            n = attempts[body["clientMsgID"]] = attempts.get(body["clientMsgID"], 0) + 1
            if n < 3:
                return 503, b"busy", 0.0
        return 200, CONTINUE, 0.0

    def before_add_friend(_: str, body: dict[str, Any]) -> tuple[int, Any, float]:
        if body.get("reqMsg") == "refuse":
            return 200, {**BLOCK, "errCode": 7001, "errMsg": "NoStrangers", "errDlt": "not today"}, 0.0
        return 200, CONTINUE, 0.0

    receiver.rules.update(
        callbackBeforeSendSingleMsgCommand=before_single,
        callbackBeforeMsgModifyCommand=modify,
        callbackAfterSendSingleMsgCommand=after_single,
        callbackBeforeAddFriendCommand=before_add_friend,
    )


@pytest.fixture(scope="module")
def users(server: ServerProcess, receiver: Receiver) -> dict[str, str]:
    _install_rules(receiver)
    suffix = str(time.time_ns())[-9:]
    ids = {role: f"wh{role}{suffix}" for role in ("alice", "bob", "carol")}
    server.call(
        "/user/user_register",
        {"users": [{"userID": u, "nickname": r} for r, u in ids.items()]},
        token=server.admin_token(),
    )
    return ids


class Conn:
    def __init__(self, ws: trio_websocket.WebSocketConnection, user_id: str) -> None:
        self.ws, self.user_id, self.n = ws, user_id, 0

    async def frame(self) -> WsResponse:
        with trio.fail_after(10):
            while True:
                raw = await self.ws.get_message()
                if not isinstance(raw, str):
                    return decode_response(raw)

    async def send_text(self, recv_id: str, text: str) -> tuple[WsResponse, str]:
        self.n += 1
        client_msg_id = f"cm-{time.time_ns()}"
        msg = sdkws_pb2.MsgData(
            sendID=self.user_id,
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
        incr = f"{self.user_id}-{self.n}"
        await self.ws.send_message(
            encode_request(1003, incr, self.user_id, f"op-{client_msg_id}", msg.SerializeToString())
        )
        while True:
            f = await self.frame()
            if f.msg_incr == incr:
                return f, client_msg_id

    async def pushed_texts(self, wait: float) -> list[str]:
        texts: list[str] = []
        with trio.move_on_after(wait):
            while True:
                f = await self.frame()
                if f.req_identifier == 2001 and f.data:
                    for conv in sdkws_pb2.PushMessages.FromString(f.data).msgs.values():
                        texts += [json.loads(m.content)["content"] for m in conv.Msgs]
        return texts


@asynccontextmanager
async def connect(server: ServerProcess, user_id: str) -> AsyncIterator[Conn]:
    token = server.user_token(user_id, WEB)
    url = (
        f"{server.ws_url}?sendID={user_id}&token={token}&platformID={WEB}&operationID=op{time.time_ns()}"
        "&isBackground=false&isMsgResp=true&sdkType=js"
    )
    async with trio_websocket.open_websocket_url(url) as ws:
        assert await ws.get_message() == '{"errCode":0,"errMsg":"","errDlt":""}'
        yield Conn(ws, user_id)


async def test_before_send_blocks_with_the_receivers_error(
    server: ServerProcess, receiver: Receiver, users: dict[str, str]
) -> None:
    async with connect(server, users["alice"]) as alice, connect(server, users["bob"]) as bob:
        reply, cmid = await alice.send_text(users["bob"], "blockme please")
        assert (reply.err_code, reply.err_msg) == (5001, "ContentForbidden")
        assert "blockme please" not in await bob.pushed_texts(0.5)
    call = receiver.of("callbackBeforeSendSingleMsgCommand", lambda b: b["clientMsgID"] == cmid)[0]
    assert call.body["callbackCommand"] == "callbackBeforeSendSingleMsgCommand"
    assert (call.body["sendID"], call.body["recvID"], call.body["contentType"]) == (users["alice"], users["bob"], 101)
    assert call.headers["operationID"] == f"op-{cmid}" == call.body["operationID"]
    assert call.headers["X-Hook-Secret"] == "s3cret"
    assert call.path == "/callback/callbackBeforeSendSingleMsgCommand"
    # Nothing was stored, so no after-callback either.
    time.sleep(0.3)
    assert receiver.of("callbackAfterSendSingleMsgCommand", lambda b: b["clientMsgID"] == cmid) == []


async def test_before_modify_changes_what_the_recipient_gets(
    server: ServerProcess, receiver: Receiver, users: dict[str, str]
) -> None:
    async with connect(server, users["alice"]) as alice, connect(server, users["bob"]) as bob:
        reply, _ = await alice.send_text(users["bob"], "modifyme")
        assert reply.err_code == 0
        texts = await bob.pushed_texts(1.0)
    assert "changed by the hook" in texts
    assert "modifyme" not in texts


async def test_a_slow_receiver_fails_the_send_closed(
    server: ServerProcess, receiver: Receiver, users: dict[str, str]
) -> None:
    async with connect(server, users["alice"]) as alice:
        started = time.monotonic()
        reply, _ = await alice.send_text(users["bob"], "slowme")
        took = time.monotonic() - started
    assert reply.err_code == 90004  # NetworkError: fail_open is off by default, as OpenIM
    assert 0.9 <= took < 2.4, f"the send waited {took:.2f}s; the timeout is 1s"


async def test_after_send_is_retried_until_the_receiver_recovers(
    server: ServerProcess, receiver: Receiver, users: dict[str, str]
) -> None:
    async with connect(server, users["alice"]) as alice:
        started = time.monotonic()
        reply, cmid = await alice.send_text(users["bob"], "flaky receiver")
        assert reply.err_code == 0
        assert time.monotonic() - started < 0.9, "the send did not wait for the after-callback"
    calls = await trio.to_thread.run_sync(
        lambda: receiver.wait_for("callbackAfterSendSingleMsgCommand", lambda b: b["clientMsgID"] == cmid, count=3)
    )
    assert len(calls) == 3  # 503, 503, then 200: no fourth attempt
    assert calls[2].at - calls[1].at >= calls[1].at - calls[0].at >= 0.05, "backoff grows"
    assert calls[0].body["seq"] > 0 and calls[0].body["serverMsgID"], "after-callbacks carry the stored message"
    time.sleep(0.5)
    assert len(receiver.of("callbackAfterSendSingleMsgCommand", lambda b: b["clientMsgID"] == cmid)) == 3


async def test_friend_callbacks(server: ServerProcess, receiver: Receiver, users: dict[str, str]) -> None:
    token = server.user_token(users["carol"])
    refused = server.post(
        "/friend/add_friend",
        {"fromUserID": users["carol"], "toUserID": users["alice"], "reqMsg": "refuse"},
        token=token,
    ).json()
    assert refused == {"errCode": 7001, "errMsg": "NoStrangers", "errDlt": "not today"}
    server.call(
        "/friend/add_friend", {"fromUserID": users["carol"], "toUserID": users["alice"], "reqMsg": "hi"}, token=token
    )
    after = await trio.to_thread.run_sync(
        lambda: receiver.wait_for("callbackAfterAddFriendCommand", lambda b: b["fromUserID"] == users["carol"])
    )
    assert after[0].body["toUserID"] == users["alice"] and after[0].body["reqMsg"] == "hi"
    assert receiver.of("callbackAfterAddFriendCommand", lambda b: b.get("reqMsg") == "refuse") == []


async def test_online_and_offline_callbacks(server: ServerProcess, receiver: Receiver, users: dict[str, str]) -> None:
    user = users["carol"]
    async with connect(server, user):
        online = await trio.to_thread.run_sync(
            lambda: receiver.wait_for("callbackAfterUserOnlineCommand", lambda b: b["userID"] == user)
        )
    assert (online[0].body["platformID"], online[0].body["platform"]) == (WEB, "Web")
    offline = await trio.to_thread.run_sync(
        lambda: receiver.wait_for("callbackAfterUserOfflineCommand", lambda b: b["userID"] == user)
    )
    assert offline[0].body["connID"] == online[0].body["connID"]

"""The friend-only switch (``messaging.friend_verify: true``) on a real server: a single-chat send over the
WebSocket between non-friends is refused with 1303 NotPeersFriend, friends chat, and a one-directional
delete refuses exactly the side the recipient no longer lists. Admin REST sends skip the check, as in
OpenIM."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio_websocket

from openim.wire.envelope import decode_response, encode_request
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

pytestmark = pytest.mark.trio


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return "messaging: {friend_verify: true}\n"


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    server.call(
        "/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("va", "vb", "vc")]}, token=admin
    )
    out = {u: server.user_token(u) for u in ("va", "vb", "vc")}
    out["admin"] = admin
    return out


async def send_code(server: ServerProcess, token: str, send_id: str, recv_id: str) -> int:
    """Log ``send_id`` in over the WebSocket, send one text message, return the 1003 reply's errCode."""
    query = f"sendID={send_id}&token={token}&platformID=5&operationID=op{time.time_ns()}&isBackground=false"
    query += "&isMsgResp=true&sdkType=js"
    msg = sdkws_pb2.MsgData(
        sendID=send_id,
        recvID=recv_id,
        clientMsgID=f"v{time.time_ns()}",
        senderPlatformID=5,
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"hi"}',
        createTime=int(time.time() * 1000),
        status=1,
    )
    async with trio_websocket.open_websocket_url(f"{server.ws_url}?{query}") as ws:
        with trio.fail_after(10):
            assert await ws.get_message() == '{"errCode":0,"errMsg":"","errDlt":""}'
            await ws.send_message(encode_request(1003, "m1", send_id, "op-verify", msg.SerializeToString()))
            while True:
                frame = await ws.get_message()
                if isinstance(frame, bytes):
                    reply = decode_response(frame)
                    if reply.msg_incr == "m1":
                        return reply.err_code


def call(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> None:
    server.call(path, body, token=token)


async def test_only_friends_may_chat(server: ServerProcess, tokens: dict[str, str]) -> None:
    assert await send_code(server, tokens["va"], "va", "vb") == 1303
    call(server, "/friend/add_friend", {"fromUserID": "va", "toUserID": "vb"}, tokens["va"])
    call(server, "/friend/add_friend_response", {"fromUserID": "va", "toUserID": "vb", "handleResult": 1}, tokens["vb"])
    assert await send_code(server, tokens["va"], "va", "vb") == 0
    assert await send_code(server, tokens["vb"], "vb", "va") == 0

    # vb drops va from his list: va can no longer write to vb; vb (still listed by va) can write to va.
    call(server, "/friend/delete_friend", {"ownerUserID": "vb", "friendUserID": "va"}, tokens["vb"])
    assert await send_code(server, tokens["va"], "va", "vb") == 1303
    assert await send_code(server, tokens["vb"], "vb", "va") == 0


async def test_blacklist_wins_over_friendship_and_admin_sends_pass(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    call(server, "/friend/import_friend", {"ownerUserID": "vc", "friendUserIDs": ["va"]}, tokens["admin"])
    assert await send_code(server, tokens["va"], "va", "vc") == 0
    call(server, "/friend/add_black", {"ownerUserID": "vc", "blackUserID": "va"}, tokens["vc"])
    assert await send_code(server, tokens["va"], "va", "vc") == 1302
    # /msg/send_msg is an admin route, and OpenIM lets admin sends skip relation checks.
    body = {
        "sendID": "va",
        "recvID": "vc",
        "senderPlatformID": 5,
        "content": {"content": "from the admin console"},
        "contentType": 101,
        "sessionType": 1,
    }
    assert server.call("/msg/send_msg", body, token=tokens["admin"])["serverMsgID"]

"""Notification content types (1000-5000) are the server's: an ordinary user's 1003 carrying one is
refused with 1002 NoPermissionError, to a friend, to a group and past a blacklist alike; the server's
own notifications and admin sends keep working (issue 12 item 13)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from openim.wire.constants import ContentType, ReqIdentifier, SessionType
from openim.wire.pb import sdkws_pb2
from tests.integration.wsclient import ws_login

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

pytestmark = pytest.mark.trio

SUFFIX = str(time.time_ns())[-8:]
A, B, C = f"ca{SUFFIX}", f"cb{SUFFIX}", f"cc{SUFFIX}"
GROUP = f"cg{SUFFIX}"


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in (A, B, C)]}, token=admin)
    out = {u: server.user_token(u) for u in (A, B, C)}
    server.call("/friend/import_friend", {"ownerUserID": A, "friendUserIDs": [B, C]}, token=admin)
    server.call("/friend/add_black", {"ownerUserID": C, "blackUserID": A}, token=out[C])
    server.call(
        "/group/create_group",
        {"memberUserIDs": [B], "ownerUserID": A, "groupInfo": {"groupID": GROUP, "groupName": "g", "groupType": 2}},
        token=out[A],
    )
    out["admin"] = admin
    return out


def _msg(content_type: int, *, recv: str = "", group: str = "") -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(
        sendID=A, recvID=recv, groupID=group, clientMsgID=f"c{time.time_ns()}", senderPlatformID=5,
        sessionType=SessionType.READ_GROUP if group else SessionType.SINGLE, msgFrom=100,
        contentType=content_type, content=json.dumps({"detail": "{}"}).encode(),
        createTime=int(time.time() * 1000), status=1,
    )


@pytest.mark.parametrize(
    ("content_type", "target"),
    [
        (ContentType.GROUP_DISMISSED, {"group": GROUP}),
        (ContentType.MEMBER_KICKED, {"group": GROUP}),
        (ContentType.FRIEND_ADDED, {"recv": B}),
        (ContentType.MSG_REVOKE_NOTIFICATION, {"recv": B}),
        (ContentType.FRIEND_APPLICATION_APPROVED, {"recv": C}),  # C blacklisted A: no bypass either
        (ContentType.BUSINESS_NOTIFICATION, {"recv": B}),
    ],
    ids=lambda v: str(v) if isinstance(v, int) else "-".join(v),
)
async def test_user_may_not_send_notification_content(
    server: ServerProcess, tokens: dict[str, str], content_type: int, target: dict[str, str]
) -> None:
    async with ws_login(server.ws_url, A, tokens[A]) as client:
        reply = await client.request(ReqIdentifier.SEND_MSG, _msg(content_type, **target).SerializeToString())
        assert reply.err_code == 1002, reply
        assert reply.data is None


async def test_ordinary_content_still_goes_through(server: ServerProcess, tokens: dict[str, str]) -> None:
    async with ws_login(server.ws_url, A, tokens[A]) as client:
        for target in ({"recv": B}, {"group": GROUP}):
            msg = _msg(ContentType.TEXT, **target)
            msg.content = json.dumps({"content": "hi"}).encode()
            reply = await client.request(ReqIdentifier.SEND_MSG, msg.SerializeToString())
            assert reply.err_code == 0, reply


async def test_admin_and_server_notifications_still_work(server: ServerProcess, tokens: dict[str, str]) -> None:
    body = {"sendUserID": A, "recvUserID": B, "key": "k", "data": "{}", "sendMsg": True}
    assert server.call("/msg/send_business_notification", body, token=tokens["admin"])["serverMsgID"]
    # a server-made notification (group info set -> 1502) on a user's request
    server.call("/group/set_group_info", {"groupInfoForSet": {"groupID": GROUP, "notification": "n"}},
                token=tokens[A])

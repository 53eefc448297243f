"""/user/process_user_command_* and /user/*_notification_account against a real server process: the
command lists with their codes and the 1305-1307 notifications another device of the user receives, and
the admin-only system accounts."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
import trio

from openim.wire.envelope import WsResponse
from openim.wire.pb import sdkws_pb2
from tests.integration.wsclient import WsClient, ws_login

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

PAGE = {"pageNumber": 1, "showNumber": 50}
IOS = 1


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("ca", "cb")]}, token=admin)
    out = {u: server.user_token(u) for u in ("ca", "cb")}
    out["admin"] = admin
    return out


def code(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> int:
    resp = server.post(path, body, token=token)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["errCode"])


def commands(server: ServerProcess, user: str, token: str, type_: int | None = None) -> list[dict[str, Any]]:
    if type_ is None:
        data = server.call("/user/process_user_command_get_all", {"userID": user}, token=token)
    else:
        data = server.call("/user/process_user_command_get", {"userID": user, "type": type_}, token=token)
    return list(data["CommandResp"])


# -- command lists ------------------------------------------------------------------------------------------


def test_command_list_add_get_update_delete(server: ServerProcess, tokens: dict[str, str]) -> None:
    ca = tokens["ca"]
    before = int(time.time())
    server.call("/user/process_user_command_add",
                {"userID": "ca", "type": 1, "uuid": "fav-1", "value": "msg-9", "ex": "{\"k\":1}"}, token=ca)
    server.call("/user/process_user_command_add", {"userID": "ca", "type": 1, "uuid": "fav-2"}, token=ca)
    server.call("/user/process_user_command_add", {"userID": "ca", "type": 2, "uuid": "pin-1", "value": "c"},
                token=ca)
    favs = commands(server, "ca", ca, 1)
    assert [(c["uuid"], c["value"], c["ex"]) for c in favs] == [("fav-1", "msg-9", '{"k":1}'), ("fav-2", "", "")]
    assert all(before <= c["createTime"] <= int(time.time()) for c in favs)  # seconds, as OpenIM
    assert {(c["type"], c["uuid"]) for c in commands(server, "ca", ca)} == {(1, "fav-1"), (1, "fav-2"), (2, "pin-1")}
    assert commands(server, "ca", ca, 3) == []

    # update: an absent or null wrapper leaves the field as it is
    server.call("/user/process_user_command_update",
                {"userID": "ca", "type": 1, "uuid": "fav-1", "value": "msg-10", "ex": None}, token=ca)
    first = commands(server, "ca", ca, 1)[0]
    assert (first["value"], first["ex"]) == ("msg-10", '{"k":1}')
    server.call("/user/process_user_command_update", {"userID": "ca", "type": 1, "uuid": "fav-1", "ex": ""}, token=ca)
    first = commands(server, "ca", ca, 1)[0]
    assert (first["value"], first["ex"]) == ("msg-10", "")

    server.call("/user/process_user_command_delete", {"userID": "ca", "type": 1, "uuid": "fav-1"}, token=ca)
    assert [c["uuid"] for c in commands(server, "ca", ca, 1)] == ["fav-2"]
    # an app admin acts for the user
    server.call("/user/process_user_command_delete", {"userID": "ca", "type": 1, "uuid": "fav-2"},
                token=tokens["admin"])
    assert commands(server, "ca", ca, 1) == []


def test_command_names_are_unique_and_missing_ones_not_found(server: ServerProcess, tokens: dict[str, str]) -> None:
    cb = tokens["cb"]
    server.call("/user/process_user_command_add", {"userID": "cb", "type": 5, "uuid": "x", "value": "1"}, token=cb)
    add = {"userID": "cb", "type": 5, "uuid": "x", "value": "2"}
    assert code(server, "/user/process_user_command_add", add, cb) == 1003  # DuplicateKey: nothing overwritten
    assert [c["value"] for c in commands(server, "cb", cb, 5)] == ["1"]
    missing = {"userID": "cb", "type": 5, "uuid": "nope"}
    assert code(server, "/user/process_user_command_update", {**missing, "value": "v"}, cb) == 1004
    assert code(server, "/user/process_user_command_delete", missing, cb) == 1004
    assert code(server, "/user/process_user_command_delete", {**missing, "uuid": "x", "type": 6}, cb) == 1004


def test_command_bad_input_and_strangers(server: ServerProcess, tokens: dict[str, str]) -> None:
    ca, admin = tokens["ca"], tokens["admin"]
    path = "/user/process_user_command_add"
    assert code(server, path, {"userID": "", "type": 1, "uuid": "u"}, ca) == 1001
    assert code(server, path, {"userID": "ca", "type": 1, "uuid": ""}, ca) == 1001
    assert code(server, path, {"userID": "ca", "type": 1, "uuid": "u" * 257}, ca) == 1001
    assert code(server, path, {"userID": "ca", "type": 1, "uuid": "u", "value": "v" * 4097}, ca) == 1001
    assert code(server, path, {"userID": "ca", "type": "one", "uuid": "u"}, ca) == 1001
    assert code(server, path, {"userID": "nobody", "type": 1, "uuid": "u"}, admin) == 1004
    # another user may neither write nor read the list
    assert code(server, path, {"userID": "cb", "type": 1, "uuid": "u"}, ca) == 1002
    assert code(server, "/user/process_user_command_get_all", {"userID": "cb"}, ca) == 1002
    assert code(server, "/user/process_user_command_get", {"userID": "cb", "type": 5}, ca) == 1002
    assert code(server, "/user/process_user_command_get_all", {}, ca) == 1001
    resp = server.post("/user/process_user_command_get_all", {"userID": "ca"})  # no token
    assert resp.json()["errCode"] == 1001


async def _notification(client: WsClient, content_type: int) -> tuple[sdkws_pb2.MsgData, str]:
    """The next pushed notification of ``content_type`` (and its conversation ID)."""
    with trio.fail_after(10):
        while True:
            frame = await client.frame()
            if not isinstance(frame, WsResponse) or frame.req_identifier != 2001:
                continue
            push = sdkws_pb2.PushMessages.FromString(frame.data)
            for conv, pulled in push.notificationMsgs.items():
                for msg in pulled.Msgs:
                    if msg.contentType == content_type:
                        return msg, conv


@pytest.mark.trio
async def test_each_change_is_announced_to_the_users_other_device(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    """REST with the Web token (device 1); the iOS connection (device 2) hears 1305, 1307, 1306 with
    UserCommand*Tips from and to the user, and the request's operationID."""
    ios = server.user_token("ca", IOS)
    async with ws_login(server.ws_url, "ca", ios, IOS) as device2:
        changes = [
            ("/user/process_user_command_add", {"value": "v"}, 1305),
            ("/user/process_user_command_update", {"value": "w"}, 1307),
            ("/user/process_user_command_delete", {}, 1306),
        ]
        for path, extra, content_type in changes:
            op = f"op-cmd-{content_type}-{time.time_ns()}"
            resp = server.post(path, {"userID": "ca", "type": 8, "uuid": "dev", **extra}, token=tokens["ca"],
                               operationID=op)
            assert resp.json()["errCode"] == 0, resp.text
            msg, conv = await _notification(device2, content_type)
            assert (msg.sendID, msg.recvID, msg.sessionType, msg.msgFrom) == ("ca", "ca", 1, 200)
            assert conv == "n_ca_ca"
            tips = json.loads(json.loads(msg.content)["detail"])
            assert tips == {"fromUserID": "ca", "toUserID": "ca"}
            assert msg.options["history"] is False and msg.options["unreadCount"] is False


# -- notification accounts ------------------------------------------------------------------------------------


def test_notification_accounts_add_search_update(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    made = server.call("/user/add_notification_account",
                       {"userID": "bank_notice", "nickName": "Bank notices", "faceURL": "http://f/n.png",
                        "appMangerLevel": 3}, token=admin)
    assert made == {"userID": "bank_notice", "faceURL": "http://f/n.png", "nickName": "Bank notices",
                    "appMangerLevel": 3}
    generated = server.call("/user/add_notification_account", {"nickName": "Robot", "appMangerLevel": 4}, token=admin)
    gid = generated["userID"]
    assert len(gid) == 10 and gid.isdigit() and gid[0] != "0", gid
    assert generated["appMangerLevel"] == 4

    found = server.call("/user/search_notification_account", {"pagination": PAGE}, token=admin)
    ids = [a["userID"] for a in found["notificationAccounts"]]
    assert found["total"] == len(ids) and {"bank_notice", gid} <= set(ids)
    assert "ca" not in ids and "imAdmin" not in ids  # ordinary users and admins are not system accounts
    by_level = server.call("/user/search_notification_account", {"appManagerLevel": 4, "pagination": PAGE},
                           token=admin)
    assert [a["userID"] for a in by_level["notificationAccounts"]] == [gid]
    by_id = server.call("/user/search_notification_account", {"keyword": "bank_notice", "pagination": PAGE},
                        token=admin)
    assert by_id["total"] == 1 and by_id["notificationAccounts"][0]["nickName"] == "Bank notices"
    by_name = server.call("/user/search_notification_account", {"keyword": "Robot", "pagination": PAGE}, token=admin)
    assert [a["userID"] for a in by_name["notificationAccounts"]] == [gid]
    none = server.call("/user/search_notification_account", {"keyword": "ca", "pagination": PAGE}, token=admin)
    assert none == {"total": 0, "notificationAccounts": []}
    page2 = server.call("/user/search_notification_account", {"pagination": {"pageNumber": 2, "showNumber": 1}},
                        token=admin)
    assert page2["total"] == found["total"] and [a["userID"] for a in page2["notificationAccounts"]] == ids[1:2]

    server.call("/user/update_notification_account", {"userID": "bank_notice", "nickName": "Bank news"},
                token=admin)
    info = server.call("/user/get_users_info", {"userIDs": ["bank_notice"]}, token=tokens["ca"])["usersInfo"][0]
    assert (info["nickname"], info["faceURL"], info["appMangerLevel"]) == ("Bank news", "http://f/n.png", 3)

    # a system account never gets a user token
    assert code(server, "/auth/get_user_token", {"userID": "bank_notice", "platformID": 5}, admin) == 1001


def test_notification_account_bad_input_and_users(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin, ca = tokens["admin"], tokens["ca"]
    add = "/user/add_notification_account"
    assert code(server, add, {"nickName": "x", "appMangerLevel": 1}, admin) == 1001
    assert code(server, add, {"nickName": "x"}, admin) == 1001  # level 0
    assert code(server, add, {"nickName": "x", "appMangerLevel": 5}, admin) == 1001
    assert code(server, add, {"userID": "ca", "nickName": "x", "appMangerLevel": 3}, admin) == 1001  # used
    assert code(server, add, {"userID": "a:b", "nickName": "x", "appMangerLevel": 3}, admin) == 1001
    assert code(server, add, {"nickName": "n" * 256, "appMangerLevel": 3}, admin) == 1001
    update = "/user/update_notification_account"
    assert code(server, update, {"userID": "ca", "nickName": "x"}, admin) == 1001  # an ordinary user
    assert code(server, update, {"userID": "nobody", "nickName": "x"}, admin) == 1001
    assert code(server, update, {"userID": "", "nickName": "x"}, admin) == 1001
    search = "/user/search_notification_account"
    assert code(server, search, {"keyword": "x"}, admin) == 1001  # no pagination
    # ordinary users are refused every one of them
    assert code(server, add, {"nickName": "x", "appMangerLevel": 3}, ca) == 1002
    assert code(server, update, {"userID": "bank_notice", "nickName": "x"}, ca) == 1002
    assert code(server, search, {"pagination": PAGE}, ca) == 1002
    info = server.call("/user/get_users_info", {"userIDs": ["ca"]}, token=ca)["usersInfo"][0]
    assert info["nickname"] == "ca" and info["appMangerLevel"] == 0

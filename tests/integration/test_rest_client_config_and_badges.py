"""Newer OpenIM routes, against a real server process: the unanswered friend-request and
group-application counts the Go SDK core asks for at login (the badges of "new friends" and "group
notifications"), the client configuration an operator hands to the apps (defaults and per-user
settings), and /msg/send_simple_msg, a business backend's reply to a message an after-send callback
told it about."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from openim.webhooks.keys import message_key

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

SUFFIX = str(time.time_ns())[-7:]
A, B, C, D = (f"cc{u}{SUFFIX}" for u in "abcd")
PAGE = {"pageNumber": 1, "showNumber": 50}


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in (A, B, C, D)]}, token=admin)
    return {"admin": admin, **{u: server.user_token(u) for u in (A, B, C, D)}}


def err(server: ServerProcess, path: str, body: Any, token: str) -> int:
    env = server.post(path, body, token=token).json()
    return int(env["errCode"])


def test_unhandled_friend_requests_are_counted_for_their_receiver(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    path = "/friend/get_self_unhandled_apply_count"
    assert server.call(path, {"userID": A}, token=tokens[A])["count"] in (None, 0, "0")
    server.call("/friend/add_friend", {"fromUserID": B, "toUserID": A, "reqMsg": "hi"}, token=tokens[B])
    time.sleep(0.01)
    cut = int(time.time() * 1000)
    time.sleep(0.01)
    server.call("/friend/add_friend", {"fromUserID": C, "toUserID": A, "reqMsg": "hi"}, token=tokens[C])
    assert int(server.call(path, {"userID": A}, token=tokens[A])["count"]) == 2
    assert int(server.call(path, {"userID": A, "time": cut}, token=tokens[A])["count"]) == 1
    server.call(
        "/friend/add_friend_response",
        {"fromUserID": B, "toUserID": A, "handleResult": -1, "handleMsg": "no"},
        token=tokens[A],
    )
    assert int(server.call(path, {"userID": A}, token=tokens[A])["count"]) == 1
    assert int(server.call(path, {"userID": A}, token=tokens["admin"])["count"]) == 1
    assert err(server, path, {"userID": A}, tokens[B]) == 1002
    assert err(server, path, {"userID": ""}, tokens[A]) == 1001
    assert err(server, path, {"userID": A, "time": -1}, tokens[A]) == 1001


def test_unhandled_group_applications_are_counted_for_owners_and_admins(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    path = "/group/get_group_application_unhandled_count"
    gid = f"ccg{SUFFIX}"
    server.call(
        "/group/create_group",
        {"ownerUserID": A, "memberUserIDs": [B], "adminUserIDs": [],
         "groupInfo": {"groupID": gid, "groupName": "badges", "groupType": 2, "needVerification": 1}},
        token=tokens[A],
    )
    for applicant in (C, D):
        body = {"groupID": gid, "reqMessage": "let me in", "joinSource": 3, "inviterUserID": applicant}
        server.call("/group/join_group", body, token=tokens[applicant])
    assert int(server.call(path, {"userID": A}, token=tokens[A])["count"]) == 2
    # an ordinary member sees none; made an admin, he sees them too
    assert int(server.call(path, {"userID": B}, token=tokens[B]).get("count", 0)) == 0
    server.call("/group/set_group_member_info", {"members": [{"groupID": gid, "userID": B, "roleLevel": 60}]},
                token=tokens[A])
    assert int(server.call(path, {"userID": B}, token=tokens[B])["count"]) == 2
    server.call(
        "/group/group_application_response",
        {"groupID": gid, "fromUserID": C, "handledMsg": "ok", "handleResult": 1},
        token=tokens[A],
    )
    assert int(server.call(path, {"userID": A}, token=tokens[A])["count"]) == 1
    assert err(server, path, {"userID": A}, tokens[C]) == 1002
    assert err(server, path, {"userID": ""}, tokens[A]) == 1001


def test_client_config_defaults_are_overlaid_by_the_users_own(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    server.call("/user/set_user_client_config", {"userID": "", "configs": {"theme": "light", "maxUpload": "100"}},
                token=admin)
    server.call("/user/set_user_client_config", {"userID": A, "configs": {"theme": "dark"}}, token=admin)
    get = "/user/get_user_client_config"
    assert server.call(get, {"userID": A}, token=tokens[A])["configs"] == {"theme": "dark", "maxUpload": "100"}
    assert server.call(get, {"userID": B}, token=tokens[B])["configs"] == {"theme": "light", "maxUpload": "100"}
    assert server.call(get, {"userID": ""}, token=tokens[C])["configs"] == {"theme": "light", "maxUpload": "100"}
    assert server.call(get, {"userID": A}, token=admin)["configs"]["theme"] == "dark"
    assert err(server, get, {"userID": A}, tokens[B]) == 1002
    assert err(server, get, {"userID": f"nobody{SUFFIX}"}, admin) == 1004

    server.call("/user/del_user_client_config", {"userID": A, "keys": ["theme", "unknown"]}, token=admin)
    assert server.call(get, {"userID": A}, token=tokens[A])["configs"]["theme"] == "light"

    page = server.call("/user/page_user_client_config", {"userID": "", "key": "theme", "pagination": PAGE},
                       token=admin)
    assert int(page["total"]) >= 1 and {"key": "theme", "userID": "", "value": "light"} in page["configs"]


def test_client_config_writes_are_for_admins_and_checked(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    assert err(server, "/user/set_user_client_config", {"userID": A, "configs": {"x": "1"}}, tokens[A]) == 1002
    assert err(server, "/user/del_user_client_config", {"userID": A, "keys": ["x"]}, tokens[A]) == 1002
    assert err(server, "/user/page_user_client_config", {"pagination": PAGE}, tokens[A]) == 1002
    assert err(server, "/user/set_user_client_config", {"userID": A, "configs": {}}, admin) == 1001
    assert err(server, "/user/set_user_client_config", {"userID": A, "configs": {"": "v"}}, admin) == 1001
    assert err(server, "/user/set_user_client_config", {"userID": f"nobody{SUFFIX}", "configs": {"x": "1"}},
               admin) == 1004
    assert err(server, "/user/del_user_client_config", {"userID": A, "keys": []}, admin) == 1001
    assert err(server, "/user/page_user_client_config", {"pagination": {"pageNumber": 0, "showNumber": 5}},
               admin) == 1001


def _key(send_id: str, recv_id: str = "", group_id: str = "") -> str:
    """The key as the after-send callbacks carry it (what a bot hands back)."""
    return quote(message_key(send_id, recv_id, group_id))


def _pulled(server: ServerProcess, token: str, user_id: str, conv: str) -> list[dict[str, Any]]:
    body = {"userID": user_id, "seqRanges": [{"conversationID": conv, "begin": 1, "end": 1000, "num": 1000}]}
    entry = server.call("/msg/pull_msg_by_seq", body, token=token)["msgs"].get(conv)
    return list(entry["Msgs"]) if entry else []


def test_send_simple_msg_replies_to_the_message_its_key_names(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    # one-to-one: the key names D's message to C; the reply goes from C back to D, as markdown
    data = server.call(f"/msg/send_simple_msg?key={_key(D, C)}", {"content": "**got it**", "ex": "bot"}, token=admin)
    assert data["serverMsgID"] and data["clientMsgID"]
    conv = "si_" + "_".join(sorted((C, D)))
    [reply] = [m for m in _pulled(server, tokens[D], D, conv) if m["serverMsgID"] == data["serverMsgID"]]
    assert (reply["sendID"], reply["recvID"], reply["contentType"], reply["sessionType"]) == (C, D, 118, 1)
    assert json.loads(base64.b64decode(reply["content"])) == {"content": "**got it**"}
    assert reply["ex"] == "bot" and reply["senderNickname"] == C

    # a user may reply as himself (the send path's rules apply), not as someone else
    server.call(f"/msg/send_simple_msg?key={_key(D, C)}", {"content": "me"}, token=tokens[C])
    assert err(server, f"/msg/send_simple_msg?key={_key(C, D)}", {"content": "x"}, tokens[C]) == 1002

    # group: the body's sendID speaks in the key's group
    gid = f"ccs{SUFFIX}"
    server.call("/group/create_group", {"ownerUserID": A, "memberUserIDs": [B],
                                        "groupInfo": {"groupID": gid, "groupName": "bot", "groupType": 2}},
                token=admin)
    data = server.call(f"/msg/send_simple_msg?key={_key(B, group_id=gid)}", {"sendID": A, "content": "hi all"},
                       token=admin)
    [said] = [m for m in _pulled(server, tokens[B], B, f"sg_{gid}") if m["serverMsgID"] == data["serverMsgID"]]
    assert (said["sendID"], said["groupID"], said["sessionType"], said["contentType"]) == (A, gid, 3, 118)


def test_send_simple_msg_refuses_a_bad_key(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    assert err(server, "/msg/send_simple_msg", {"content": "x"}, admin) == 1001  # no key
    assert err(server, "/msg/send_simple_msg?key=%%%", {"content": "x"}, admin) == 1001  # not base64
    not_json = base64.b64encode(b"[1,2]").decode()
    assert err(server, f"/msg/send_simple_msg?key={not_json}", {"content": "x"}, admin) == 1001
    assert err(server, f"/msg/send_simple_msg?key={_key('', C)}", {"content": "x"}, admin) == 1001  # no sendID
    assert err(server, f"/msg/send_simple_msg?key={_key(B, group_id='g')}", {"content": "x"}, admin) == 1001
    assert err(server, f"/msg/send_simple_msg?key={_key(D, f'nobody{SUFFIX}')}", {"content": "x"}, admin) == 1004

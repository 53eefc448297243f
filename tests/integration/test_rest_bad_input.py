"""Bad input over REST is refused with 1001 and a reason, never stored and never answered with 500.

- field lengths: one table (openim.services.field_limits) on every write path, register and update
  alike; a 1 MB nickname on update used to be stored and served to every contact;
- a lone UTF-16 surrogate ("\\ud800") in any JSON string, and ``null`` inside a list of strings or
  numbers, used to be errCode 500;
- a NUL ("\\u0000") was stored by SQLite and was errCode 500 on PostgreSQL: it is 1001 on both.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from conftest import ServerProcess

ARGS = 1001
MB = 1024 * 1024


def _uid(tag: str) -> str:
    return f"{tag}_{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
    return server.admin_token()


def _register(server: ServerProcess, admin: str, *user_ids: str) -> None:
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in user_ids]}, token=admin)


def _refused(resp: httpx.Response, *words: str) -> dict[str, Any]:
    # 400 on the routes OpenIM binds with gin's BindJSON (/msg/send_msg), 200 elsewhere.
    assert resp.status_code in (200, 400), resp.text[:300]
    env: dict[str, Any] = resp.json()
    assert env["errCode"] == ARGS, env
    for word in words:
        assert word in env["errDlt"], env
    return env


def _raw(server: ServerProcess, path: str, body: bytes, token: str) -> httpx.Response:
    """POST bytes as they are (httpx's json= would refuse to encode a lone surrogate)."""
    headers = {"operationID": f"bad-{secrets.token_hex(4)}", "token": token, "content-type": "application/json"}
    return httpx.post(server.api_url + path, content=body, headers=headers, timeout=30)


# -- field lengths ----------------------------------------------------------------------------------------


def test_a_1mb_nickname_on_update_is_refused_and_not_stored(server: ServerProcess, admin: str) -> None:
    user = _uid("big")
    _register(server, admin, user)
    token = server.user_token(user)
    huge = "n" * MB
    resp = server.post("/user/update_user_info", {"userInfo": {"userID": user, "nickname": huge}}, token=token)
    _refused(resp, "nickname", "255")
    resp = server.post("/user/update_user_info_ex", {"userInfo": {"userID": user, "faceURL": huge}}, token=token)
    _refused(resp, "faceURL")
    resp = server.post("/user/update_user_info_ex", {"userInfo": {"userID": user, "ex": huge}}, token=token)
    _refused(resp, "ex")
    shown = server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"][0]
    assert (shown["nickname"], shown["faceURL"], shown["ex"]) == (user, "", "")
    # At the limit is fine.
    server.call("/user/update_user_info", {"userInfo": {"userID": user, "nickname": "n" * 255}}, token=token)


def test_registration_uses_the_same_limits(server: ServerProcess, admin: str) -> None:
    user = _uid("reg")
    resp = server.post("/user/user_register", {"users": [{"userID": user, "nickname": "x", "ex": "e" * 5000}]},
                       token=admin)  # fmt: skip
    _refused(resp, user, "ex", "4096")
    resp = server.post("/user/user_register", {"users": [{"userID": user, "nickname": "x", "faceURL": "f" * 3000}]},
                       token=admin)  # fmt: skip
    _refused(resp, "faceURL")
    assert server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"] == []


def test_friend_group_conversation_and_push_token_texts_are_bounded(server: ServerProcess, admin: str) -> None:
    a, b = _uid("fa"), _uid("fb")
    _register(server, admin, a, b)
    ta = server.user_token(a)
    big = "r" * 5000
    _refused(server.post("/friend/add_friend", {"fromUserID": a, "toUserID": b, "reqMsg": big}, token=ta), "reqMsg")
    _refused(
        server.post("/group/create_group",
                    {"ownerUserID": a, "memberUserIDs": [b], "groupInfo": {"groupType": 2, "groupName": "g",
                                                                           "notification": "x" * 5000}},
                    token=ta),
        "notification",
    )  # fmt: skip
    _refused(
        server.post("/group/create_group",
                    {"ownerUserID": a, "memberUserIDs": [b], "groupInfo": {"groupType": 2, "groupName": big}},
                    token=ta),
        "groupName",
    )  # fmt: skip
    group = server.call("/group/create_group",
                        {"ownerUserID": a, "memberUserIDs": [b], "groupInfo": {"groupType": 2, "groupName": "g"}},
                        token=ta)["groupInfo"]["groupID"]  # fmt: skip
    _refused(server.post("/group/set_group_info_ex", {"groupID": group, "introduction": big}, token=ta),
             "introduction")  # fmt: skip
    _refused(
        server.post("/group/set_group_member_info", {"members": [{"groupID": group, "userID": a, "nickname": big}]},
                    token=ta),
        "nickname",
    )  # fmt: skip
    conv = {"conversationID": f"si_{a}_{b}", "conversationType": 1, "userID": b, "ex": big}
    _refused(server.post("/conversation/set_conversations", {"userIDs": [a], "conversation": conv}, token=ta), "ex")
    _refused(server.post("/third/fcm_update_token", {"platformID": 2, "fcmToken": "t" * 2000}, token=ta), "fcmToken")


# -- input Python parses but nothing can store ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/user/get_users_info", {"userIDs": ["\ud800"]}),
        ("/user/update_user_info", {"userInfo": {"userID": "SELF", "nickname": "a\udfffb"}}),
        ("/friend/get_friend_list", {"userID": "SELF", "pagination": {"pageNumber": 1, "showNumber": 10},
                                     "\ud83d": 1}),
        ("/msg/send_msg#admin", {"sendID": "SELF", "recvID": "SELF", "sessionType": 1, "contentType": 101,
                           "content": {"content": "\udc00"}}),
    ],
)  # fmt: skip
def test_a_lone_surrogate_is_1001(server: ServerProcess, admin: str, path: str, body: dict[str, Any]) -> None:
    user = _uid("sur")
    _register(server, admin, user)
    token = admin if path.endswith("#admin") else server.user_token(user)
    path = path.removesuffix("#admin")
    text = json.dumps(body).replace("SELF", user)  # ensure_ascii: the surrogate travels as a \\uXXXX escape
    _refused(_raw(server, path, text.encode(), token), "surrogate")
    # The same as raw bytes (Python's parser takes ED A0 80 with surrogatepass).
    raw = json.dumps(body, ensure_ascii=False).replace("SELF", user).encode("utf-8", "surrogatepass")
    _refused(_raw(server, path, raw, token), "surrogate")


def test_a_nul_is_1001_on_every_backend(server: ServerProcess, admin: str) -> None:
    user = _uid("nul")
    body = {"users": [{"userID": user, "nickname": "a\u0000b"}]}
    _refused(server.post("/user/user_register", body, token=admin), "users[0].nickname", "NUL")
    assert server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"] == []
    _register(server, admin, user)
    ex = {"userInfo": {"userID": user, "ex": "x\u0000"}}
    _refused(server.post("/user/update_user_info_ex", ex, token=server.user_token(user)), "userInfo.ex", "NUL")


def test_a_surrogate_pair_is_text(server: ServerProcess, admin: str) -> None:
    user = _uid("pair")
    _register(server, admin, user)
    token = server.user_token(user)
    body = json.dumps({"userInfo": {"userID": user, "nickname": "smile \U0001f600"}}).encode()
    assert b"\\ud83d\\ude00" in body
    env = _raw(server, "/user/update_user_info", body, token).json()
    assert env["errCode"] == 0, env
    shown = server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"][0]
    assert shown["nickname"] == "smile \U0001f600"


def test_null_inside_a_list_of_scalars_is_1001_not_500(server: ServerProcess, admin: str) -> None:
    _refused(server.post("/user/get_users_info", {"userIDs": [None]}, token=admin), "userIDs[0]", "null")
    body = {"ownerUserID": "imAdmin", "conversationIDs": ["x", None]}
    _refused(server.post("/conversation/get_conversations", body, token=admin), "conversationIDs[1]")
    body = {"userID": "imAdmin", "conversationID": "si_a_b", "seqs": [None, 1]}
    _refused(server.post("/msg/mark_msgs_as_read", body, token=admin), "seqs[0]")


def test_the_api_document_is_off_by_default(server: ServerProcess, admin: str) -> None:
    resp = httpx.get(server.api_url + "/openapi.json", headers={"token": admin}, timeout=15)
    assert resp.status_code == 404, resp.text[:200]

"""/user/*, /conversation/* and /jssdk/* against a real server process, over HTTP as clients see them:
the envelope and CORS conventions, users, conversation settings with their incremental sync, and the
protobuf conversation list the JS SDK loads after login."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from openim.wire.pb import jssdk_pb2

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

CONV_12 = "si_alice_bob"


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
    return server.admin_token()


@pytest.fixture(scope="module")
def users(server: ServerProcess, admin: str) -> dict[str, str]:
    """alice, bob and carol registered; their user tokens (platform Web)."""
    server.call(
        "/user/user_register",
        {
            "users": [
                {"userID": "alice", "nickname": "Alice", "faceURL": "http://f/a.png"},
                {"userID": "bob", "nickname": "Bob", "ex": '{"k":1}'},
                {"userID": "carol", "nickname": "Carol", "globalRecvMsgOpt": 2},
            ]
        },
        token=admin,
    )
    return {uid: server.user_token(uid) for uid in ("alice", "bob", "carol")}


def envelope(resp: httpx.Response) -> dict[str, object]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body, dict)
    return body


# -- conventions -----------------------------------------------------------------------------------------


def test_success_envelope_and_cors_headers(server: ServerProcess, users: dict[str, str]) -> None:
    resp = server.post("/user/get_users_info", {"userIDs": ["alice"]}, token=users["alice"])
    body = envelope(resp)
    assert list(body) == ["errCode", "errMsg", "errDlt", "data"]
    assert (body["errCode"], body["errMsg"], body["errDlt"]) == (0, "", "")
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-headers"] == "*"
    assert resp.headers["access-control-max-age"] == "172800"
    assert resp.headers["content-type"].startswith("application/json")


def test_empty_response_omits_data(server: ServerProcess, users: dict[str, str]) -> None:
    body = envelope(
        server.post("/user/update_user_info_ex", {"userInfo": {"userID": "carol", "ex": "e"}}, token=users["carol"])
    )
    assert body == {"errCode": 0, "errMsg": "", "errDlt": ""}


def test_options_preflight(server: ServerProcess) -> None:
    resp = httpx.options(
        server.api_url + "/conversation/set_conversations",
        headers={"Origin": "http://app", "Access-Control-Request-Method": "POST"},
    )
    assert resp.status_code == 200
    assert resp.json() == "Options Request!"
    assert resp.headers["access-control-allow-methods"] == "*"


def test_missing_operation_id_and_token(server: ServerProcess, users: dict[str, str]) -> None:
    resp = httpx.post(server.api_url + "/user/get_users_info", json={"userIDs": []}, headers={"token": users["bob"]})
    assert envelope(resp) == {"errCode": 1001, "errMsg": "ArgsError", "errDlt": "header must have operationID"}
    body = envelope(server.post("/user/get_users_info", {"userIDs": []}))
    assert (body["errCode"], body["errDlt"]) == (1001, "header must have token")


def test_wrong_type_field_names_the_field(server: ServerProcess, users: dict[str, str]) -> None:
    body = envelope(server.post("/user/get_users_info", {"userIDs": "alice"}, token=users["bob"]))
    assert body["errCode"] == 1001 and "userIDs" in str(body["errDlt"])
    body = envelope(
        server.post(
            "/conversation/get_incremental_conversations",
            {"userID": "bob", "version": "3", "versionID": ""},
            token=users["bob"],
        )
    )
    assert body["errCode"] == 1001 and "version" in str(body["errDlt"])


def test_text_plain_json_body_is_accepted(server: ServerProcess, users: dict[str, str]) -> None:
    resp = httpx.post(
        server.api_url + "/user/get_users_info",
        content=json.dumps({"userIDs": ["bob"]}),
        headers={"operationID": "op-plain", "token": users["alice"], "Content-Type": "text/plain;charset=UTF-8"},
    )
    body = envelope(resp)
    assert body["errCode"] == 0
    assert [u["userID"] for u in body["data"]["usersInfo"]] == ["bob"]  # type: ignore[index]


# -- users -----------------------------------------------------------------------------------------------


def test_registered_users_read_back_with_every_field(server: ServerProcess, users: dict[str, str]) -> None:
    data = server.call("/user/get_users_info", {"userIDs": ["bob", "nobody", "alice"]}, token=users["carol"])
    infos = data["usersInfo"]
    assert [u["userID"] for u in infos] == ["bob", "alice"]
    bob = infos[0]
    assert set(bob) == {"userID", "nickname", "faceURL", "ex", "createTime", "appMangerLevel", "globalRecvMsgOpt"}
    assert (bob["nickname"], bob["ex"], bob["faceURL"]) == ("Bob", '{"k":1}', "")
    assert bob["createTime"] > 1_600_000_000_000  # milliseconds


def test_get_users_info_missing_list_is_an_error_but_empty_is_not(server: ServerProcess, users: dict[str, str]) -> None:
    for body in ({}, {"userIDs": None}):
        assert envelope(server.post("/user/get_users_info", body, token=users["bob"]))["errCode"] == 1001
    assert server.call("/user/get_users_info", {"userIDs": []}, token=users["bob"]) == {"usersInfo": []}


def test_register_needs_admin_and_refuses_existing_ids(
    server: ServerProcess, admin: str, users: dict[str, str]
) -> None:
    req = {"users": [{"userID": "dave", "nickname": "Dave"}]}
    assert envelope(server.post("/user/user_register", req, token=users["alice"]))["errCode"] == 1002
    again = {"users": [{"userID": "alice", "nickname": "Alice"}]}
    assert envelope(server.post("/user/user_register", again, token=admin))["errCode"] == 1102
    dup = {"users": [{"userID": "eve", "nickname": "E"}, {"userID": "eve", "nickname": "E"}]}
    assert envelope(server.post("/user/user_register", dup, token=admin))["errCode"] == 1001


def test_update_user_info_ex_changes_only_present_fields(server: ServerProcess, users: dict[str, str]) -> None:
    server.call(
        "/user/update_user_info_ex",
        {"userInfo": {"userID": "alice", "nickname": "Alice B", "faceURL": None}},
        token=users["alice"],
    )
    (alice,) = server.call("/user/get_users_info", {"userIDs": ["alice"]}, token=users["bob"])["usersInfo"]
    assert (alice["nickname"], alice["faceURL"]) == ("Alice B", "http://f/a.png")
    other = server.post(
        "/user/update_user_info_ex", {"userInfo": {"userID": "bob", "nickname": "x"}}, token=users["alice"]
    )
    assert envelope(other)["errCode"] == 1002
    wrapped = server.post(
        "/user/update_user_info_ex", {"userInfo": {"userID": "alice", "nickname": {"value": "x"}}}, token=users["alice"]
    )
    assert envelope(wrapped)["errCode"] == 1001


def test_legacy_update_user_info(server: ServerProcess, users: dict[str, str]) -> None:
    server.call(
        "/user/update_user_info", {"userInfo": {"userID": "carol", "faceURL": "http://f/c"}}, token=users["carol"]
    )
    (carol,) = server.call("/user/get_users_info", {"userIDs": ["carol"]}, token=users["carol"])["usersInfo"]
    assert (carol["nickname"], carol["faceURL"]) == ("Carol", "http://f/c")
    raise_level = {"userInfo": {"userID": "carol", "appMangerLevel": 2}}
    assert envelope(server.post("/user/update_user_info", raise_level, token=users["carol"]))["errCode"] == 1002


def test_set_global_msg_recv_opt(server: ServerProcess, users: dict[str, str]) -> None:
    server.call("/user/set_global_msg_recv_opt", {"userID": "bob", "globalRecvMsgOpt": 2}, token=users["bob"])
    (bob,) = server.call("/user/get_users_info", {"userIDs": ["bob"]}, token=users["bob"])["usersInfo"]
    assert bob["globalRecvMsgOpt"] == 2
    bad = server.post("/user/set_global_msg_recv_opt", {"userID": "bob", "globalRecvMsgOpt": 3}, token=users["bob"])
    assert envelope(bad)["errCode"] == 1001
    server.call("/user/set_global_msg_recv_opt", {"userID": "bob", "globalRecvMsgOpt": 0}, token=users["bob"])


def test_account_check_keeps_request_order(server: ServerProcess, admin: str, users: dict[str, str]) -> None:
    data = server.call("/user/account_check", {"checkUserIDs": ["zed", "bob", "alice"]}, token=admin)
    assert data == {
        "results": [
            {"userID": "zed", "accountStatus": 0},
            {"userID": "bob", "accountStatus": 1},
            {"userID": "alice", "accountStatus": 1},
        ]
    }
    dup = server.post("/user/account_check", {"checkUserIDs": ["bob", "bob"]}, token=admin)
    assert envelope(dup)["errCode"] == 1001
    assert (
        envelope(server.post("/user/account_check", {"checkUserIDs": ["bob"]}, token=users["bob"]))["errCode"] == 1002
    )


def test_get_users_pages_ordinary_users(server: ServerProcess, users: dict[str, str]) -> None:
    page = {"pageNumber": 1, "showNumber": 2}
    data = server.call("/user/get_users", {"pagination": page}, token=users["bob"])
    assert data["total"] == 3 and [u["userID"] for u in data["users"]] == ["alice", "bob"]  # imAdmin hidden
    data = server.call("/user/get_users", {"pagination": {"pageNumber": 2, "showNumber": 2}}, token=users["bob"])
    assert [u["userID"] for u in data["users"]] == ["carol"]
    data = server.call("/user/get_users", {"pagination": page, "nickName": "CAR"}, token=users["bob"])
    assert data["total"] == 1 and data["users"][0]["userID"] == "carol"
    bad = server.post("/user/get_users", {"pagination": {"pageNumber": 0, "showNumber": 2}}, token=users["bob"])
    assert envelope(bad)["errCode"] == 1001
    uids = server.call(
        "/user/get_all_users_uid", {"pagination": {"pageNumber": 1, "showNumber": 10}}, token=users["bob"]
    )
    assert uids["total"] == 4 and set(uids["userIDs"]) == {"imAdmin", "alice", "bob", "carol"}


def test_online_status_is_an_array(server: ServerProcess, admin: str, users: dict[str, str]) -> None:
    data = server.call("/user/get_users_online_status", {"userIDs": ["alice", "bob"]}, token=admin)
    assert data == [
        {"userID": "alice", "status": 0, "detailPlatformStatus": []},
        {"userID": "bob", "status": 0, "detailPlatformStatus": []},
    ]
    bad = server.post("/user/get_users_online_status", {"userIDs": "alice"}, token=admin)
    assert bad.status_code == 400 and bad.json()["errCode"] == 1001
    assert server.call("/user/get_users_online_token_detail", {"userIDs": ["alice"]}, token=admin) == []
    status = server.call("/user/get_users_status", {"userID": "bob", "userIDs": ["alice"]}, token=users["bob"])
    assert status == {"statusList": [{"userID": "alice", "status": 0, "platformIDs": []}]}


def test_status_subscriptions(server: ServerProcess, users: dict[str, str]) -> None:
    sub = {"userID": "bob", "userIDs": ["alice", "carol"], "genre": 1}
    assert len(server.call("/user/subscribe_users_status", sub, token=users["bob"])["statusList"]) == 2
    server.call("/user/subscribe_users_status", {**sub, "userIDs": ["carol"], "genre": 2}, token=users["bob"])
    data = server.call("/user/get_subscribe_users_status", {"userID": "bob"}, token=users["bob"])
    assert [s["userID"] for s in data["statusList"]] == ["alice"]
    other = server.post("/user/get_subscribe_users_status", {"userID": "bob"}, token=users["alice"])
    assert envelope(other)["errCode"] == 1002


# -- conversations ---------------------------------------------------------------------------------------


def test_set_conversations_and_incremental_sync(server: ServerProcess, users: dict[str, str]) -> None:
    token = users["carol"]
    first = server.call(
        "/conversation/get_incremental_conversations", {"userID": "carol", "version": 0, "versionID": ""}, token=token
    )
    assert first["full"] is True and first["insert"] == [] and len(first["versionID"]) == 24
    conv = {
        "conversationID": "si_alice_carol",
        "conversationType": 1,
        "userID": "alice",
        "isPinned": True,
        "recvMsgOpt": 2,
    }
    server.call("/conversation/set_conversations", {"userIDs": ["carol"], "conversation": conv}, token=token)
    pair = {"userID": "carol", "version": first["version"], "versionID": first["versionID"]}
    second = server.call("/conversation/get_incremental_conversations", pair, token=token)
    assert second["full"] is False and second["version"] > first["version"]
    (row,) = second["insert"]
    assert (row["conversationID"], row["isPinned"], row["recvMsgOpt"], row["ownerUserID"]) == (
        "si_alice_carol",
        True,
        2,
        "carol",
    )
    assert "IsPinned" not in row and "latestMsgDestructTime" in row
    unchanged = server.call(
        "/conversation/get_incremental_conversations",
        {"userID": "carol", "version": second["version"], "versionID": second["versionID"]},
        token=token,
    )
    assert (unchanged["full"], unchanged["insert"], unchanged["update"], unchanged["delete"]) == (False, [], [], [])
    # Lists that follow from the settings.
    assert server.call("/conversation/get_not_notify_conversation_ids", {"userID": "carol"}, token=token) == {
        "conversationIDs": ["si_alice_carol"]
    }
    pinned = server.call("/conversation/get_pinned_conversation_ids", {"userID": "carol"}, token=token)
    assert pinned["conversationIDs"] == ["si_alice_carol"]
    full = server.call("/conversation/get_full_conversation_ids", {"userID": "carol", "idHash": 0}, token=token)
    assert full["conversationIDs"] == ["si_alice_carol"] and full["equal"] is False
    assert full["version"] == second["version"]
    one = server.call(
        "/conversation/get_conversation", {"ownerUserID": "carol", "conversationID": "si_alice_carol"}, token=token
    )
    assert one["conversation"]["userID"] == "alice"


def test_conversation_access_and_validation(server: ServerProcess, users: dict[str, str]) -> None:
    conv = {"conversationID": "si_alice_bob", "conversationType": 1, "userID": "bob", "isPinned": True}
    other = server.post(
        "/conversation/set_conversations", {"userIDs": ["alice", "bob"], "conversation": conv}, token=users["alice"]
    )
    assert envelope(other)["errCode"] == 1002
    for bad in ({**conv, "conversationType": 0}, {**conv, "userID": ""}, {**conv, "conversationType": 3}):
        resp = server.post(
            "/conversation/set_conversations", {"userIDs": ["alice"], "conversation": bad}, token=users["alice"]
        )
        assert envelope(resp)["errCode"] == 1001
    peek = server.post("/conversation/get_all_conversations", {"ownerUserID": "carol"}, token=users["alice"])
    assert envelope(peek)["errCode"] == 1002
    missing = server.post(
        "/conversation/get_conversation", {"ownerUserID": "alice", "conversationID": "si_x_y"}, token=users["alice"]
    )
    assert envelope(missing)["errCode"] == 1004


def test_a_sent_message_reaches_incremental_sync_and_the_jssdk_list(
    server: ServerProcess, admin: str, users: dict[str, str]
) -> None:
    token = users["bob"]
    before = server.call(
        "/conversation/get_incremental_conversations", {"userID": "bob", "version": 0, "versionID": ""}, token=token
    )
    sent = server.call(
        "/msg/send_msg",
        {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "hello bob"}},
        token=admin,
    )
    assert sent["serverMsgID"]

    # The row the transfer stage created is an insert for bob's next incremental sync.
    after = server.call(
        "/conversation/get_incremental_conversations",
        {"userID": "bob", "version": before["version"], "versionID": before["versionID"]},
        token=token,
    )
    assert [c["conversationID"] for c in after["insert"]] == [CONV_12]

    # The JS SDK's call: protobuf in, envelope out with base64 protobuf in data; owner from the token.
    req = jssdk_pb2.GetActiveConversationsReq(ownerUserID="someone-else", count=20).SerializeToString()
    resp = httpx.post(
        server.api_url + "/jssdk/get_active_conversations",
        content=req,
        headers={"operationID": "op-jssdk", "token": token, "Content-Type": "application/x-protobuf"},
    )
    body = envelope(resp)
    assert body["errCode"] == 0 and isinstance(body["data"], str)
    active = jssdk_pb2.GetActiveConversationsResp.FromString(base64.b64decode(body["data"]))
    assert active.unreadCount == 1
    (item,) = active.conversations
    assert item.conversation.conversationID == CONV_12 and item.conversation.ownerUserID == "bob"
    assert (item.maxSeq, item.readSeq) == (1, 0)
    assert json.loads(item.lastMsg.content) == {"content": "hello bob"}
    assert item.lastMsg.sendID == "alice" and item.lastMsg.seq == 1
    assert item.user.userID == "alice" and item.user.nickname
    assert not item.HasField("friend") and not item.HasField("group")

    # get_conversations: the listed IDs that have messages.
    req2 = jssdk_pb2.GetConversationsReq(ownerUserID="bob", conversationIDs=[CONV_12, "si_bob_nobody"])
    resp2 = httpx.post(
        server.api_url + "/jssdk/get_conversations",
        content=req2.SerializeToString(),
        headers={"operationID": "op-jssdk2", "token": token, "Content-Type": "application/x-protobuf"},
    )
    convs = jssdk_pb2.GetConversationsResp.FromString(base64.b64decode(envelope(resp2)["data"]))  # type: ignore[arg-type]
    assert [c.conversation.conversationID for c in convs.conversations] == [CONV_12]

    # The sender has read his own message; the sorted list agrees with the jssdk one.
    mine = server.call(
        "/conversation/get_sorted_conversation_list",
        {"userID": "alice", "conversationIDs": [], "pagination": {"pageNumber": 1, "showNumber": 10}},
        token=users["alice"],
    )
    assert mine["unreadTotal"] == 0 and mine["conversationElems"][0]["msgInfo"]["senderName"] == "Bob"
    assert "IsPinned" in mine["conversationElems"][0]


def test_jssdk_with_nothing_active_is_empty(server: ServerProcess, users: dict[str, str]) -> None:
    resp = httpx.post(
        server.api_url + "/jssdk/get_active_conversations",
        content=jssdk_pb2.GetActiveConversationsReq(ownerUserID="carol", count=0).SerializeToString(),
        headers={"operationID": "op-empty", "token": users["carol"], "Content-Type": "application/x-protobuf"},
    )
    body = envelope(resp)
    active = jssdk_pb2.GetActiveConversationsResp.FromString(base64.b64decode(body["data"]))  # type: ignore[arg-type]
    assert active.unreadCount == 0 and not active.conversations


def _jssdk(server: ServerProcess, token: str, path: str, req: bytes, resp_type: type) -> Any:
    resp = httpx.post(
        server.api_url + path,
        content=req,
        headers={"operationID": "op-jssdk-clear", "token": token, "Content-Type": "application/x-protobuf"},
    )
    body = envelope(resp)
    assert body["errCode"] == 0, body
    return resp_type.FromString(base64.b64decode(str(body["data"])))


def test_jssdk_lists_a_cleared_conversation_without_its_messages(server: ServerProcess, admin: str) -> None:
    """After a user cleared a chat, both /jssdk calls still list it (the SDK needs it to open the chat and to
    write in it), with no latest message and nothing unread; the peer's list is untouched."""
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("dora", "emil")]}, token=admin)
    conv = "si_dora_emil"
    for text in ("one", "two"):
        server.call(
            "/msg/send_msg",
            {"sendID": "dora", "recvID": "emil", "contentType": 101, "sessionType": 1, "content": {"content": text}},
            token=admin,
        )
    emil, dora = server.user_token("emil"), server.user_token("dora")
    server.call("/msg/clear_conversation_msg", {"conversationIDs": [conv], "userID": "emil"}, token=emil)

    by_ids = jssdk_pb2.GetConversationsReq(ownerUserID="emil", conversationIDs=[conv]).SerializeToString()
    active = jssdk_pb2.GetActiveConversationsReq(ownerUserID="emil", count=20).SerializeToString()
    listed = _jssdk(server, emil, "/jssdk/get_conversations", by_ids, jssdk_pb2.GetConversationsResp)
    recent = _jssdk(server, emil, "/jssdk/get_active_conversations", active, jssdk_pb2.GetActiveConversationsResp)
    for resp in (listed, recent):
        (item,) = resp.conversations
        assert item.conversation.conversationID == conv and item.conversation.userID == "dora"
        assert not item.HasField("lastMsg")
        assert (item.maxSeq, item.readSeq, resp.unreadCount) == (2, 2, 0)
        assert item.user.userID == "dora"

    theirs = _jssdk(
        server,
        dora,
        "/jssdk/get_conversations",
        jssdk_pb2.GetConversationsReq(conversationIDs=[conv]).SerializeToString(),
        jssdk_pb2.GetConversationsResp,
    )
    assert [json.loads(c.lastMsg.content) for c in theirs.conversations] == [{"content": "two"}]


def test_delete_conversations_is_a_delete_for_incremental_sync(server: ServerProcess, users: dict[str, str]) -> None:
    token = users["carol"]
    head = server.call("/conversation/get_full_conversation_ids", {"userID": "carol", "idHash": 0}, token=token)
    server.call(
        "/conversation/delete_conversations",
        {"ownerUserID": "carol", "conversationIDs": ["si_alice_carol"]},
        token=token,
    )
    diff = server.call(
        "/conversation/get_incremental_conversations",
        {"userID": "carol", "version": head["version"], "versionID": head["versionID"]},
        token=token,
    )
    assert diff["delete"] == ["si_alice_carol"]
    assert server.call("/conversation/get_all_conversations", {"ownerUserID": "carol"}, token=token) == {
        "conversations": []
    }

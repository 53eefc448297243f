"""/friend/* against a real server process, as the SDK and admin tools see it: requests and their
notifications pushed over the WebSocket (with the REST call's operationID), lists and their time units,
remark/pin, one-directional delete, blacklists (a blocked sender's WebSocket send is refused with 1302),
and the version-log sync a client that was offline converges with."""

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

from openim.wire.envelope import WsResponse, decode_response, encode_request
from openim.wire.pb import msg_pb2, sdkws_pb2

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

WAIT_S = 10.0
PAGE = {"pageNumber": 1, "showNumber": 50}
USERS = ("fa", "fb", "fc", "fd", "fe", "ff", "fg")


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
    return server.admin_token()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess, admin: str) -> dict[str, str]:
    server.call(
        "/user/user_register",
        {"users": [{"userID": u, "nickname": u.upper(), "faceURL": f"http://f/{u}"} for u in USERS]},
        token=admin,
    )
    return {u: server.user_token(u) for u in USERS}


def post(server: ServerProcess, path: str, body: Any, token: str, op: str | None = None) -> dict[str, Any]:
    resp = httpx.post(
        server.api_url + path,
        json=body,
        headers={"operationID": op or f"it-{time.time_ns()}", "token": token},
        timeout=15,
    )
    assert resp.status_code == 200, resp.text
    env: dict[str, Any] = resp.json()
    return env


def ok(server: ServerProcess, path: str, body: Any, token: str, op: str | None = None) -> Any:
    env = post(server, path, body, token, op)
    assert env["errCode"] == 0, f"{path}: {env}"
    return env.get("data")


def code(server: ServerProcess, path: str, body: Any, token: str) -> int:
    return int(post(server, path, body, token)["errCode"])


# -- a WebSocket client, as the SDK connects -------------------------------------------------------------


class Online:
    def __init__(self, ws: trio_websocket.WebSocketConnection, user_id: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.frames: list[WsResponse] = []

    async def _next(self) -> WsResponse:
        with trio.fail_after(WAIT_S):
            while True:
                raw = await self.ws.get_message()
                if isinstance(raw, bytes):
                    return decode_response(raw)

    async def notification(self, content_type: int) -> tuple[str, sdkws_pb2.MsgData, dict[str, Any]]:
        """Wait for a pushed notification of that type: (operationID of the push, the MsgData, its tips)."""
        while True:
            frame = await self._next()
            if frame.req_identifier != 2001 or frame.data is None:
                self.frames.append(frame)
                continue
            push = sdkws_pb2.PushMessages.FromString(frame.data)
            for pulled in push.notificationMsgs.values():
                for msg in pulled.Msgs:
                    if msg.contentType == content_type:
                        tips = json.loads(json.loads(msg.content)["detail"])
                        return frame.operation_id, msg, tips

    async def request(self, req_id: int, data: bytes) -> WsResponse:
        incr = f"{self.user_id}-{time.time_ns()}"
        await self.ws.send_message(encode_request(req_id, incr, self.user_id, f"op{time.time_ns()}", data))
        while True:
            frame = await self._next()
            if frame.msg_incr == incr:
                return frame
            self.frames.append(frame)


@asynccontextmanager
async def online(server: ServerProcess, user_id: str, token: str) -> AsyncIterator[Online]:
    query = f"sendID={user_id}&token={token}&platformID=5&operationID=op{time.time_ns()}&isBackground=false"
    async with trio_websocket.open_websocket_url(f"{server.ws_url}?{query}&isMsgResp=true&sdkType=js") as ws:
        with trio.fail_after(WAIT_S):
            first = await ws.get_message()
        assert first == '{"errCode":0,"errMsg":"","errDlt":""}', first
        yield Online(ws, user_id)


def text_msg(send_id: str, recv_id: str) -> bytes:
    msg = sdkws_pb2.MsgData(
        sendID=send_id,
        recvID=recv_id,
        clientMsgID=f"c{time.time_ns()}",
        senderPlatformID=5,
        sessionType=1,
        msgFrom=100,
        contentType=101,
        content=b'{"content":"hi"}',
        createTime=int(time.time() * 1000),
        status=1,
    )
    data: bytes = msg.SerializeToString()
    return data


# -- the SDK's login calls -------------------------------------------------------------------------------


def test_login_sync_shape_for_a_fresh_user(server: ServerProcess, tokens: dict[str, str]) -> None:
    data = ok(server, "/friend/get_incremental_friends", {"userID": "fg", "version": 0, "versionID": ""}, tokens["fg"])
    assert set(data) == {"version", "versionID", "full", "delete", "insert", "update", "sortVersion"}
    assert data["full"] is True and data["version"] >= 1 and len(data["versionID"]) == 24
    assert (data["insert"], data["update"], data["delete"], data["sortVersion"]) == ([], [], [], 0)
    ids = ok(server, "/friend/get_full_friend_user_ids", {"idHash": 0, "userID": "fg"}, tokens["fg"])
    assert ids == {"version": data["version"], "versionID": data["versionID"], "equal": True, "userIDs": []}
    # A stored pair with nothing new: not full, nothing listed.
    again = ok(server, "/friend/get_incremental_friends", {"userID": "fg", **_pair(data)}, tokens["fg"])
    assert (again["full"], again["version"], again["insert"]) == (False, data["version"], [])


def _pair(data: dict[str, Any]) -> dict[str, Any]:
    return {"version": data["version"], "versionID": data["versionID"]}


# -- requests and their notifications --------------------------------------------------------------------


@pytest.mark.trio
async def test_apply_accept_round_trip_with_pushed_notifications(server: ServerProcess, tokens: dict[str, str]) -> None:
    start = ok(server, "/friend/get_incremental_friends", {"userID": "fa", "version": 0, "versionID": ""}, tokens["fa"])
    async with online(server, "fa", tokens["fa"]) as fa, online(server, "fb", tokens["fb"]) as fb:
        ok(
            server,
            "/friend/add_friend",
            {"fromUserID": "fa", "toUserID": "fb", "reqMsg": "hello", "ex": "x"},
            tokens["fa"],
            op="op-apply-1",
        )
        op, msg, tips = await fb.notification(1203)
        assert (op, msg.sendID, msg.recvID, msg.msgFrom, msg.sessionType) == ("op-apply-1", "fa", "fb", 200, 1)
        assert tips["fromToUserID"] == {"fromUserID": "fa", "toUserID": "fb"}
        assert (tips["request"]["reqMsg"], tips["request"]["fromNickname"], tips["request"]["handleResult"]) == (
            "hello",
            "FA",
            0,
        )

        received = ok(server, "/friend/get_friend_apply_list", {"userID": "fb", "pagination": PAGE}, tokens["fb"])
        assert list(received) == ["FriendRequests", "total"]  # capital F: the SDK reads this key
        assert [(r["fromUserID"], r["toNickname"]) for r in received["FriendRequests"]] == [("fa", "FB")]
        sent = ok(server, "/friend/get_self_friend_apply_list", {"userID": "fa", "pagination": PAGE}, tokens["fa"])
        assert list(sent) == ["friendRequests", "total"] and sent["total"] == 1

        ok(
            server,
            "/friend/add_friend_response",
            {"fromUserID": "fa", "toUserID": "fb", "handleResult": 1, "handleMsg": "welcome"},
            tokens["fb"],
            op="op-accept-1",
        )
        op, msg, tips = await fa.notification(1201)
        assert (op, msg.sendID, msg.recvID) == ("op-accept-1", "fb", "fa")
        assert (tips["fromToUserID"], tips["handleMsg"]) == ({"fromUserID": "fa", "toUserID": "fb"}, "welcome")
        assert tips["request"]["handleResult"] == 1

    # fa converges from the pair it held before: one insert, at the version the tips announced.
    step = ok(server, "/friend/get_incremental_friends", {"userID": "fa", **_pair(start)}, tokens["fa"])
    assert (step["full"], step["version"], step["versionID"]) == (False, tips["friendVersion"], tips["friendVersionID"])
    [inserted] = step["insert"]
    assert (inserted["ownerUserID"], inserted["friendUser"]["userID"], inserted["friendUser"]["nickname"]) == (
        "fa",
        "fb",
        "FB",
    )
    assert inserted["createTime"] < 10_000_000_000  # seconds

    assert ok(server, "/friend/is_friend", {"userID1": "fa", "userID2": "fb"}, tokens["fb"]) == {
        "inUser1Friends": True,
        "inUser2Friends": True,
    }
    both = ok(server, "/friend/get_designated_friend_apply", {"fromUserID": "fb", "toUserID": "fa"}, tokens["fa"])
    assert [(r["fromUserID"], r["handleResult"], r["handleMsg"]) for r in both["friendRequests"]] == [
        ("fa", 1, "welcome")
    ]
    listed = ok(server, "/friend/get_friend_list", {"userID": "fb", "pagination": PAGE}, tokens["fb"])
    assert listed["total"] == 1
    friend = listed["friendsInfo"][0]
    assert (friend["friendUser"]["userID"], friend["addSource"], friend["operatorUserID"]) == ("fa", 2, "fa")
    assert abs(friend["createTime"] - time.time()) < 120  # seconds
    ids = ok(server, "/friend/get_full_friend_user_ids", {"idHash": 0, "userID": "fb"}, tokens["fb"])
    assert ids["userIDs"] == ["fa"] and ids["equal"] is False
    designated = ok(
        server, "/friend/get_designated_friends", {"ownerUserID": "fb", "friendUserIDs": ["fa", "fc"]}, tokens["fb"]
    )
    assert [f["friendUser"]["userID"] for f in designated["friendsInfo"]] == ["fa"]
    # Asking again once friends: 1304.
    assert code(server, "/friend/add_friend", {"fromUserID": "fb", "toUserID": "fa"}, tokens["fb"]) == 1304


@pytest.mark.trio
async def test_refuse_and_handled_codes(server: ServerProcess, tokens: dict[str, str]) -> None:
    ok(server, "/friend/add_friend", {"fromUserID": "fc", "toUserID": "fd", "reqMsg": "?"}, tokens["fc"])
    async with online(server, "fc", tokens["fc"]) as fc:
        ok(
            server,
            "/friend/add_friend_response",
            {"fromUserID": "fc", "toUserID": "fd", "handleResult": -1, "handleMsg": "no"},
            tokens["fd"],
            op="op-refuse-1",
        )
        op, msg, tips = await fc.notification(1202)
        assert (op, msg.sendID, tips["handleMsg"], tips["request"]["handleResult"]) == ("op-refuse-1", "fd", "no", -1)
    refuse = {"fromUserID": "fc", "toUserID": "fd", "handleResult": -1}
    assert code(server, "/friend/add_friend_response", refuse, tokens["fd"]) == 1305
    assert code(server, "/friend/add_friend_response", {**refuse, "handleResult": 1}, tokens["fd"]) == 1001
    assert code(server, "/friend/add_friend_response", {**refuse, "handleResult": 5}, tokens["fd"]) == 1001
    assert code(server, "/friend/add_friend_response", {**refuse, "fromUserID": "fe"}, tokens["fd"]) == 1004
    assert code(server, "/friend/add_friend", {"fromUserID": "fc", "toUserID": "fc"}, tokens["fc"]) == 1301
    assert code(server, "/friend/add_friend", {"fromUserID": "fc", "toUserID": "ghost"}, tokens["fc"]) == 1004
    pending = ok(
        server,
        "/friend/get_friend_apply_list",
        {"userID": "fd", "pagination": PAGE, "handleResults": [0]},
        tokens["fd"],
    )
    assert pending["FriendRequests"] == [] and pending["total"] == 0


def test_remark_pin_delete_and_incremental_updates(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    ok(server, "/friend/import_friend", {"ownerUserID": "fe", "friendUserIDs": ["fc", "fd", "ff"]}, admin)
    base = ok(server, "/friend/get_incremental_friends", {"userID": "fe", "version": 0, "versionID": ""}, tokens["fe"])
    listed = ok(server, "/friend/get_friend_list", {"userID": "fe", "pagination": PAGE}, tokens["fe"])
    assert [f["friendUser"]["userID"] for f in listed["friendsInfo"]] == ["fc", "fd", "ff"]
    assert listed["friendsInfo"][0]["addSource"] == 1

    ok(server, "/friend/set_friend_remark", {"ownerUserID": "fe", "friendUserID": "fd", "remark": "dee"}, tokens["fe"])
    ok(
        server,
        "/friend/update_friends",
        {"ownerUserID": "fe", "friendUserIDs": ["ff"], "isPinned": True, "ex": "e1"},
        tokens["fe"],
    )
    ok(server, "/friend/delete_friend", {"ownerUserID": "fe", "friendUserID": "fc"}, tokens["fe"])
    step = ok(server, "/friend/get_incremental_friends", {"userID": "fe", **_pair(base)}, tokens["fe"])
    assert step["full"] is False and step["version"] == base["version"] + 3
    assert step["delete"] == ["fc"] and step["insert"] == []
    updated = {f["friendUser"]["userID"]: f for f in step["update"]}
    assert set(updated) == {"fd", "ff"}
    assert (updated["fd"]["remark"], updated["ff"]["isPinned"], updated["ff"]["ex"]) == ("dee", True, "e1")
    assert step["sortVersion"] == base["version"] + 2

    listed = ok(server, "/friend/get_friend_list", {"userID": "fe", "pagination": PAGE}, tokens["fe"])
    assert [f["friendUser"]["userID"] for f in listed["friendsInfo"]] == ["ff", "fd"]  # pinned first
    # One-directional: fc still has fe.
    assert ok(server, "/friend/is_friend", {"userID1": "fe", "userID2": "fc"}, tokens["fc"]) == {
        "inUser1Friends": False,
        "inUser2Friends": True,
    }
    # A wrapper left out changes nothing; a non-friend in the list is 1004; duplicates 1001.
    ok(server, "/friend/update_friends", {"ownerUserID": "fe", "friendUserIDs": ["fd"], "remark": None}, tokens["fe"])
    assert (
        code(
            server,
            "/friend/update_friends",
            {"ownerUserID": "fe", "friendUserIDs": ["fc"], "remark": "x"},
            tokens["fe"],
        )
        == 1004
    )
    assert (
        code(server, "/friend/update_friends", {"ownerUserID": "fe", "friendUserIDs": ["fd", "fd"]}, tokens["fe"])
        == 1001
    )
    assert code(server, "/friend/update_friends", {"ownerUserID": "fe", "friendUserIDs": []}, tokens["fe"]) == 1001
    assert code(server, "/friend/delete_friend", {"ownerUserID": "fe", "friendUserID": "fc"}, tokens["fe"]) == 1004
    assert (
        code(
            server,
            "/friend/get_friend_list",
            {"userID": "fe", "pagination": {"pageNumber": 0, "showNumber": 1}},
            tokens["fe"],
        )
        == 1001
    )
    page2 = ok(
        server,
        "/friend/get_friend_list",
        {"userID": "fe", "pagination": {"pageNumber": 2, "showNumber": 1}},
        tokens["fe"],
    )
    assert (page2["total"], [f["friendUser"]["userID"] for f in page2["friendsInfo"]]) == (2, ["fd"])
    info = ok(
        server, "/friend/get_specified_friends_info", {"ownerUserID": "fe", "userIDList": ["fd", "fc"]}, tokens["fe"]
    )
    by_id = {i["userInfo"]["userID"]: i for i in info["infos"]}
    assert by_id["fd"]["friendInfo"]["remark"] == "dee" and by_id["fc"]["friendInfo"] is None
    assert ok(server, "/friend/get_friend_id", {"userID": "fe"}, tokens["fe"]) == {"friendIDs": ["fd", "ff"]}


def test_profile_change_reaches_friends_logs(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    ok(server, "/friend/import_friend", {"ownerUserID": "fg", "friendUserIDs": ["ff"]}, admin)
    base = ok(server, "/friend/get_incremental_friends", {"userID": "fg", "version": 0, "versionID": ""}, tokens["fg"])
    ok(server, "/user/update_user_info_ex", {"userInfo": {"userID": "ff", "nickname": "Eff"}}, tokens["ff"])
    step = ok(server, "/friend/get_incremental_friends", {"userID": "fg", **_pair(base)}, tokens["fg"])
    assert [(f["friendUser"]["userID"], f["friendUser"]["nickname"]) for f in step["update"]] == [("ff", "Eff")]
    # ex alone is not shown in friend lists: no new version.
    ok(server, "/user/update_user_info_ex", {"userInfo": {"userID": "ff", "ex": "zz"}}, tokens["ff"])
    same = ok(server, "/friend/get_incremental_friends", {"userID": "fg", **_pair(step)}, tokens["fg"])
    assert same["version"] == step["version"]


def test_more_than_200_changes_make_the_client_reload(
    server: ServerProcess, admin: str, tokens: dict[str, str]
) -> None:
    many = [f"bulk{i:03d}" for i in range(201)]
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in many]}, token=admin)
    ok(server, "/friend/import_friend", {"ownerUserID": "fd", "friendUserIDs": many[:1]}, admin)
    base = ok(server, "/friend/get_incremental_friends", {"userID": "fd", "version": 0, "versionID": ""}, tokens["fd"])
    ok(server, "/friend/import_friend", {"ownerUserID": "fd", "friendUserIDs": many[1:]}, admin)  # 200 inserts
    within = ok(server, "/friend/get_incremental_friends", {"userID": "fd", **_pair(base)}, tokens["fd"])
    assert (within["full"], len(within["insert"])) == (False, 200)
    ok(server, "/friend/delete_friend", {"ownerUserID": "fd", "friendUserID": many[0]}, tokens["fd"])
    over = ok(server, "/friend/get_incremental_friends", {"userID": "fd", **_pair(base)}, tokens["fd"])
    assert (over["full"], over["insert"], over["delete"]) == (True, [], [])
    ids = ok(server, "/friend/get_full_friend_user_ids", {"idHash": 0, "userID": "fd"}, tokens["fd"])
    assert ids["version"] == over["version"]
    assert set(many[1:]) <= set(ids["userIDs"]) and many[0] not in ids["userIDs"]
    assert code(server, "/friend/import_friend", {"ownerUserID": "fd", "friendUserIDs": ["fd"]}, admin) == 1301


# -- blacklists ------------------------------------------------------------------------------------------


@pytest.mark.trio
async def test_blacklist_blocks_single_sends_with_1302(server: ServerProcess, tokens: dict[str, str]) -> None:
    async with online(server, "fa", tokens["fa"]) as fa, online(server, "fb", tokens["fb"]) as fb:
        ok(
            server,
            "/friend/add_black",
            {"ownerUserID": "fb", "blackUserID": "fa", "ex": "spam"},
            tokens["fb"],
            op="op-black",
        )
        op, msg, tips = await fa.notification(1207)
        assert (op, msg.sendID, tips) == ("op-black", "fb", {"fromToUserID": {"fromUserID": "fb", "toUserID": "fa"}})

        refused = await fa.request(1003, text_msg("fa", "fb"))
        assert refused.err_code == 1302
        allowed = await fb.request(1003, text_msg("fb", "fa"))  # the one who blocked may still write
        assert allowed.err_code == 0 and allowed.data is not None
        assert msg_pb2.SendMsgResp.FromString(allowed.data).serverMsgID

        blacks = ok(server, "/friend/get_black_list", {"userID": "fb", "pagination": PAGE}, tokens["fb"])
        assert blacks["total"] == 1
        [black] = blacks["blacks"]
        assert (black["blackUserInfo"], black["ex"], black["operatorUserID"]) == (
            {"userID": "fa", "nickname": "FA", "faceURL": "http://f/fa", "ex": ""},
            "spam",
            "fb",
        )
        assert abs(black["createTime"] - time.time()) < 120  # seconds here ...
        spec = ok(
            server, "/friend/get_specified_blacks", {"ownerUserID": "fb", "userIDList": ["fa", "fc"]}, tokens["fb"]
        )
        assert spec["total"] == 1 and abs(spec["blacks"][0]["createTime"] - time.time() * 1000) < 120_000  # ... ms
        assert (
            code(server, "/friend/get_specified_blacks", {"ownerUserID": "fb", "userIDList": []}, tokens["fb"]) == 1001
        )
        # Friendship is untouched by the blacklist.
        assert ok(server, "/friend/is_friend", {"userID1": "fb", "userID2": "fa"}, tokens["fb"])["inUser1Friends"]

        ok(server, "/friend/remove_black", {"ownerUserID": "fb", "blackUserID": "fa"}, tokens["fb"], op="op-unblack")
        op, msg, tips = await fa.notification(1208)
        assert (op, tips["fromToUserID"]["toUserID"]) == ("op-unblack", "fa")
        again = await fa.request(1003, text_msg("fa", "fb"))
        assert again.err_code == 0
    assert ok(server, "/friend/get_black_list", {"userID": "fb", "pagination": PAGE}, tokens["fb"])["blacks"] == []

"""The OpenIM callbacks beyond messages and friends, against a real server and a real HTTP receiver: user
registration and profile updates, group info and member info, members joining and invitations, read
receipts, revokes, the online pushes, and the ``?key=`` of after-message callbacks. For each: the body
OpenIM sends, and for before-callbacks a refusal (the client gets the receiver's errCode), the changes
OpenIM takes from the answer, and a receiver too slow to answer (refused by default, let through with
``fail_open``: the module runs once with each)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trio
import trio_websocket

from openim.wire.constants import group_conversation_id, single_conversation_id
from openim.wire.envelope import decode_response
from openim.wire.pb import sdkws_pb2
from tests.integration.conftest import ServerProcess
from tests.integration.webhook_receiver import CONTINUE, Call, Receiver, running_receiver

WEB = 5
SLOW = 2.5  # seconds a "slowme" answer takes; the server's timeout is 1s


def _block(code: int) -> dict[str, Any]:
    return {"actionCode": 0, "nextCode": 1, "errCode": code, "errMsg": f"Refused{code}", "errDlt": "by the hook"}


_serial = count(1)


def _uid(role: str) -> str:
    return f"wp{role}{next(_serial)}x{time.time_ns() % 1_000_000}"


# -- the receiver's rules: a marker in the request decides the answer ------------------------------------

Answer = tuple[int, Any, float]


def _by_marker(field: Callable[[dict[str, Any]], Any], code: int, changes: dict[str, Any]) -> Any:
    """blockme -> refuse with ``code``; slowme -> answer after SLOW; modifyme -> answer ``changes``."""

    def rule(_: str, body: dict[str, Any]) -> Answer:
        marker = str(field(body) or "")
        if "blockme" in marker:
            return 200, _block(code), 0.0
        if "slowme" in marker:
            return 200, CONTINUE, SLOW
        if "modifyme" in marker:
            return 200, {**CONTINUE, **changes}, 0.0
        return 200, CONTINUE, 0.0

    return rule


def _register_rule(_: str, body: dict[str, Any]) -> Answer:
    names = " ".join(u["nickname"] for u in body["users"])
    if "blockme" in names:
        return 200, _block(5101), 0.0
    if "slowme" in names:
        return 200, CONTINUE, SLOW
    if "modifyme" in names:
        users = [{**u, "nickname": "named by hook", "ex": "ex by hook"} for u in body["users"]]
        return 200, {**CONTINUE, "users": users}, 0.0
    return 200, CONTINUE, 0.0


def _members_rule(_: str, body: dict[str, Any]) -> Answer:
    if body["groupEx"] == "blockjoin":
        return 200, _block(5201), 0.0
    if body["groupEx"] == "hookmembers":
        changes = [{"userID": m["userID"], "nickname": f"nick-{m['userID']}", "ex": "set by hook"}
                   for m in body["memberList"]]
        changes.append({"userID": "someone-else", "nickname": "ignored"})
        return 200, {**CONTINUE, "memberCallbackList": changes}, 0.0
    return 200, CONTINUE, 0.0


def _text_of(body: dict[str, Any]) -> str:
    try:
        return str(json.loads(body.get("content") or "{}").get("content", ""))
    except ValueError:
        return ""


def _online_push_rule(_: str, body: dict[str, Any]) -> Answer:
    if "slowpush" in _text_of(body):
        return 200, CONTINUE, SLOW
    return (200, _block(5301), 0.0) if "nopush" in _text_of(body) else (200, CONTINUE, 0.0)


def _group_push_rule(_: str, body: dict[str, Any]) -> Answer:
    text = _text_of(body)
    if text.startswith("onlyto:"):  # "onlyto:<userID>": push to that member alone
        return 200, {**CONTINUE, "userIDList": [text.split(":", 1)[1], "not-a-member"]}, 0.0
    if "slowpush" in text:
        return 200, CONTINUE, SLOW
    return (200, _block(5302), 0.0) if "nopush" in text else (200, CONTINUE, 0.0)


def _conversation_rule(_: str, body: dict[str, Any]) -> Answer:
    owner = body["ownerUserId"] or body.get("groupId", "")
    if "cblk" in owner:
        return 200, _block(5401), 0.0
    if "cslow" in owner:  # too late: the answer's settings must not be applied
        return 200, {**CONTINUE, "isPinned": True, "ex": "too late"}, SLOW
    if "cpin" in owner or "cgrp" in owner:
        return 200, {**CONTINUE, "isPinned": True, "ex": "conv by hook", "recvMsgOpt": None}, 0.0
    return 200, CONTINUE, 0.0


def _install(receiver: Receiver) -> None:
    receiver.rules.update(
        callbackBeforeUserRegisterCommand=_register_rule,
        callbackBeforeUpdateUserInfoExCommand=_by_marker(
            lambda b: b["nickName"], 5102, {"nickName": "nick by hook", "ex": "ex by hook"}
        ),
        callbackBeforeUpdateUserInfoCommand=_by_marker(lambda b: b["nickName"], 5103, {"faceURL": "http://hook/face"}),
        callbackBeforeSetGroupInfoExCommand=_by_marker(
            lambda b: b["groupName"], 5104, {"introduction": "intro by hook", "needVerification": 2}
        ),
        callbackBeforeSetGroupInfoCommand=_by_marker(lambda b: b["groupName"], 5105, {"notification": "hooked"}),
        callbackBeforeMembersJoinGroupCommand=_members_rule,
        callbackBeforeInviteJoinGroupCommand=_by_marker(lambda b: b["reason"], 5106, {}),
        callbackBeforeSetGroupMemberInfoCommand=_by_marker(
            lambda b: b["nickName"], 5107, {"nickName": "member by hook", "ex": "member ex"}
        ),
        callbackBeforeOnlinePushCommand=_online_push_rule,
        callbackBeforeGroupOnlinePushCommand=_group_push_rule,
        callbackBeforeCreateSingleChatConversationsCommand=_conversation_rule,
        callbackBeforeCreateGroupChatConversationsCommand=_conversation_rule,
    )


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        _install(rec)
        yield rec


@pytest.fixture(scope="module", params=["fail_closed", "fail_open"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server_extra_config(receiver: Receiver, mode: str) -> str:
    return (
        f"webhooks: {{url: '{receiver.url}', enable: ['*'], timeout: 1s, after_backoff: 100ms, "
        f"fail_open: {'true' if mode == 'fail_open' else 'false'}}}\n"
    )


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
    return server.admin_token()


def _register(server: ServerProcess, admin: str, *roles: str) -> list[str]:
    ids = [_uid(r) for r in roles]
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ids]}, token=admin)
    return ids


def _code(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> tuple[int, str]:
    env = server.post(path, body, token=token).json()
    return int(env["errCode"]), str(env.get("errMsg", ""))


def _wait(receiver: Receiver, command: str, predicate: Callable[[dict[str, Any]], bool]) -> Call:
    return receiver.wait_for(command, predicate, timeout=5)[0]


def _timed(call: Callable[[], tuple[int, str]]) -> tuple[int, float]:
    started = time.monotonic()
    code, _ = call()
    return code, time.monotonic() - started


def _check_slow(mode: str, code: int, took: float) -> None:
    """A receiver slower than the timeout: 90004 at the timeout (fail closed), or success (fail open)."""
    assert took < SLOW - 0.2, f"the request waited {took:.2f}s; the timeout is 1s"
    assert code == (0 if mode == "fail_open" else 90004)


# -- users -------------------------------------------------------------------------------------------------


def test_user_register_callbacks(server: ServerProcess, receiver: Receiver, admin: str, mode: str) -> None:
    blocked = _uid("reg")
    assert _code(server, "/user/user_register", {"users": [{"userID": blocked, "nickname": "blockme"}]}, admin) == (
        5101, "Refused5101")
    before = _wait(receiver, "callbackBeforeUserRegisterCommand", lambda b: b["users"][0]["userID"] == blocked)
    assert before.body["users"] == [{"userID": blocked, "nickname": "blockme", "faceURL": "", "ex": "",
                                      "createTime": 0, "appMangerLevel": 0, "globalRecvMsgOpt": 0}]
    assert server.call("/user/get_users_info", {"userIDs": [blocked]}, token=admin)["usersInfo"] == []

    changed = _uid("reg")
    server.call("/user/user_register", {"users": [{"userID": changed, "nickname": "modifyme", "ex": "x"}]},
                token=admin)
    info = server.call("/user/get_users_info", {"userIDs": [changed]}, token=admin)["usersInfo"][0]
    assert (info["nickname"], info["ex"]) == ("named by hook", "ex by hook")
    after = _wait(receiver, "callbackAfterUserRegisterCommand", lambda b: b["users"][0]["userID"] == changed)
    assert after.body["users"][0]["nickname"] == "named by hook" and after.body["users"][0]["createTime"] > 0

    slow = _uid("reg")
    code, took = _timed(lambda: _code(server, "/user/user_register",
                                      {"users": [{"userID": slow, "nickname": "slowme"}]}, admin))
    _check_slow(mode, code, took)


def test_update_user_info_ex_callbacks(server: ServerProcess, receiver: Receiver, admin: str, mode: str) -> None:
    (user,) = _register(server, admin, "upd")
    token = server.user_token(user)
    path = "/user/update_user_info_ex"
    refused = _code(server, path, {"userInfo": {"userID": user, "nickname": "blockme"}}, token)
    assert refused == (5102, "Refused5102")
    before = _wait(receiver, "callbackBeforeUpdateUserInfoExCommand", lambda b: b["userID"] == user)
    assert before.body == {**before.body, "nickName": "blockme", "faceURL": None, "ex": None}
    assert before.headers["operationID"] == before.body["operationID"]

    server.call(path, {"userInfo": {"userID": user, "nickname": "modifyme", "faceURL": "http://f"}}, token=token)
    info = server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"][0]
    assert (info["nickname"], info["faceURL"], info["ex"]) == ("nick by hook", "http://f", "ex by hook")
    after = _wait(receiver, "callbackAfterUpdateUserInfoExCommand", lambda b: b["userID"] == user)
    assert (after.body["nickName"], after.body["faceURL"], after.body["ex"]) == ("nick by hook", "http://f",
                                                                                 "ex by hook")

    code, took = _timed(lambda: _code(server, path, {"userInfo": {"userID": user, "nickname": "slowme"}}, token))
    _check_slow(mode, code, took)


def test_update_user_info_callbacks(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    (user,) = _register(server, admin, "leg")
    token = server.user_token(user)
    path = "/user/update_user_info"
    assert _code(server, path, {"userInfo": {"userID": user, "nickname": "blockme"}}, token)[0] == 5103
    server.call(path, {"userInfo": {"userID": user, "nickname": "modifyme"}}, token=token)
    info = server.call("/user/get_users_info", {"userIDs": [user]}, token=admin)["usersInfo"][0]
    assert (info["nickname"], info["faceURL"]) == ("modifyme", "http://hook/face")
    before = _wait(receiver, "callbackBeforeUpdateUserInfoCommand",
                   lambda b: b["userID"] == user and b["nickName"] == "modifyme")
    assert (before.body["faceURL"], before.body["ex"]) == ("", "")  # plain strings: "" is "unchanged"
    after = _wait(receiver, "callbackAfterUpdateUserInfoCommand", lambda b: b["userID"] == user)
    assert (after.body["nickName"], after.body["faceURL"]) == ("modifyme", "http://hook/face")


# -- groups ------------------------------------------------------------------------------------------------


def _group(server: ServerProcess, admin: str, owner: str, members: list[str], ex: str = "") -> str:
    group_id = _uid("grp")
    server.call(
        "/group/create_group",
        {"ownerUserID": owner, "memberUserIDs": members, "adminUserIDs": [],
         "groupInfo": {"groupID": group_id, "groupName": "parity", "groupType": 2, "ex": ex}},
        token=admin,
    )
    return group_id


def _members(server: ServerProcess, admin: str, group_id: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    data = server.call("/group/get_group_members_info", {"groupID": group_id, "userIDs": user_ids}, token=admin)
    return {m["userID"]: m for m in data["members"]}


def test_set_group_info_ex_callbacks(server: ServerProcess, receiver: Receiver, admin: str, mode: str) -> None:
    owner, member = _register(server, admin, "own", "mem")
    group_id = _group(server, admin, owner, [member])
    token = server.user_token(owner)
    path = "/group/set_group_info_ex"
    assert _code(server, path, {"groupID": group_id, "groupName": "blockme"}, token) == (5104, "Refused5104")
    before = _wait(receiver, "callbackBeforeSetGroupInfoExCommand", lambda b: b["groupID"] == group_id)
    assert before.body == {**before.body, "groupName": "blockme", "notification": None, "introduction": None,
                           "faceURL": None, "ex": None, "needVerification": None, "lookMemberInfo": None,
                           "applyMemberFriend": None}
    server.call(path, {"groupID": group_id, "groupName": "modifyme", "ex": "gx"}, token=token)
    info = server.call("/group/get_groups_info", {"groupIDs": [group_id]}, token=admin)["groupInfos"][0]
    assert (info["groupName"], info["introduction"], info["needVerification"], info["ex"]) == (
        "modifyme", "intro by hook", 2, "gx")
    after = _wait(receiver, "callbackAfterSetGroupInfoExCommand", lambda b: b["groupID"] == group_id)
    assert (after.body["introduction"], after.body["needVerification"], after.body["faceURL"]) == (
        "intro by hook", 2, None)
    code, took = _timed(lambda: _code(server, path, {"groupID": group_id, "groupName": "slowme"}, token))
    _check_slow(mode, code, took)


def test_set_group_info_callbacks(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    owner, member = _register(server, admin, "own", "mem")
    group_id = _group(server, admin, owner, [member])
    token = server.user_token(owner)
    path = "/group/set_group_info"
    assert _code(server, path, {"groupInfoForSet": {"groupID": group_id, "groupName": "blockme"}}, token)[0] == 5105
    server.call(path, {"groupInfoForSet": {"groupID": group_id, "groupName": "modifyme"}}, token=token)
    info = server.call("/group/get_groups_info", {"groupIDs": [group_id]}, token=admin)["groupInfos"][0]
    assert (info["groupName"], info["notification"]) == ("modifyme", "hooked")
    before = _wait(receiver, "callbackBeforeSetGroupInfoCommand",
                   lambda b: b["groupID"] == group_id and b["groupName"] == "modifyme")
    # set_group_info's before-callback has plain fields: "" and 0 where the request sets nothing.
    assert (before.body["introduction"], before.body["ex"], before.body["needVerification"]) == ("", "", 0)
    after = _wait(receiver, "callbackAfterSetGroupInfoCommand", lambda b: b["groupID"] == group_id)
    assert (after.body["notification"], after.body["ex"], after.body["lookMemberInfo"]) == ("hooked", None, None)


def test_members_joining_a_group(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    owner, first, invited, refused = _register(server, admin, "own", "mem", "inv", "ref")
    group_id = _group(server, admin, owner, [first], ex="hookmembers")
    at_creation = _wait(receiver, "callbackBeforeMembersJoinGroupCommand", lambda b: b["groupID"] == group_id)
    assert at_creation.body["groupEx"] == "hookmembers"
    assert at_creation.body["memberList"] == [{"userID": owner, "ex": ""}, {"userID": first, "ex": ""}]
    token = server.user_token(owner)
    # beforeInviteUserToGroup refuses with its own code; nothing joins.
    body = {"groupID": group_id, "invitedUserIDs": [refused], "reason": "blockme"}
    assert _code(server, "/group/invite_user_to_group", body, token) == (5106, "Refused5106")
    invite = _wait(receiver, "callbackBeforeInviteJoinGroupCommand", lambda b: b["groupID"] == group_id)
    assert invite.body == {**invite.body, "reason": "blockme", "invitedUserIDs": [refused]}
    assert refused not in _members(server, admin, group_id, [refused])
    server.call("/group/invite_user_to_group", {"groupID": group_id, "invitedUserIDs": [invited], "reason": "hi"},
                token=token)
    members = _members(server, admin, group_id, [owner, first, invited])
    for user in (owner, first, invited):
        assert (members[user]["nickname"], members[user]["ex"]) == (f"nick-{user}", "set by hook")


def test_member_join_refused(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    owner, member = _register(server, admin, "own", "mem")
    body = {"ownerUserID": owner, "memberUserIDs": [member], "adminUserIDs": [],
            "groupInfo": {"groupName": "no", "groupType": 2, "ex": "blockjoin"}}
    assert _code(server, "/group/create_group", body, admin) == (5201, "Refused5201")
    assert server.call("/group/get_joined_group_list",
                       {"fromUserID": owner, "pagination": {"pageNumber": 1, "showNumber": 10}},
                       token=admin)["total"] == 0


def test_set_group_member_info_callbacks(server: ServerProcess, receiver: Receiver, admin: str, mode: str) -> None:
    owner, member = _register(server, admin, "own", "mem")
    group_id = _group(server, admin, owner, [member])
    token = server.user_token(owner)
    path = "/group/set_group_member_info"

    def item(nickname: str) -> dict[str, Any]:
        return {"members": [{"groupID": group_id, "userID": member, "nickname": nickname}]}

    assert _code(server, path, item("blockme"), token) == (5107, "Refused5107")
    before = _wait(receiver, "callbackBeforeSetGroupMemberInfoCommand", lambda b: b["groupID"] == group_id)
    assert before.body == {**before.body, "userID": member, "nickName": "blockme", "faceURL": None,
                           "roleLevel": None, "ex": None}
    server.call(path, item("modifyme"), token=token)
    found = _members(server, admin, group_id, [member])[member]
    assert (found["nickname"], found["ex"]) == ("member by hook", "member ex")
    after = _wait(receiver, "callbackAfterSetGroupMemberInfoCommand", lambda b: b["groupID"] == group_id)
    assert (after.body["nickName"], after.body["ex"], after.body["roleLevel"]) == ("member by hook", "member ex",
                                                                                   None)
    code, took = _timed(lambda: _code(server, path, item("slowme"), token))
    _check_slow(mode, code, took)


# -- messages: read receipts, revoke, the ?key= query --------------------------------------------------------


def _send(server: ServerProcess, admin: str, send_id: str, text: str, *, recv_id: str = "", group_id: str = "") -> int:
    """Send as an app admin on behalf of ``send_id``; the message's seq."""
    body = {"sendID": send_id, "recvID": recv_id, "groupID": group_id, "senderPlatformID": WEB,
            "content": {"content": text}, "contentType": 101, "sessionType": 3 if group_id else 1}
    server.call("/msg/send_msg", body, token=admin)
    conv = group_conversation_id(group_id) if group_id else single_conversation_id(send_id, recv_id)
    seqs = server.call("/msg/get_conversations_has_read_and_max_seq",
                       {"userID": send_id, "conversationIDs": [conv]}, token=admin)["seqs"]
    return int(seqs[conv]["maxSeq"])


def test_read_receipt_callbacks(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    alice, bob, carol = _register(server, admin, "ra", "rb", "rc")
    conv = single_conversation_id(alice, bob)
    seq = _send(server, admin, alice, "read me", recv_id=bob)
    token = server.user_token(bob)
    server.call("/msg/mark_msgs_as_read", {"userID": bob, "conversationID": conv, "seqs": [seq]}, token=token)
    single = _wait(receiver, "callbackAfterSingleMsgReadCommand", lambda b: b["conversationID"] == conv)
    assert single.body == {**single.body, "userID": bob, "Seqs": [seq], "contentType": 1}

    group_id = _group(server, admin, alice, [carol])
    gseq = _send(server, admin, alice, "group read", group_id=group_id)
    gconv = group_conversation_id(group_id)
    server.call("/msg/mark_conversation_as_read",
                {"userID": carol, "conversationID": gconv, "hasReadSeq": gseq, "seqs": []},
                token=server.user_token(carol))
    group = _wait(receiver, "callbackAfterGroupMsgReadCommand", lambda b: b["receiveID"] == carol)
    assert group.body == {**group.body, "sendID": carol, "unreadMsgNum": gseq, "contentType": 3}


def test_revoke_callback_with_openims_command_name(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    alice, bob = _register(server, admin, "va", "vb")
    seq = _send(server, admin, alice, "revoke me", recv_id=bob)
    conv = single_conversation_id(alice, bob)
    server.call("/msg/revoke_msg", {"userID": alice, "conversationID": conv, "seq": seq},
                token=server.user_token(alice))
    call = _wait(receiver, "callbackBeforeAfterMsgCommand", lambda b: b["conversationID"] == conv)
    assert call.path == "/callback/callbackBeforeAfterMsgCommand"
    assert (call.body["callbackCommand"], call.body["seq"], call.body["userID"]) == (
        "callbackBeforeAfterMsgCommand", seq, alice)


def _key(call: Call) -> dict[str, str]:
    query = parse_qs(urlsplit(call.path).query)
    return dict(json.loads(base64.b64decode(query["key"][0])))


def test_after_send_callbacks_carry_the_key(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    alice, bob = _register(server, admin, "ka", "kb")
    _send(server, admin, alice, "keyed", recv_id=bob)
    single = _wait(receiver, "callbackAfterSendSingleMsgCommand", lambda b: b["sendID"] == alice)
    assert _key(single) == {"sendID": alice, "recvID": bob, "groupID": ""}
    group_id = _group(server, admin, alice, [bob])
    _send(server, admin, alice, "keyed group", group_id=group_id)
    group = _wait(receiver, "callbackAfterSendGroupMsgCommand", lambda b: b["groupID"] == group_id)
    assert _key(group) == {"sendID": alice, "recvID": "", "groupID": group_id}
    saved = _wait(receiver, "callbackAfterMsgSaveDBCommand", lambda b: b["groupID"] == group_id)
    assert (saved.body["sendID"], saved.body["recvID"], saved.body["contentType"]) == (alice, "", 101)
    assert saved.body["seq"] > 0 and _key(saved) == _key(group)
    saved = _wait(receiver, "callbackAfterMsgSaveDBCommand", lambda b: b["sendID"] == alice and b["recvID"] == bob)
    assert saved.body["groupID"] == "" and _key(saved) == _key(single)
    # Only the after-message callbacks carry it.
    assert all("?" not in c.path for c in receiver.of("callbackBeforeOnlinePushCommand"))


def _conversation(server: ServerProcess, admin: str, owner: str, conv: str) -> dict[str, Any]:
    data = server.call("/conversation/get_conversations", {"ownerUserID": owner, "conversationIDs": [conv]},
                       token=admin)
    return dict(data["conversations"][0])


def test_conversation_callbacks_on_a_first_message(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    alice, bob = _register(server, admin, "cfree", "cpin")
    conv = single_conversation_id(alice, bob)
    _send(server, admin, alice, "first", recv_id=bob)
    _send(server, admin, alice, "second", recv_id=bob)
    befores = receiver.wait_for("callbackBeforeCreateSingleChatConversationsCommand",
                                lambda b: b["conversationId"] == conv, count=2, timeout=5)
    by_owner = {c.body["ownerUserId"]: c.body for c in befores}
    assert by_owner[alice] == {**by_owner[alice], "userId": bob, "conversationType": 1, "recvMsgOpt": 0,
                               "isPinned": False, "isPrivateChat": False, "burnDuration": 0, "groupAtType": 0,
                               "attachedInfo": "", "ex": ""}
    assert by_owner[bob]["userId"] == alice
    afters = receiver.wait_for("callbackAfterCreateSingleChatConversationsCommand",
                               lambda b: b["conversationId"] == conv, count=2, timeout=5)
    assert {c.body["ownerUserId"]: (c.body["isPinned"], c.body["ex"]) for c in afters} == {
        alice: (False, ""), bob: (True, "conv by hook")}
    # The answer changed bob's row (not alice's); one callback per conversation, not per message.
    deadline = time.monotonic() + 5
    while not _conversation(server, admin, bob, conv)["isPinned"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (_conversation(server, admin, bob, conv)["isPinned"], _conversation(server, admin, bob, conv)["ex"]) == (
        True, "conv by hook")
    assert _conversation(server, admin, alice, conv)["isPinned"] is False
    time.sleep(0.3)
    assert len(receiver.of("callbackBeforeCreateSingleChatConversationsCommand",
                           lambda b: b["conversationId"] == conv)) == 2

    carol, refused = _register(server, admin, "cfree", "cblk")
    _send(server, admin, carol, "to a refusing owner", recv_id=refused)
    conv2 = single_conversation_id(carol, refused)
    receiver.wait_for("callbackAfterCreateSingleChatConversationsCommand",
                      lambda b: b["conversationId"] == conv2 and b["ownerUserId"] == carol, timeout=5)
    time.sleep(0.3)
    assert receiver.of("callbackAfterCreateSingleChatConversationsCommand",
                       lambda b: b["conversationId"] == conv2 and b["ownerUserId"] == refused) == []
    assert _conversation(server, admin, refused, conv2)["conversationID"] == conv2  # stored with the message


def test_group_conversation_callbacks(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    owner, member = _register(server, admin, "cown", "cmem")
    group_id = "cgrp" + _uid("g")
    server.call("/group/create_group", {"ownerUserID": owner, "memberUserIDs": [member], "adminUserIDs": [],
                                        "groupInfo": {"groupID": group_id, "groupName": "c", "groupType": 2}},
                token=admin)
    conv = group_conversation_id(group_id)
    before = _wait(receiver, "callbackBeforeCreateGroupChatConversationsCommand", lambda b: b["groupId"] == group_id)
    assert before.body == {**before.body, "conversationId": conv, "conversationType": 3, "ownerUserId": "",
                           "isPinned": False}
    after = _wait(receiver, "callbackAfterCreateGroupChatConversationsCommand", lambda b: b["groupId"] == group_id)
    assert (after.body["isPinned"], after.body["ex"]) == (True, "conv by hook")
    deadline = time.monotonic() + 5
    while not _conversation(server, admin, member, conv)["isPinned"] and time.monotonic() < deadline:
        time.sleep(0.05)
    for user in (owner, member):
        assert (_conversation(server, admin, user, conv)["isPinned"], _conversation(server, admin, user, conv)["ex"]) \
            == (True, "conv by hook")


# -- online pushes -------------------------------------------------------------------------------------------


@asynccontextmanager
async def _listening(server: ServerProcess, user_id: str) -> AsyncIterator[list[str]]:
    """A WebSocket connection of ``user_id``; the texts pushed to it while the block runs."""
    token = server.user_token(user_id, WEB)
    url = (f"{server.ws_url}?sendID={user_id}&token={token}&platformID={WEB}&operationID=op{time.time_ns()}"
           "&isBackground=false&isMsgResp=true&sdkType=js")
    texts: list[str] = []
    async with trio_websocket.open_websocket_url(url) as ws:
        assert await ws.get_message() == '{"errCode":0,"errMsg":"","errDlt":""}'

        async def read() -> None:
            while True:
                raw = await ws.get_message()
                if isinstance(raw, str):
                    continue
                frame = decode_response(raw)
                if frame.req_identifier == 2001 and frame.data:
                    for conv in sdkws_pb2.PushMessages.FromString(frame.data).msgs.values():
                        texts.extend(json.loads(m.content).get("content", "") for m in conv.Msgs)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            yield texts
            nursery.cancel_scope.cancel()


async def _settle(texts: list[str], wanted: str, wait: float = 3.0) -> None:
    with trio.move_on_after(wait):
        while wanted not in texts:
            await trio.sleep(0.05)


@pytest.mark.trio
async def test_before_online_push(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    alice, bob = _register(server, admin, "pa", "pb")
    async with _listening(server, bob) as pushed:
        await trio.to_thread.run_sync(lambda: _send(server, admin, alice, "nopush please", recv_id=bob))
        await trio.to_thread.run_sync(lambda: _send(server, admin, alice, "push this", recv_id=bob))
        await _settle(pushed, "push this")
    assert "push this" in pushed and "nopush please" not in pushed
    call = _wait(receiver, "callbackBeforeOnlinePushCommand",
                 lambda b: b["sendID"] == alice and "nopush" in b["content"])
    assert bob in call.body["userIDList"]
    assert (call.body["platformID"], call.body["platform"], call.body["sessionType"]) == (WEB, "Web", 1)
    # The refused push is still stored: the recipient pulls it.
    conv = single_conversation_id(alice, bob)
    seqs = server.call("/msg/get_conversations_has_read_and_max_seq", {"userID": bob, "conversationIDs": [conv]},
                       token=admin)["seqs"]
    assert seqs[conv]["maxSeq"] == 2


@pytest.mark.trio
async def test_before_group_online_push(server: ServerProcess, receiver: Receiver, admin: str) -> None:
    owner, bob, carol = _register(server, admin, "go", "gb", "gc")
    group_id = _group(server, admin, owner, [bob, carol])
    async with _listening(server, bob) as to_bob, _listening(server, carol) as to_carol:
        await trio.to_thread.run_sync(lambda: _send(server, admin, owner, f"onlyto:{carol}", group_id=group_id))
        await trio.to_thread.run_sync(lambda: _send(server, admin, owner, "nopush group", group_id=group_id))
        await trio.to_thread.run_sync(lambda: _send(server, admin, owner, "to all", group_id=group_id))
        await _settle(to_bob, "to all")
        await _settle(to_carol, "to all")
    assert f"onlyto:{carol}" in to_carol and f"onlyto:{carol}" not in to_bob
    assert "nopush group" not in to_bob + to_carol
    assert "to all" in to_bob and "to all" in to_carol
    call = _wait(receiver, "callbackBeforeGroupOnlinePushCommand",
                 lambda b: b["groupID"] == group_id and "to all" in b["content"])
    assert (call.body["platformID"], call.body["sendID"], call.body["contentType"]) == (WEB, owner, 101)
    assert call.body["seq"] > 0 and call.body["sessionType"] == 3 and "userIDList" not in call.body


@pytest.mark.trio
async def test_slow_push_callbacks_time_out(server: ServerProcess, receiver: Receiver, admin: str, mode: str) -> None:
    """A push callback slower than the timeout: the push is skipped (fail closed) or made (fail open); the
    send itself never waits for it."""
    alice, bob, carol = _register(server, admin, "sa", "sb", "sc")
    group_id = _group(server, admin, alice, [carol])
    async with _listening(server, bob) as to_bob, _listening(server, carol) as to_carol:
        took = await trio.to_thread.run_sync(
            lambda: _timed(lambda: (_send(server, admin, alice, "slowpush one", recv_id=bob), "")))
        assert took[1] < 1.0, f"the send waited {took[1]:.2f}s for the push callback"
        await trio.to_thread.run_sync(lambda: _send(server, admin, alice, "slowpush group", group_id=group_id))
        await trio.to_thread.run_sync(lambda: _send(server, admin, alice, "after the slow ones", recv_id=bob))
        await _settle(to_bob, "slowpush one", wait=SLOW + 1.5)
        await _settle(to_carol, "slowpush group", wait=SLOW + 1.5)
        await _settle(to_bob, "after the slow ones", wait=SLOW + 1.5)
    pushed = mode == "fail_open"
    assert ("slowpush one" in to_bob, "slowpush group" in to_carol) == (pushed, pushed), (to_bob, to_carol)
    assert "after the slow ones" in to_bob
    _wait(receiver, "callbackBeforeOnlinePushCommand", lambda b: "slowpush one" in b["content"])
    _wait(receiver, "callbackBeforeGroupOnlinePushCommand", lambda b: "slowpush group" in b["content"])


def test_a_slow_conversation_callback_changes_nothing_and_holds_nothing(
    server: ServerProcess, receiver: Receiver, admin: str
) -> None:
    alice, late = _register(server, admin, "cfree", "cslow")
    conv = single_conversation_id(alice, late)
    _, took = _timed(lambda: (_send(server, admin, alice, "first to a slow hook", recv_id=late), ""))
    assert took < 1.0, f"the send waited {took:.2f}s for the conversation callback"
    receiver.wait_for("callbackBeforeCreateSingleChatConversationsCommand",
                      lambda b: b["conversationId"] == conv and b["ownerUserId"] == late, timeout=5)
    time.sleep(SLOW + 0.5)  # the answer has come, too late
    row = _conversation(server, admin, late, conv)
    assert (row["isPinned"], row["ex"]) == (False, ""), row

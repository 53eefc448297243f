"""One rule for message reads (openim.services.read_access), against a real server process.

Two users chat (si_), share a group (sg_), and each kind of stream holds a stored notification: a revoke
in the pair's ``n_a_b``, a revoke in the group's ``n_<groupID>``, a delete-for-me in the user's own
``n_a_a``. Then every path that reads messages, seqs or read marks -- each REST route and WebSocket
request, enumerated from the route table and the client request identifiers so a new one must be
classified here -- is asked about those conversations by an outsider (nothing may come back, not even a
max seq) and by their owner (everything must, so the probes can tell).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from openim.wire.constants import CLIENT_REQUESTS, ReqIdentifier, group_conversation_id, single_conversation_id
from openim.wire.pb import msg_pb2, sdkws_pb2
from tests.integration.route_table import route_table
from tests.integration.wsclient import WsClient, ws_login

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

SUFFIX = str(time.time_ns())[-8:]
A, B, X = f"ra{SUFFIX}", f"rb{SUFFIX}", f"rx{SUFFIX}"
GROUP = f"rg{SUFFIX}"
SI = single_conversation_id(A, B)
SG = group_conversation_id(GROUP)
N_PAIR = "n_" + SI.removeprefix("si_")
N_GROUP = "n_" + GROUP
N_SELF = f"n_{A}_{A}"
CONVS = [SI, N_PAIR, SG, N_GROUP, N_SELF]
PAGE = {"pageNumber": 1, "showNumber": 100}


# -- what each read path discloses about CONVS ------------------------------------------------------------


def _non_empty(entries: dict[str, Any]) -> set[str]:
    return {c for c, e in (entries or {}).items() if (e or {}).get("Msgs")}


def _rest(server: ServerProcess, path: str, body: dict[str, Any], token: str) -> Any:
    env = server.post(path, body, token=token).json()
    return env["data"] if env["errCode"] == 0 else None


RestProbe = Callable[["ServerProcess", str, str], set[str]]


def p_pull(server: ServerProcess, user: str, token: str) -> set[str]:
    ranges = [{"conversationID": c, "begin": 1, "end": 100, "num": 100} for c in CONVS]
    data = _rest(server, "/msg/pull_msg_by_seq", {"userID": user, "seqRanges": ranges, "order": 0}, token) or {}
    return _non_empty(data.get("msgs")) | _non_empty(data.get("notificationMsgs"))


def p_has_read(server: ServerProcess, user: str, token: str) -> set[str]:
    body = {"userID": user, "conversationIDs": CONVS}
    data = _rest(server, "/msg/get_conversations_has_read_and_max_seq", body, token) or {}
    return set(data.get("seqs") or {})


def p_newest(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/msg/newest_seq", {"userID": user}, token) or {}
    return set(data.get("maxSeqs") or {}) & set(CONVS)


def _conversation_ids(items: Any) -> set[str]:
    out: set[str] = set()
    for item in items or []:
        conv = item.get("conversation", item)
        out.add(conv.get("conversationID", ""))
    return out & set(CONVS)


def p_jssdk_conversations(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/jssdk/get_conversations", {"ownerUserID": user, "conversationIDs": CONVS}, token) or {}
    return _conversation_ids(data.get("conversations"))


def p_jssdk_active(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/jssdk/get_active_conversations", {"ownerUserID": user, "count": 100}, token) or {}
    return _conversation_ids(data.get("conversations"))


def p_conversations(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/conversation/get_conversations", {"ownerUserID": user, "conversationIDs": CONVS}, token)
    return _conversation_ids((data or {}).get("conversations"))


def p_conversation(server: ServerProcess, user: str, token: str) -> set[str]:
    out: set[str] = set()
    for conv in CONVS:
        data = _rest(server, "/conversation/get_conversation", {"ownerUserID": user, "conversationID": conv}, token)
        out |= _conversation_ids([(data or {}).get("conversation") or {}])
    return out


def p_all_conversations(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/conversation/get_all_conversations", {"ownerUserID": user}, token) or {}
    return _conversation_ids(data.get("conversations"))


def p_owner_conversation(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/conversation/get_owner_conversation", {"userID": user, "pagination": PAGE}, token) or {}
    return _conversation_ids(data.get("conversations"))


def p_sorted(server: ServerProcess, user: str, token: str) -> set[str]:
    body = {"userID": user, "conversationIDs": CONVS, "pagination": PAGE}
    data = _rest(server, "/conversation/get_sorted_conversation_list", body, token) or {}
    return {e.get("conversationID", "") for e in data.get("conversationElems") or []} & set(CONVS)


def p_full_ids(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/conversation/get_full_conversation_ids", {"userID": user}, token) or {}
    return set(data.get("conversationIDs") or []) & set(CONVS)


def p_incremental(server: ServerProcess, user: str, token: str) -> set[str]:
    body = {"userID": user, "versionID": "", "version": 0}
    data = _rest(server, "/conversation/get_incremental_conversations", body, token) or {}
    return _conversation_ids((data.get("insert") or []) + (data.get("update") or []))


# Routes that read messages, seqs or conversation state -> a probe of what they disclose about CONVS.
READ_ROUTES: dict[str, RestProbe] = {
    "/msg/pull_msg_by_seq": p_pull,
    "/msg/get_conversations_has_read_and_max_seq": p_has_read,
    "/msg/newest_seq": p_newest,
    "/jssdk/get_conversations": p_jssdk_conversations,
    "/jssdk/get_active_conversations": p_jssdk_active,
    "/conversation/get_conversations": p_conversations,
    "/conversation/get_conversation": p_conversation,
    "/conversation/get_all_conversations": p_all_conversations,
    "/conversation/get_owner_conversation": p_owner_conversation,
    "/conversation/get_sorted_conversation_list": p_sorted,
    "/conversation/get_full_conversation_ids": p_full_ids,
    "/conversation/get_incremental_conversations": p_incremental,
}
def _chat_of(log: dict[str, Any]) -> str:
    if log.get("sessionType") == 1:
        return single_conversation_id(log.get("sendID", ""), log.get("recvID", ""))
    return group_conversation_id(log.get("groupID", "")) if log.get("sessionType") == 3 else ""


def p_search(server: ServerProcess, user: str, token: str) -> set[str]:
    data = _rest(server, "/msg/search_msg", {"sendID": A, "pagination": PAGE}, token) or {}
    return {_chat_of(item.get("chatLog") or {}) for item in data.get("chatLogs") or []} & set(CONVS)


def p_push_ids(server: ServerProcess, user: str, token: str) -> set[str]:
    body = {"conversationID": SG, "userIDs": [A, B]}
    data = _rest(server, "/conversation/get_conversation_offline_push_user_ids", body, token)
    return {SG} if data is not None else set()


# Routes that read across every user (the admin panel's): no user gets anything from them, not even the
# owner of what they would show; an app admin does (so a probe that sees nothing cannot pass for a refusal).
ADMIN_READS: dict[str, RestProbe] = {
    "/msg/search_msg": p_search,
    "/conversation/get_conversation_offline_push_user_ids": p_push_ids,
}
ADMIN_SEES: dict[str, set[str]] = {
    "/msg/search_msg": {SI, SG},
    "/conversation/get_conversation_offline_push_user_ids": {SG},
}
# Routes of the same areas that read nothing back about a conversation (writes answer only an errCode;
# who may call them is the authorization matrix's business).
NOT_READS = {
    "/msg/send_msg", "/msg/send_simple_msg", "/msg/batch_send_msg", "/msg/send_business_notification",
    "/msg/check_msg_is_send_success",
    "/msg/get_server_time", "/msg/revoke_msg", "/msg/mark_conversation_as_read", "/msg/mark_msgs_as_read",
    "/msg/set_conversation_has_read_seq", "/msg/delete_msgs", "/msg/clear_conversation_msg",
    "/msg/user_clear_all_msg", "/msg/delete_msg_phsical_by_seq", "/msg/delete_msg_physical",
    "/conversation/set_conversations", "/conversation/delete_conversations",
    "/conversation/update_conversations_by_user",
    # IDs only, from the caller's own rows, and never chat IDs another user owns:
    "/conversation/get_not_notify_conversation_ids", "/conversation/get_pinned_conversation_ids",
}
# Per-user lists other than conversations: what each discloses of A's entries when asked for ``owner``'s.
COMMAND_TYPE = 9
A_COMMAND = f"rcmd{SUFFIX}"
UserListProbe = Callable[["ServerProcess", str, str], set[str]]


def u_command_get(server: ServerProcess, owner: str, token: str) -> set[str]:
    data = _rest(server, "/user/process_user_command_get", {"userID": owner, "type": COMMAND_TYPE}, token) or {}
    return {c["uuid"] for c in data.get("CommandResp") or []}


def u_command_get_all(server: ServerProcess, owner: str, token: str) -> set[str]:
    data = _rest(server, "/user/process_user_command_get_all", {"userID": owner}, token) or {}
    return {c["uuid"] for c in data.get("CommandResp") or []}


USER_LIST_READS: dict[str, UserListProbe] = {
    "/user/process_user_command_get": u_command_get,
    "/user/process_user_command_get_all": u_command_get_all,
}

# Owners see these conversations through a probe only where the route lists them; the has-read/max-seq
# probes see every one of CONVS, row-based lists only the chat conversations.
CHATS = {SI, SG}


async def w_newest(c: WsClient) -> set[str]:
    r = await c.request(ReqIdentifier.GET_NEWEST_SEQ, sdkws_pb2.GetMaxSeqReq(userID=c.user_id).SerializeToString())
    return set(sdkws_pb2.GetMaxSeqResp.FromString(r.data or b"").maxSeqs) & set(CONVS)


async def w_pull_range(c: WsClient) -> set[str]:
    req = sdkws_pb2.PullMessageBySeqsReq(userID=c.user_id)
    for conv in CONVS:
        req.seqRanges.add(conversationID=conv, begin=1, end=100, num=100)
    resp = sdkws_pb2.PullMessageBySeqsResp.FromString(
        (await c.request(ReqIdentifier.PULL_MSG_BY_RANGE, req.SerializeToString())).data or b""
    )
    return {k for k, v in [*resp.msgs.items(), *resp.notificationMsgs.items()] if v.Msgs}


async def w_pull_seqs(c: WsClient) -> set[str]:
    req = msg_pb2.GetSeqMessageReq(userID=c.user_id)
    for conv in CONVS:
        req.conversations.add(conversationID=conv, seqs=list(range(1, 6)))
    resp = msg_pb2.GetSeqMessageResp.FromString(
        (await c.request(ReqIdentifier.PULL_MSG_BY_SEQ_LIST, req.SerializeToString())).data or b""
    )
    found = {k for k, v in [*resp.msgs.items(), *resp.notificationMsgs.items()] if v.Msgs or v.endSeq}
    return found


async def w_has_read(c: WsClient) -> set[str]:
    req = msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=c.user_id, conversationIDs=CONVS)
    r = await c.request(ReqIdentifier.GET_CONV_MAX_READ_SEQ, req.SerializeToString())
    return set(msg_pb2.GetConversationsHasReadAndMaxSeqResp.FromString(r.data or b"").seqs)


async def w_last(c: WsClient) -> set[str]:
    req = msg_pb2.GetLastMessageReq(userID=c.user_id, conversationIDs=CONVS)
    r = await c.request(ReqIdentifier.PULL_CONV_LAST_MESSAGE, req.SerializeToString())
    return set(msg_pb2.GetLastMessageResp.FromString(r.data or b"").msgs)


READ_FRAMES: dict[int, Callable[[WsClient], Awaitable[set[str]]]] = {
    ReqIdentifier.GET_NEWEST_SEQ: w_newest,
    ReqIdentifier.PULL_MSG_BY_RANGE: w_pull_range,
    ReqIdentifier.PULL_MSG_BY_SEQ_LIST: w_pull_seqs,
    ReqIdentifier.GET_CONV_MAX_READ_SEQ: w_has_read,
    ReqIdentifier.PULL_CONV_LAST_MESSAGE: w_last,
}
NOT_READ_FRAMES = {
    ReqIdentifier.SEND_MSG, ReqIdentifier.SEND_SIGNAL_MSG, ReqIdentifier.LOGOUT_MSG,
    ReqIdentifier.SET_BACKGROUND_STATUS, ReqIdentifier.SUB_USER_ONLINE_STATUS,
}
# What the owner must see through each probe (so a probe that sees nothing cannot pass for a refusal).
OWNER_SEES: dict[str, set[str]] = {
    "/msg/pull_msg_by_seq": set(CONVS),
    "/msg/get_conversations_has_read_and_max_seq": set(CONVS),
    "/msg/newest_seq": set(CONVS),
}
OWNER_SEES_FRAMES: dict[int, set[str]] = {
    ReqIdentifier.GET_NEWEST_SEQ: set(CONVS),
    ReqIdentifier.PULL_MSG_BY_RANGE: set(CONVS),
    ReqIdentifier.PULL_MSG_BY_SEQ_LIST: set(CONVS),
    ReqIdentifier.GET_CONV_MAX_READ_SEQ: set(CONVS),
    ReqIdentifier.PULL_CONV_LAST_MESSAGE: set(CONVS),
}


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, str]:
    """The users' tokens, after A and B chatted, grouped, revoked and deleted (see the module doc)."""
    admin = server.admin_token()
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in (A, B, X)]}, token=admin)
    tokens = {u: server.user_token(u) for u in (A, B, X)}
    tokens["admin"] = admin
    for i in range(3):
        body = {"sendID": A, "recvID": B, "senderPlatformID": 5, "content": {"content": f"secret {i}"},
                "contentType": 101, "sessionType": 1}
        server.call("/msg/send_msg", body, token=admin)
    server.call("/msg/revoke_msg", {"userID": A, "conversationID": SI, "seq": 1}, token=tokens[A])
    server.call(
        "/group/create_group",
        {"memberUserIDs": [B], "ownerUserID": A, "groupInfo": {"groupID": GROUP, "groupName": "g", "groupType": 2}},
        token=tokens[A],
    )
    for i in range(2):
        body = {"sendID": A, "groupID": GROUP, "senderPlatformID": 5, "content": {"content": f"group {i}"},
                "contentType": 101, "sessionType": 3}
        server.call("/msg/send_msg", body, token=admin)
    seqs = server.call("/msg/get_conversations_has_read_and_max_seq", {"userID": A, "conversationIDs": [SG]},
                       token=tokens[A])
    server.call("/msg/revoke_msg", {"userID": A, "conversationID": SG, "seq": seqs["seqs"][SG]["maxSeq"]},
                token=tokens[A])
    server.call(
        "/msg/delete_msgs",
        {"userID": A, "conversationID": SI, "seqs": [2], "deleteSyncOpt": {"IsSyncSelf": True}},
        token=tokens[A],
    )
    server.call("/user/process_user_command_add",
                {"userID": A, "type": COMMAND_TYPE, "uuid": A_COMMAND, "value": "private"}, token=tokens[A])
    return tokens


# -- the enumeration ---------------------------------------------------------------------------------------


def test_every_read_route_and_frame_is_classified() -> None:
    areas = ("/msg/", "/conversation/", "/jssdk/")
    paths = {p for p in route_table() if p.startswith(areas)}
    classified = set(READ_ROUTES) | NOT_READS | set(ADMIN_READS)
    assert paths - classified == set(), "classify the new route: READ_ROUTES, ADMIN_READS or NOT_READS"
    assert classified <= paths, "a classified route no longer exists"
    assert set(READ_FRAMES) | NOT_READ_FRAMES == set(CLIENT_REQUESTS)


# -- the rule ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(READ_ROUTES))
def test_rest_read_gives_a_non_member_nothing(server: ServerProcess, world: dict[str, str], path: str) -> None:
    assert READ_ROUTES[path](server, X, world[X]) == set()


@pytest.mark.parametrize("path", sorted(READ_ROUTES))
def test_rest_read_gives_the_owner_their_conversations(
    server: ServerProcess, world: dict[str, str], path: str
) -> None:
    seen = READ_ROUTES[path](server, A, world[A])
    assert seen >= OWNER_SEES.get(path, set()), seen
    if path not in OWNER_SEES:  # row-based lists: the chat conversations, never an n_ stream
        assert seen <= CHATS


@pytest.mark.parametrize("path", sorted(ADMIN_READS))
def test_admin_reads_give_users_nothing_and_admins_everything(
    server: ServerProcess, world: dict[str, str], path: str
) -> None:
    for user in (X, A, B):
        assert ADMIN_READS[path](server, user, world[user]) == set(), user
    assert ADMIN_READS[path](server, "imAdmin", world["admin"]) >= ADMIN_SEES[path]


@pytest.mark.trio
@pytest.mark.parametrize("req", sorted(READ_FRAMES), ids=str)
async def test_ws_read_gives_a_non_member_nothing(server: ServerProcess, world: dict[str, str], req: int) -> None:
    async with ws_login(server.ws_url, X, world[X]) as client:
        assert await READ_FRAMES[req](client) == set()


@pytest.mark.trio
@pytest.mark.parametrize("req", sorted(READ_FRAMES), ids=str)
async def test_ws_read_gives_the_owner_their_conversations(
    server: ServerProcess, world: dict[str, str], req: int
) -> None:
    async with ws_login(server.ws_url, A, world[A]) as client:
        assert await READ_FRAMES[req](client) >= OWNER_SEES_FRAMES[req]


@pytest.mark.trio
async def test_the_peer_reads_the_pair_and_group_streams_but_not_the_others_own(
    server: ServerProcess, world: dict[str, str]
) -> None:
    async with ws_login(server.ws_url, B, world[B]) as client:
        assert await w_pull_range(client) == {SI, N_PAIR, SG, N_GROUP}  # N_SELF is A's own stream
        assert await w_has_read(client) == {SI, N_PAIR, SG, N_GROUP}


def test_revoke_tells_a_non_member_nothing_about_which_messages_exist(
    server: ServerProcess, world: dict[str, str]
) -> None:
    """A stranger's revoke gets the same answer for a stored seq, a revoked one and a missing one."""
    codes = set()
    for seq in (1, 3, 999):  # revoked, stored, missing
        env = server.post("/msg/revoke_msg", {"userID": X, "conversationID": SI, "seq": seq}, token=world[X]).json()
        codes.add(env["errCode"])
    assert codes == {1004}


@pytest.mark.parametrize("path", sorted(USER_LIST_READS))
def test_another_users_command_list_reads_as_nothing(server: ServerProcess, world: dict[str, str], path: str) -> None:
    probe = USER_LIST_READS[path]
    env = server.post(path, {"userID": A, "type": COMMAND_TYPE}, token=world[X]).json()
    assert env["errCode"] == 1002, env
    assert probe(server, A, world[X]) == set()
    assert probe(server, X, world[X]) == set()  # the caller's own list holds nothing of A's
    assert probe(server, A, world[A]) == {A_COMMAND}  # the owner sees it: the probe can tell
    assert probe(server, A, world["admin"]) == {A_COMMAND}

"""The cross-user authorization matrix: every REST route and every WebSocket request x {self, other
user, group member, non-member, app admin}, with the exact errCode each must get, against a real server.

The subject of every request is OWNER: their user ID, their conversation, a group they own. The roles:

- ``self``: OWNER;
- ``other``: a friend of OWNER who is not in OWNER's groups (the user another user knows best);
- ``member``: a member of OWNER's group who is not OWNER's friend;
- ``nonmember``: a stranger (no friendship, no group);
- ``admin``: an app admin.

The routes come from the app's route table and the requests from the client request identifiers, so a
route or request without a row here fails ``test_every_route_and_request_has_a_row``. Rows that change
state prepare fresh state for each call (a new group, a new application, ...), so each role meets the
same situation. Where a non-owner is answered 0, the row says why it is harmless.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio
import trio_websocket

from openim.wire.constants import CLIENT_REQUESTS, ReqIdentifier, single_conversation_id
from openim.wire.pb import msg_pb2, push_pb2, sdkws_pb2
from tests.integration.route_table import route_table
from tests.integration.wsclient import ws_login

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

SUFFIX = str(time.time_ns())[-7:]
OWNER, FRIEND, MEMBER, STRANGER = (f"mx{r}{SUFFIX}" for r in ("own", "frd", "mem", "str"))
EXTRA = [f"mx{r}{SUFFIX}" for r in ("t1", "t2", "t3", "t4")]  # invitees, kick targets, new owners
ROLES = ("self", "other", "member", "nonmember", "admin")
ROLE_USER = {"self": OWNER, "other": FRIEND, "member": MEMBER, "nonmember": STRANGER}
DENIED = 1002
NOT_MEMBER = 1004  # what a non-member acting on a group hears (RecordNotFound: "not a member of")
PAGE = {"pageNumber": 1, "showNumber": 10}
_serial = itertools.count()


@dataclass
class Ctx:
    """What a row's body may name; ``prepare`` functions add fresh state per call."""

    server: ServerProcess
    tokens: dict[str, str]
    group: str
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


Body = Callable[[Ctx], dict[str, Any]]
Prepare = Callable[[Ctx], None]


@dataclass(frozen=True)
class Row:
    path: str
    body: Body
    # errCode per role; roles not named get the default of the row's kind
    codes: dict[str, int] = field(default_factory=dict)
    prepare: Prepare | None = None
    why: str = ""  # why a non-owner's 0 is harmless
    query: str = ""  # appended to the path (a route that takes part of its input in the query)


def own(path: str, body: Body, **kw: Any) -> Row:
    """Acts for OWNER: self and admin 0, everyone else 1002 (OpenIM's CheckAccess)."""
    codes = {"self": 0, "other": DENIED, "member": DENIED, "nonmember": DENIED, "admin": 0}
    codes.update(kw.pop("codes", {}))
    return Row(path, body, codes, **kw)


def group_op(path: str, body: Body, **kw: Any) -> Row:
    """An owner's operation on OWNER's group: a member is refused 1002, a non-member 1004."""
    codes = {"other": NOT_MEMBER, "nonmember": NOT_MEMBER}
    codes.update(kw.pop("codes", {}))
    return own(path, body, codes=codes, **kw)


def admin_only(path: str, body: Body, **kw: Any) -> Row:
    codes = {"self": DENIED, "other": DENIED, "member": DENIED, "nonmember": DENIED, "admin": 0}
    codes.update(kw.pop("codes", {}))
    return Row(path, body, codes, **kw)


def anyone(path: str, body: Body, why: str, **kw: Any) -> Row:
    codes = dict.fromkeys(ROLES, 0)
    codes.update(kw.pop("codes", {}))
    return Row(path, body, codes, why=why, **kw)


# -- preparations (fresh state per call) -------------------------------------------------------------------


def _admin(ctx: Ctx) -> str:
    return ctx.tokens["admin"]


def fresh_group(ctx: Ctx) -> None:
    """A new group owned by OWNER with MEMBER and two targets in it."""
    gid = f"mxg{next(_serial)}{SUFFIX}"
    ctx.server.call(
        "/group/create_group",
        {"ownerUserID": OWNER, "memberUserIDs": [MEMBER, EXTRA[0], EXTRA[1]],
         "groupInfo": {"groupID": gid, "groupName": "m", "groupType": 2}},
        token=ctx.tokens[OWNER],
    )
    ctx.values["g"] = gid


def fresh_application(ctx: Ctx) -> None:
    """A fresh group with verification on, and STRANGER's pending application to join it."""
    gid = f"mxv{next(_serial)}{SUFFIX}"
    ctx.server.call(
        "/group/create_group",
        {"ownerUserID": OWNER, "memberUserIDs": [MEMBER],
         "groupInfo": {"groupID": gid, "groupName": "v", "groupType": 2, "needVerification": 1}},
        token=ctx.tokens[OWNER],
    )
    ctx.server.call("/group/join_group", {"groupID": gid, "reqMessage": "hi", "joinSource": 3,
                                          "inviterUserID": STRANGER}, token=ctx.tokens[STRANGER])
    ctx.values["g"] = gid


def foreign_group(ctx: Ctx) -> None:
    """A new group OWNER is not in (owned by EXTRA[3], joining needs approval)."""
    gid = f"mxf{next(_serial)}{SUFFIX}"
    ctx.server.call(
        "/group/create_group",
        {"ownerUserID": EXTRA[3], "memberUserIDs": [EXTRA[0]],
         "groupInfo": {"groupID": gid, "groupName": "f", "groupType": 2, "needVerification": 1}},
        token=ctx.tokens[EXTRA[3]],
    )
    ctx.values["g"] = gid


def friend_applies(ctx: Ctx) -> None:
    """EXTRA[2] asks OWNER for friendship (again: the row refuses it, so it stays pending or is re-sent)."""
    ctx.server.call("/friend/add_friend", {"fromUserID": EXTRA[2], "toUserID": OWNER, "reqMsg": "hi"},
                    token=ctx.tokens[EXTRA[2]])


def befriend_extra(ctx: Ctx) -> None:
    ctx.server.call("/friend/import_friend", {"ownerUserID": OWNER, "friendUserIDs": [EXTRA[3]]}, token=_admin(ctx))


def black_extra(ctx: Ctx) -> None:
    ctx.server.call("/friend/add_black", {"ownerUserID": OWNER, "blackUserID": EXTRA[3]}, token=ctx.tokens[OWNER])


def fresh_message(ctx: Ctx) -> None:
    """OWNER says something to FRIEND; its seq in ``seq``."""
    body = {"sendID": OWNER, "recvID": FRIEND, "senderPlatformID": 5, "content": {"content": "x"},
            "contentType": 101, "sessionType": 1}
    ctx.server.call("/msg/send_msg", body, token=_admin(ctx))
    data = ctx.server.call("/msg/get_conversations_has_read_and_max_seq",
                           {"userID": OWNER, "conversationIDs": [CONV]}, token=_admin(ctx))
    ctx.values["seq"] = data["seqs"][CONV]["maxSeq"]


def owner_upload(ctx: Ctx) -> None:
    """An upload OWNER started: its ID in ``upload``, its object name in ``upload_name``."""
    name = f"{OWNER}/mxu{next(_serial)}"
    data = ctx.server.call(
        "/object/initiate_multipart_upload",
        {"hash": "0" * 32, "size": 10, "partSize": 10, "maxParts": 1, "name": name, "contentType": "text/plain"},
        token=ctx.tokens[OWNER],
    )
    ctx.values["upload"], ctx.values["upload_name"] = data["upload"]["uploadID"], name


def owner_form(ctx: Ctx) -> None:
    """A form upload OWNER started and whose file arrived: its id in ``form``."""
    name = f"{OWNER}/mxf{next(_serial)}.txt"
    form = ctx.server.call("/object/initiate_form_data", {"name": name, "size": 2, "contentType": "text/plain"},
                           token=ctx.tokens[OWNER])
    posted = httpx.post(form["url"], data=form["formData"], files={form["file"]: ("f.txt", b"hi")}, timeout=10)
    assert posted.status_code == 200, posted.text
    ctx.values["form"] = form["id"]


def owner_log(ctx: Ctx) -> None:
    """A log file OWNER recorded: its log ID in ``log``."""
    name = f"mxlog{next(_serial)}.zip"
    body = {"platform": 5, "fileURLs": [{"filename": name, "URL": f"http://h/object/{OWNER}/{name}"}]}
    ctx.server.call("/third/logs/upload", body, token=ctx.tokens[OWNER])
    search = {"keyword": OWNER, "pagination": {"pageNumber": 1, "showNumber": 500}}
    found = ctx.server.call("/third/logs/search", search, token=_admin(ctx))
    ctx.values["log"] = next(i["logID"] for i in found["logsInfos"] if i["filename"] == name)


def owner_command(ctx: Ctx) -> None:
    """A fresh entry in OWNER's command list: its uuid in ``cmd``."""
    uuid = f"mxc{next(_serial)}"
    ctx.server.call("/user/process_user_command_add", {"userID": OWNER, "type": 7, "uuid": uuid, "value": "v"},
                    token=ctx.tokens[OWNER])
    ctx.values["cmd"] = uuid


def fresh_notification_account(ctx: Ctx) -> None:
    """A new notification account: its userID in ``acct``."""
    data = ctx.server.call("/user/add_notification_account", {"nickName": "mx", "appMangerLevel": 3},
                           token=_admin(ctx))
    ctx.values["acct"] = data["userID"]


CONV = single_conversation_id(OWNER, FRIEND)
REPLY_KEY = base64.b64encode(json.dumps({"sendID": FRIEND, "recvID": OWNER, "groupID": ""}).encode()).decode()

# -- the rows --------------------------------------------------------------------------------------------------

ROWS: list[Row] = [
    # auth
    anyone("/auth/get_admin_token", lambda c: {"secret": c.server.secret, "userID": "imAdmin"},
           why="no token needed: the secret is the credential"),
    anyone("/auth/parse_token", lambda c: {"token": c.tokens[OWNER]},
           why="no token needed: the token in the body is the credential"),
    admin_only("/auth/get_user_token", lambda c: {"userID": OWNER, "platformID": 2}),
    admin_only("/auth/force_logout", lambda c: {"userID": EXTRA[3], "platformID": 3}),
    # user
    admin_only("/user/user_register",
               lambda c: {"users": [{"userID": f"mxr{next(_serial)}{SUFFIX}", "nickname": "r"}]}),
    admin_only("/user/account_check", lambda c: {"checkUserIDs": [OWNER]}),
    own("/user/get_user_client_config", lambda c: {"userID": OWNER}),
    admin_only("/user/set_user_client_config", lambda c: {"userID": OWNER, "configs": {"mx.k": "v"}}),
    admin_only("/user/del_user_client_config", lambda c: {"userID": OWNER, "keys": ["mx.k"]}),
    admin_only("/user/page_user_client_config", lambda c: {"userID": OWNER, "pagination": PAGE}),
    admin_only("/user/get_users_online_status", lambda c: {"userIDs": [OWNER]}),
    admin_only("/user/get_users_online_token_detail", lambda c: {"userIDs": [OWNER]}),
    anyone("/user/get_users_info", lambda c: {"userIDs": [OWNER]}, why="public profiles, as in OpenIM"),
    anyone("/user/get_users", lambda c: {"pagination": PAGE, "userID": OWNER}, why="public profiles"),
    anyone("/user/get_all_users_uid", lambda c: {"pagination": PAGE}, why="user IDs are public in OpenIM"),
    anyone("/user/get_users_status", lambda c: {"userID": OWNER, "userIDs": [OWNER]},
           why="online status is public in OpenIM"),
    own("/user/get_subscribe_users_status", lambda c: {"userID": OWNER}),
    own("/user/subscribe_users_status", lambda c: {"userID": OWNER, "userIDs": [FRIEND], "genre": 1}),
    own("/user/set_global_msg_recv_opt", lambda c: {"userID": OWNER, "globalRecvMsgOpt": 0}),
    own("/user/update_user_info", lambda c: {"userInfo": {"userID": OWNER, "nickname": "Owner"}}),
    own("/user/update_user_info_ex", lambda c: {"userInfo": {"userID": OWNER, "ex": "e"}}),
    own("/user/process_user_command_add",
        lambda c: {"userID": OWNER, "type": 7, "uuid": f"mxa{next(_serial)}", "value": "v"}),
    own("/user/process_user_command_update", lambda c: {"userID": OWNER, "type": 7, "uuid": c["cmd"], "value": "w"},
        prepare=owner_command),
    own("/user/process_user_command_delete", lambda c: {"userID": OWNER, "type": 7, "uuid": c["cmd"]},
        prepare=owner_command),
    own("/user/process_user_command_get", lambda c: {"userID": OWNER, "type": 7}),
    own("/user/process_user_command_get_all", lambda c: {"userID": OWNER}),
    admin_only("/user/add_notification_account", lambda c: {"nickName": "mx", "appMangerLevel": 3}),
    admin_only("/user/update_notification_account", lambda c: {"userID": c["acct"], "nickName": "mx2"},
               prepare=fresh_notification_account),
    admin_only("/user/search_notification_account", lambda c: {"pagination": PAGE}),
    # friend
    own("/friend/get_incremental_friends", lambda c: {"userID": OWNER, "version": 0, "versionID": ""}),
    own("/friend/get_full_friend_user_ids", lambda c: {"userID": OWNER, "idHash": 0}),
    own("/friend/get_designated_friends", lambda c: {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}),
    own("/friend/add_friend", lambda c: {"fromUserID": OWNER, "toUserID": STRANGER, "reqMsg": "hi"}),
    own("/friend/add_friend_response",
        lambda c: {"fromUserID": EXTRA[2], "toUserID": OWNER, "handleResult": -1}, prepare=friend_applies),
    own("/friend/get_self_friend_apply_list", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/friend/get_self_unhandled_apply_count", lambda c: {"userID": OWNER}),
    own("/friend/get_friend_apply_list", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/friend/get_designated_friend_apply", lambda c: {"fromUserID": OWNER, "toUserID": EXTRA[3]}),
    own("/friend/delete_friend", lambda c: {"ownerUserID": OWNER, "friendUserID": EXTRA[3]}, prepare=befriend_extra),
    own("/friend/is_friend", lambda c: {"userID1": OWNER, "userID2": EXTRA[3]}),  # either user of the pair
    own("/friend/get_friend_list", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/friend/get_friend_id", lambda c: {"userID": OWNER}),
    own("/friend/get_specified_friends_info", lambda c: {"ownerUserID": OWNER, "userIDList": [FRIEND]}),
    own("/friend/update_friends",
        lambda c: {"ownerUserID": OWNER, "friendUserIDs": [FRIEND], "remark": "r"}),
    own("/friend/set_friend_remark", lambda c: {"ownerUserID": OWNER, "friendUserID": FRIEND, "remark": "r"}),
    own("/friend/add_black", lambda c: {"ownerUserID": OWNER, "blackUserID": EXTRA[3]}),
    own("/friend/remove_black", lambda c: {"ownerUserID": OWNER, "blackUserID": EXTRA[3]}, prepare=black_extra),
    own("/friend/get_black_list", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/friend/get_specified_blacks", lambda c: {"ownerUserID": OWNER, "userIDList": [STRANGER]}),
    own("/friend/get_incremental_blacks", lambda c: {"userID": OWNER, "version": 0, "versionID": ""}),
    admin_only("/friend/import_friend", lambda c: {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}),
    # group: OWNER's group; the member may read it, the others may not act on it
    own("/group/create_group",
        lambda c: {"ownerUserID": OWNER, "memberUserIDs": [MEMBER],
                   "groupInfo": {"groupID": f"mxc{next(_serial)}{SUFFIX}", "groupName": "c", "groupType": 2}}),
    own("/group/dismiss_group", lambda c: {"groupID": c["g"]}, prepare=fresh_group),
    own("/group/transfer_group", lambda c: {"groupID": c["g"], "oldOwnerUserID": OWNER, "newOwnerUserID": EXTRA[0]},
        prepare=fresh_group),
    own("/group/kick_group", lambda c: {"groupID": c["g"], "kickedUserIDs": [EXTRA[1]]}, prepare=fresh_group),
    group_op("/group/invite_user_to_group", lambda c: {"groupID": c["g"], "invitedUserIDs": [EXTRA[2]]},
        prepare=fresh_group, codes={"member": 0}, why="members may invite (needVerification 0, as in OpenIM)"),
    group_op("/group/mute_group", lambda c: {"groupID": c["g"]}, prepare=fresh_group),
    group_op("/group/cancel_mute_group", lambda c: {"groupID": c["g"]}, prepare=fresh_group),
    group_op("/group/mute_group_member", lambda c: {"groupID": c["g"], "userID": EXTRA[1], "mutedSeconds": 60},
        prepare=fresh_group),
    group_op("/group/cancel_mute_group_member", lambda c: {"groupID": c["g"], "userID": EXTRA[1]}, prepare=fresh_group),
    group_op("/group/set_group_info", lambda c: {"groupInfoForSet": {"groupID": c["g"], "groupName": "n"}},
        prepare=fresh_group),
    group_op("/group/set_group_info_ex", lambda c: {"groupID": c["g"], "groupName": "n"}, prepare=fresh_group),
    own("/group/set_group_member_info",
        lambda c: {"members": [{"groupID": c["g"], "userID": EXTRA[1], "nickname": "n"}]}, prepare=fresh_group),
    own("/group/quit_group", lambda c: {"groupID": c["g"], "userID": EXTRA[1]}, prepare=fresh_group,
        codes={"self": DENIED}),
    group_op("/group/group_application_response",
        lambda c: {"groupID": c["g"], "fromUserID": STRANGER, "handleResult": -1}, prepare=fresh_application),
    own("/group/join_group",
        lambda c: {"groupID": c["g"], "reqMessage": "hi", "joinSource": 3, "inviterUserID": OWNER},
        prepare=foreign_group),
    own("/group/get_group_member_list", lambda c: {"groupID": c.group, "pagination": PAGE}, codes={"member": 0},
        why="members read their own group"),
    own("/group/get_group_member_user_id", lambda c: {"groupID": c.group}, codes={"member": 0},
        why="members read their own group"),
    own("/group/get_group_members_info", lambda c: {"groupID": c.group, "userIDs": [MEMBER]}, codes={"member": 0},
        why="members read their own group"),
    own("/group/get_full_group_member_user_ids", lambda c: {"groupID": c.group, "idHash": 0}, codes={"member": 0},
        why="members read their own group"),
    own("/group/get_incremental_group_members", lambda c: {"groupID": c.group, "version": 0, "versionID": ""},
        codes={"member": 0},
        why="members read their own group"),
    own("/group/get_incremental_group_members_batch",
        lambda c: {"userID": OWNER, "reqList": [{"groupID": c.group, "version": 0, "versionID": ""}]}),
    anyone("/group/get_groups_info", lambda c: {"groupIDs": [c.group]}, why="group profiles are public in OpenIM"),
    own("/group/get_group_abstract_info", lambda c: {"groupIDs": [c.group]}, codes={"member": 0},
        why="members read their own group"),
    anyone("/group/get_groups", lambda c: {"groupID": c.group, "pagination": PAGE},
           why="the public group search (profiles only)"),
    own("/group/get_joined_group_list", lambda c: {"fromUserID": OWNER, "pagination": PAGE}),
    own("/group/get_full_join_group_ids", lambda c: {"userID": OWNER, "idHash": 0}),
    own("/group/get_incremental_join_groups", lambda c: {"userID": OWNER, "version": 0, "versionID": ""}),
    own("/group/get_recv_group_applicationList", lambda c: {"fromUserID": OWNER, "pagination": PAGE}),
    own("/group/get_user_req_group_applicationList", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/group/get_group_application_unhandled_count", lambda c: {"userID": OWNER}),
    own("/group/get_group_users_req_application_list", lambda c: {"groupID": c.group, "userIDs": [EXTRA[2]]}),
    own("/group/get_specified_user_group_request_info", lambda c: {"groupID": c.group, "userID": EXTRA[2]}),
    # msg
    # the reply goes from the key's recvID (OWNER) back to its sendID (FRIEND): OWNER's own send
    own("/msg/send_simple_msg", lambda c: {"content": "a reply"}, query=f"?key={REPLY_KEY}"),
    admin_only("/msg/send_msg", lambda c: {"sendID": OWNER, "recvID": FRIEND, "senderPlatformID": 5,
                                           "content": {"content": "x"}, "contentType": 101, "sessionType": 1}),
    admin_only("/msg/batch_send_msg", lambda c: {"sendID": OWNER, "recvIDs": [FRIEND], "senderPlatformID": 5,
                                                 "content": {"content": "x"}, "contentType": 101, "sessionType": 1}),
    admin_only("/msg/send_business_notification",
               lambda c: {"sendUserID": OWNER, "recvUserID": FRIEND, "key": "k", "data": "{}"}),
    admin_only("/msg/delete_msg_phsical_by_seq", lambda c: {"conversationID": CONV, "seqs": [c["seq"]]},
               prepare=fresh_message),
    admin_only("/msg/delete_msg_physical", lambda c: {"conversationIDs": [CONV], "timestamp": 1}),
    anyone("/msg/check_msg_is_send_success", lambda c: {}, why="the status of the caller's own operationID"),
    anyone("/msg/get_server_time", lambda c: {}, why="the clock"),
    own("/msg/newest_seq", lambda c: {"userID": OWNER}),
    own("/msg/pull_msg_by_seq",
        lambda c: {"userID": OWNER, "seqRanges": [{"conversationID": CONV, "begin": 1, "end": 10, "num": 10}]}),
    own("/msg/get_conversations_has_read_and_max_seq", lambda c: {"userID": OWNER, "conversationIDs": [CONV]}),
    own("/msg/revoke_msg", lambda c: {"userID": OWNER, "conversationID": CONV, "seq": c["seq"]},
        prepare=fresh_message),
    own("/msg/mark_conversation_as_read", lambda c: {"userID": OWNER, "conversationID": CONV, "hasReadSeq": c["seq"]},
        prepare=fresh_message),
    own("/msg/mark_msgs_as_read", lambda c: {"userID": OWNER, "conversationID": CONV, "seqs": [c["seq"]]},
        prepare=fresh_message),
    own("/msg/set_conversation_has_read_seq",
        lambda c: {"userID": OWNER, "conversationID": CONV, "hasReadSeq": c["seq"]}, prepare=fresh_message),
    own("/msg/delete_msgs", lambda c: {"userID": OWNER, "conversationID": CONV, "seqs": [c["seq"]]},
        prepare=fresh_message),
    own("/msg/clear_conversation_msg", lambda c: {"userID": OWNER, "conversationIDs": [CONV]}, prepare=fresh_message),
    own("/msg/user_clear_all_msg", lambda c: {"userID": OWNER}),
    # the admin panel's queries: across all users, so for app admins only (OpenIM checks none on search_msg)
    admin_only("/msg/search_msg", lambda c: {"sendID": OWNER, "pagination": PAGE}),
    admin_only("/statistics/user/register", lambda c: {"start": 0, "end": int(time.time() * 1000)}),
    admin_only("/statistics/group/create", lambda c: {"start": 0, "end": int(time.time() * 1000)}),
    admin_only("/statistics/user/active", lambda c: {"start": 0, "end": int(time.time() * 1000), "pagination": PAGE}),
    admin_only("/statistics/group/active", lambda c: {"start": 0, "end": int(time.time() * 1000), "pagination": PAGE}),
    # conversation
    own("/conversation/get_all_conversations", lambda c: {"ownerUserID": OWNER}),
    own("/conversation/get_conversation", lambda c: {"ownerUserID": OWNER, "conversationID": CONV},
        prepare=fresh_message),
    own("/conversation/get_conversations", lambda c: {"ownerUserID": OWNER, "conversationIDs": [CONV]}),
    own("/conversation/get_owner_conversation", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/conversation/get_sorted_conversation_list", lambda c: {"userID": OWNER, "pagination": PAGE}),
    own("/conversation/get_full_conversation_ids", lambda c: {"userID": OWNER, "idHash": 0}),
    own("/conversation/get_incremental_conversations", lambda c: {"userID": OWNER, "version": 0, "versionID": ""}),
    own("/conversation/get_not_notify_conversation_ids", lambda c: {"userID": OWNER}),
    own("/conversation/get_pinned_conversation_ids", lambda c: {"userID": OWNER}),
    own("/conversation/set_conversations",
        lambda c: {"userIDs": [OWNER], "conversation": {"conversationID": CONV, "conversationType": 1,
                                                        "userID": FRIEND, "isPinned": True}}),
    own("/conversation/update_conversations_by_user", lambda c: {"userID": OWNER, "ex": "e"}),
    admin_only("/conversation/get_conversation_offline_push_user_ids",
               lambda c: {"conversationID": CONV, "userIDs": [OWNER, FRIEND]}),
    own("/conversation/delete_conversations", lambda c: {"ownerUserID": OWNER, "conversationIDs": [CONV]},
        prepare=fresh_message),
    anyone("/jssdk/get_active_conversations", lambda c: {"ownerUserID": OWNER, "count": 10},
           why="answers the token user's own conversations; ownerUserID is ignored"),
    anyone("/jssdk/get_conversations", lambda c: {"ownerUserID": OWNER, "conversationIDs": [CONV]},
           why="answers the token user's own conversations; ownerUserID is ignored"),
    # third, object: the caller's own device and uploads
    anyone("/third/fcm_update_token", lambda c: {"platformID": 2, "fcmToken": f"t{next(_serial)}", "expireTime": 0},
           why="sets the push token of the caller's own user and platform (no user in the body)",
           codes={"admin": 0}),
    own("/third/set_app_badge", lambda c: {"userID": OWNER, "appUnreadCount": 1}),
    anyone("/third/logs/upload",
           lambda c: {"platform": 5, "fileURLs": [{"filename": "a.log", "URL": f"http://h/object/{c['me']}/a.log"}]},
           why="records log files as the caller's own (the body names no user)"),
    admin_only("/third/logs/search", lambda c: {"keyword": OWNER, "pagination": PAGE}),
    admin_only("/third/logs/delete", lambda c: {"logIDs": [c["log"]]}, prepare=owner_log),
    anyone("/object/part_limit", lambda c: {}, why="server constants"),
    anyone("/object/part_size", lambda c: {"size": 1 << 20}, why="server constants"),
    anyone("/object/initiate_multipart_upload",
           lambda c: {"hash": "0" * 32, "size": 10, "partSize": 10, "maxParts": 1,
                      "name": f"{c['me']}/mx{next(_serial)}", "contentType": "text/plain"},
           why="an upload under the caller's own name prefix"),
    Row("/object/auth_sign", lambda c: {"uploadID": c["upload"], "partNumbers": [1]}, prepare=owner_upload,
        codes={"self": 0, "other": DENIED, "member": DENIED, "nonmember": DENIED, "admin": 0}),
    Row("/object/complete_multipart_upload",
        lambda c: {"uploadID": c["upload"], "name": c["upload_name"], "parts": ["p"]}, prepare=owner_upload,
        codes={"self": 1001, "other": DENIED, "member": DENIED, "nonmember": DENIED, "admin": 1001}),
    anyone("/object/access_url", lambda c: {"name": "mx/none"}, why="a missing object: 1004 for everyone",
           codes=dict.fromkeys(ROLES, 1004)),
    anyone("/object/initiate_form_data",
           lambda c: {"name": f"{c['me']}/mxf{next(_serial)}", "size": 10, "contentType": "text/plain"},
           why="a form upload under the caller's own name prefix"),
    own("/object/complete_form_data", lambda c: {"id": c["form"]}, prepare=owner_form),
]


# -- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> Ctx:
    admin = server.admin_token()
    people = [OWNER, FRIEND, MEMBER, STRANGER, *EXTRA]
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in people]}, token=admin)
    tokens = {u: server.user_token(u) for u in people}
    tokens["admin"] = admin
    server.call("/friend/import_friend", {"ownerUserID": OWNER, "friendUserIDs": [FRIEND]}, token=admin)
    group = f"mxgrp{SUFFIX}"
    server.call(
        "/group/create_group",
        {"ownerUserID": OWNER, "memberUserIDs": [MEMBER], "groupInfo": {"groupID": group, "groupName": "g",
                                                                       "groupType": 2}},
        token=tokens[OWNER],
    )
    body = {"sendID": OWNER, "recvID": FRIEND, "senderPlatformID": 5, "content": {"content": "x"},
            "contentType": 101, "sessionType": 1}
    server.call("/msg/send_msg", body, token=admin)
    return Ctx(server, tokens, group)


def _token(ctx: Ctx, role: str) -> str:
    return ctx.tokens["admin"] if role == "admin" else ctx.tokens[ROLE_USER[role]]


# -- REST --------------------------------------------------------------------------------------------------------


def test_every_route_and_request_has_a_row() -> None:
    paths = [r.path for r in ROWS]
    assert len(paths) == len(set(paths)), "one row per route"
    assert set(route_table()) - set(paths) == set(), "a route without a matrix row"
    assert set(paths) - set(route_table()) == set(), "a row for a route that no longer exists"
    assert set(WS_ROWS) == set(CLIENT_REQUESTS), "a WebSocket request without a matrix row"
    for row in ROWS:
        assert set(row.codes) == set(ROLES), row.path
        strangers_allowed = [r for r in ("other", "member", "nonmember") if row.codes[r] == 0]
        assert not strangers_allowed or row.why, f"{row.path}: say why {strangers_allowed} may call it"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=[r.path for r in ROWS])
def test_rest_matrix(world: Ctx, row: Row, role: str) -> None:
    ctx = Ctx(world.server, world.tokens, world.group, {"me": "imAdmin" if role == "admin" else ROLE_USER[role]})
    if row.prepare is not None:
        row.prepare(ctx)
    resp = ctx.server.post(row.path + row.query, row.body(ctx), token=_token(ctx, role))
    assert resp.status_code == 200, resp.text
    env = resp.json()
    assert env["errCode"] == row.codes[role], f"{row.path} as {role}: {env}"


# -- WebSocket ----------------------------------------------------------------------------------------------------


def _text(send_id: str) -> bytes:
    return sdkws_pb2.MsgData(
        sendID=send_id, recvID=FRIEND if send_id != FRIEND else OWNER, clientMsgID=f"mx{time.time_ns()}",
        senderPlatformID=5, sessionType=1, msgFrom=100, contentType=101,
        content=json.dumps({"content": "hi"}).encode(), createTime=int(time.time() * 1000), status=1,
    ).SerializeToString()


# request -> (payload naming OWNER, errCode per role). Every read names OWNER's userID; the gateway answers
# only the connection's own user (an admin's connection too: WS requests act for the connection).
_NAMING = {"self": 0, "other": DENIED, "member": DENIED, "nonmember": DENIED, "admin": DENIED}
WS_ROWS: dict[int, tuple[Callable[[], bytes], dict[str, int]]] = {
    ReqIdentifier.GET_NEWEST_SEQ: (lambda: sdkws_pb2.GetMaxSeqReq(userID=OWNER).SerializeToString(), _NAMING),
    ReqIdentifier.PULL_MSG_BY_RANGE: (
        lambda: sdkws_pb2.PullMessageBySeqsReq(
            userID=OWNER, seqRanges=[sdkws_pb2.SeqRange(conversationID=CONV, begin=1, end=5, num=5)]
        ).SerializeToString(),
        _NAMING,
    ),
    ReqIdentifier.PULL_MSG_BY_SEQ_LIST: (
        lambda: msg_pb2.GetSeqMessageReq(
            userID=OWNER, conversations=[msg_pb2.ConversationSeqs(conversationID=CONV, seqs=[1])]
        ).SerializeToString(),
        _NAMING,
    ),
    ReqIdentifier.GET_CONV_MAX_READ_SEQ: (
        lambda: msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID=OWNER, conversationIDs=[CONV]).SerializeToString(),
        _NAMING,
    ),
    ReqIdentifier.PULL_CONV_LAST_MESSAGE: (
        lambda: msg_pb2.GetLastMessageReq(userID=OWNER, conversationIDs=[CONV]).SerializeToString(), _NAMING
    ),
    # a message whose sendID is OWNER: only OWNER and an app admin may send it
    ReqIdentifier.SEND_MSG: (lambda: _text(OWNER), {**_NAMING, "admin": 0}),
    # not supported for anyone
    ReqIdentifier.SEND_SIGNAL_MSG: (lambda: b"", dict.fromkeys(ROLES, 1001)),
    # these act on the requesting connection only, whatever the payload says
    ReqIdentifier.LOGOUT_MSG: (
        lambda: push_pb2.DelUserPushTokenReq(userID=OWNER, platformID=5).SerializeToString(), dict.fromkeys(ROLES, 0)
    ),
    ReqIdentifier.SET_BACKGROUND_STATUS: (
        lambda: sdkws_pb2.SetAppBackgroundStatusReq(userID=OWNER, isBackground=True).SerializeToString(),
        dict.fromkeys(ROLES, 0),
    ),
    # online status is public in OpenIM: anyone may watch anyone
    ReqIdentifier.SUB_USER_ONLINE_STATUS: (
        lambda: sdkws_pb2.SubUserOnlineStatus(subscribeUserID=[OWNER]).SerializeToString(), dict.fromkeys(ROLES, 0)
    ),
}


@pytest.mark.trio
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("req", sorted(WS_ROWS), ids=str)
async def test_ws_matrix(world: Ctx, req: int, role: str) -> None:
    payload, codes = WS_ROWS[req]
    user = "imAdmin" if role == "admin" else ROLE_USER[role]
    # A platform of its own, so a login here never kicks the REST tokens (platform 5) of the same user.
    token = world.server.user_token(user, 3) if role != "admin" else world.tokens["admin"]
    platform = 10 if role == "admin" else 3
    with trio.fail_after(20):
        async with ws_login(world.server.ws_url, user, token, platform) as client:
            reply = await client.request(req, payload())
    assert reply.err_code == codes[role], f"{req} as {role}: {reply}"


@pytest.mark.trio
async def test_another_users_send_id_in_the_envelope_closes_the_connection(world: Ctx) -> None:
    """The envelope's sendID must be the connection's user: anything else is a protocol violation (no reply)."""
    token = world.server.user_token(STRANGER, 3)
    async with ws_login(world.server.ws_url, STRANGER, token, 3) as client:
        from openim.wire.envelope import encode_request

        await client.ws.send_message(encode_request(ReqIdentifier.GET_NEWEST_SEQ, "1", OWNER, "op", b""))
        with pytest.raises(trio_websocket.ConnectionClosed), trio.fail_after(10):
            await client.ws.get_message()

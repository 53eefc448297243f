"""The rules of message operations, decided without a store: who acts (:class:`Actor`), who may revoke
which message, which seqs and read marks a call may name, what a read receipt reports, and what the body of
an admin send (/msg/send_msg, batch_send_msg) becomes.

The REST layer (openim.api.routes.msg) checks *who* may call a route; MessageOps
(openim.services.message_service) carries the call out with these rules. Pure functions, unit-tested
without a store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from openim.clock import now_ms
from openim.storage.groups.records import RoleLevel
from openim.storage.messages.records import StoredMessage, UserConversation
from openim.wire.constants import ContentType, MsgFrom, Option, SessionType
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.ids import new_client_msg_id
from openim.wire.pb import apistruct_pb2, sdkws_pb2

MAX_AT_USERS: Final = 1000
MAX_SEQS_PER_CALL: Final = 10_000  # delete/mark lists; far above what a client sends in one call

# -------------------------------------------------------------------------------------------------
# /msg/send_msg content rules
# -------------------------------------------------------------------------------------------------

# A rule for one content key: "str" = a non-empty string, "num" = a non-zero number, "list" = an
# array, a dict = a nested object with its own required keys. Only the keys OpenIM's element structs
# mark `validate:"required"` are listed; everything else in the object is kept as sent.
Rule = str | Mapping[str, Any]

_PICTURE: Final[Mapping[str, Rule]] = {"type": "str", "width": "num", "height": "num", "url": "str"}

CONTENT_RULES: Final[Mapping[int, Mapping[str, Rule]]] = {
    ContentType.TEXT: {"content": "str"},
    ContentType.PICTURE: {"sourcePicture": _PICTURE, "bigPicture": _PICTURE, "snapshotPicture": _PICTURE},
    ContentType.VOICE: {"sourceUrl": "str", "duration": "num"},
    ContentType.VIDEO: {
        "videoUrl": "str",
        "videoType": "str",
        "videoSize": "num",
        "duration": "num",
        "snapshotUrl": "str",
        "snapshotWidth": "num",
        "snapshotHeight": "num",
    },
    ContentType.FILE: {"sourceUrl": "str", "fileName": "str", "fileSize": "num"},
    ContentType.AT_TEXT: {"atUserList": "list"},
    ContentType.CUSTOM: {"data": "str"},
    ContentType.QUOTE: {},
    ContentType.MARKDOWN_TEXT: {"content": "str"},
    ContentType.OA_NOTIFICATION: {"notificationName": "str", "notificationType": "num", "text": "str"},
}


def _lookup(obj: Mapping[str, Any], key: str) -> Any:
    """The value under ``key``, matched exactly first and then case-insensitively (mapstructure's rule)."""
    if key in obj:
        return obj[key]
    folded = key.lower()
    for k, v in obj.items():
        if k.lower() == folded:
            return v
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_rules(obj: Mapping[str, Any], rules: Mapping[str, Rule], path: str) -> None:
    for key, rule in rules.items():
        where = f"{path}.{key}"
        value = _lookup(obj, key)
        if isinstance(rule, Mapping):
            if not isinstance(value, dict):
                raise args_error(f"{where}: required object")
            _check_rules(value, rule, where)
        elif rule == "str":
            # OpenIM decodes weakly: a number is accepted where a string is expected.
            if not (isinstance(value, str) and value) and not (_is_number(value)):
                raise args_error(f"{where}: required non-empty string")
        elif rule == "num":
            number = value
            if isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    number = None
            if not _is_number(number) or number == 0:
                raise args_error(f"{where}: required non-zero number")
        elif rule == "list" and not isinstance(value, list):
            raise args_error(f"{where}: required array")


def check_content(content_type: int, content: Mapping[str, Any]) -> None:
    """Refuse (1001) a content type OpenIM's admin send does not support, or content missing a required key."""
    rules = CONTENT_RULES.get(content_type)
    if rules is None:
        raise args_error(f"unsupported content type {content_type}")
    _check_rules(content, rules, "content")
    if content_type == ContentType.AT_TEXT:
        at_users = _lookup(content, "atUserList")
        if len(at_users) > MAX_AT_USERS or not all(isinstance(u, str) for u in at_users):
            raise args_error(f"content.atUserList: at most {MAX_AT_USERS} userID strings")


def _go_json(obj: Any) -> bytes:
    # Go marshals map[string]any with sorted keys and no spaces; the SDK only parses it, but stable bytes
    # keep stored messages comparable.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def admin_message(
    req: apistruct_pb2.SendMsgReq | apistruct_pb2.BatchSendMsgReq,
    content: Mapping[str, Any],
    *,
    recv_id: str,
) -> sdkws_pb2.MsgData:
    """The MsgData an admin /msg/send_msg body stands for (content checked, options applied).

    Field presence (sendID, recvID/groupID, sessionType...) is the caller's binding check; this function
    applies OpenIM's content rules: the table above, OA notifications forced into sessionType 4 with the
    content wrapped as ``{"detail": "<json>"}``, and 106's atUserList copied to ``atUserIDList``.
    """
    check_content(req.contentType, content)
    session_type = req.sessionType
    if req.contentType == ContentType.OA_NOTIFICATION:
        session_type = SessionType.NOTIFICATION
        body = _go_json({"detail": _go_json(content).decode("utf-8")})
    else:
        body = _go_json(content)
    msg = sdkws_pb2.MsgData(
        sendID=req.sendID,
        recvID=recv_id,
        groupID=req.groupID,
        clientMsgID=new_client_msg_id(req.sendID),
        senderPlatformID=req.senderPlatformID,
        senderNickname=req.senderNickname,
        senderFaceURL=req.senderFaceURL,
        sessionType=session_type,
        msgFrom=MsgFrom.SYSTEM,
        contentType=req.contentType,
        content=body,
        createTime=now_ms(),
        sendTime=req.sendTime,
        ex=req.ex,
    )
    if req.HasField("offlinePushInfo"):
        msg.offlinePushInfo.CopyFrom(req.offlinePushInfo)
    if req.contentType == ContentType.AT_TEXT:
        msg.atUserIDList.extend(_lookup(content, "atUserList"))
    if req.isOnlineOnly:
        for key in (Option.HISTORY, Option.PERSISTENT, Option.SENDER_SYNC, Option.CONVERSATION_UPDATE):
            msg.options[key] = False
    if req.notOfflinePush:
        msg.options[Option.OFFLINE_PUSH] = False
    return msg


# -------------------------------------------------------------------------------------------------
# Decisions (pure: unit-tested without a store)
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an operation: ``user_id`` is the request's userID (already access-checked), ``op_user_id``
    the token's user, ``is_admin`` whether that token belongs to an app admin."""

    user_id: str
    op_user_id: str
    is_admin: bool
    operation_id: str


def check_may_revoke(message: StoredMessage, actor: Actor, group_roles: Mapping[str, int] | None = None) -> None:
    """OpenIM's revoke rule: an app admin may revoke anything; otherwise the sender, and in a group also
    the owner (anyone's message) or an admin (messages of ordinary members and of former members).

    ``group_roles`` maps the revoker and the sender to their group role levels (absent = not a member).
    """
    if actor.is_admin:
        return
    if message.session_type in (SessionType.SINGLE, SessionType.NOTIFICATION, SessionType.READ_GROUP):
        if message.send_id == actor.user_id:
            return
        if message.session_type == SessionType.READ_GROUP and group_roles is not None:
            mine = group_roles.get(actor.user_id, 0)
            theirs = group_roles.get(message.send_id)
            if mine == RoleLevel.OWNER or (mine == RoleLevel.ADMIN and (theirs is None or theirs < RoleLevel.ADMIN)):
                return
        raise OpenIMError(ErrCode.NO_PERMISSION, "only the sender (or the group's owner/admin) may revoke this")
    raise OpenIMError(ErrCode.NO_PERMISSION, f"messages of sessionType {message.session_type} cannot be revoked")


def check_seqs(seqs: Sequence[int], *, required: bool, name: str = "seqs") -> None:
    """Seq lists name stored messages: every seq is >= 1 (a 0 is a client bug, 1001)."""
    if required and not seqs:
        raise args_error(f"{name} is empty")
    if len(seqs) > MAX_SEQS_PER_CALL:
        raise args_error(f"{name}: at most {MAX_SEQS_PER_CALL} seqs per call")
    for seq in seqs:
        if seq < 1:
            raise args_error(f"{name}: seq {seq} is invalid")


def check_has_read_seq(has_read_seq: int, max_seq: int) -> None:
    """A read mark points at a stored message: 1 <= hasReadSeq <= the conversation's maxSeq."""
    if has_read_seq < 1:
        raise args_error("hasReadSeq must be at least 1")
    if has_read_seq > max_seq:
        raise args_error(f"hasReadSeq {has_read_seq} is bigger than maxSeq {max_seq}")


def read_receipt_seqs(old_has_read: int, new_has_read: int, listed: Iterable[int]) -> list[int]:
    """Seqs a single-chat read receipt reports: those newly covered by the read mark, then the listed ones
    not among them (the SDK may list unread seqs above the mark)."""
    seqs = list(range(old_has_read + 1, new_has_read + 1))
    covered = set(seqs)
    for seq in listed:
        if seq not in covered:
            covered.add(seq)
            seqs.append(seq)
    return seqs


def peer_of(row: UserConversation) -> tuple[str, str, int]:
    """(recvID, groupID, sessionType) of a notification to the other side of the user's conversation."""
    if row.conversation_type == SessionType.READ_GROUP:
        return row.group_id, row.group_id, int(SessionType.READ_GROUP)
    return row.user_id or row.owner_user_id, "", int(SessionType.SINGLE)

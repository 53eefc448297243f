"""What users and operators do to messages after sending them: revoke, read marks, deletes, clears, and
the admin send routes (/msg/send_msg, batch_send_msg, send_business_notification).

The REST layer (openim.api.routes.msg) decodes and checks *who* may call a route; this module decides
*what* the call may do to which message and carries it out: store first, then notify. The notification
kinds follow OpenIM's notification catalogue: 2101 revoke, 2102 delete and 2200 read receipt are stored in the
``n_`` stream of the conversation (so a device that was offline can still find them), 1703 clear is
pushed only, and a read receipt a user sends to himself (group chats) is not stored either.

A notification that fails after its state change was committed is logged, not raised: the change is
durable and what a reader pulls reflects it (sync is the guarantee, docs/architecture.md, invariant 4); answering
with an error would make the caller retry an operation that already happened.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.pipeline.msg import Sender, SendOutcome, SendService
from openim.services.notify import Notifier
from openim.services.read_access import readable
from openim.services.sync import SyncService
from openim.services.users import UserService
from openim.storage.group_records import RoleLevel
from openim.storage.port import Store
from openim.storage.records import StoredMessage, UserConversation, VersionKind, VersionState
from openim.wire.constants import ContentType, MsgFrom, Option, SessionType
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.ids import new_client_msg_id
from openim.wire.pb import apistruct_pb2, sdkws_pb2

log = get_log("message_ops")

APP_NOTIFICATION_LEVEL: Final = 3  # notification accounts (OA messages) have appMangerLevel >= 3
MAX_AT_USERS: Final = 1000
MAX_SEQS_PER_CALL: Final = 10_000  # delete/mark lists; far above what a client sends in one call
PHYSICAL_DELETE_PAGE: Final = 500
SEND_STATUS_KEEP: Final = 10_000  # operationIDs remembered for /msg/check_msg_is_send_success

# OpenIM's send-status values (constant.MsgStatusNotExist .. MsgSendFailed).
SEND_STATUS_UNKNOWN: Final = 0
SEND_STATUS_SENDING: Final = 1
SEND_STATUS_SUCCESS: Final = 2
SEND_STATUS_FAILED: Final = 3

# Notification reliability levels of /msg/send_business_notification (OpenIM's constants).
RELIABILITY_UNRELIABLE: Final = 1
RELIABILITY_STORED: Final = 2

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
        "videoUrl": "str", "videoType": "str", "videoSize": "num", "duration": "num",
        "snapshotUrl": "str", "snapshotWidth": "num", "snapshotHeight": "num",
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


# -------------------------------------------------------------------------------------------------
# The service
# -------------------------------------------------------------------------------------------------


class MessageOps:
    def __init__(
        self, store: Store, sync: SyncService, notifier: Notifier, send: SendService, users: UserService
    ) -> None:
        self._store = store
        self._sync = sync
        self._notifier = notifier
        self._send = send
        self._users = users
        self._send_status: OrderedDict[str, int] = OrderedDict()

    # -- admin sends ----------------------------------------------------------------------------------
    def send_status(self, operation_id: str) -> int:
        """Status of the admin send made under ``operation_id`` on this node (0 when unknown here).

        OpenIM keeps this in Redis per operationID; sends here are acknowledged only once durable, so the
        answer is final as soon as the send call returned, and remembering the last few thousand on the
        node that ran them is what the route can honestly promise.
        """
        return self._send_status.get(operation_id, SEND_STATUS_UNKNOWN)

    def _remember(self, operation_id: str, status: int) -> None:
        self._send_status[operation_id] = status
        self._send_status.move_to_end(operation_id)
        while len(self._send_status) > SEND_STATUS_KEEP:
            self._send_status.popitem(last=False)

    async def _send_tracked(self, msg: sdkws_pb2.MsgData, operation_id: str) -> SendOutcome:
        self._remember(operation_id, SEND_STATUS_SENDING)
        try:
            out = await self._send.send(msg, operation_id=operation_id, sender=Sender(msg.sendID, is_admin=True))
        except BaseException:
            self._remember(operation_id, SEND_STATUS_FAILED)
            raise
        self._remember(operation_id, SEND_STATUS_SUCCESS)
        return out

    async def send_admin(self, msg: sdkws_pb2.MsgData, operation_id: str) -> SendOutcome:
        """/msg/send_msg: an OA message needs a notification account as sender; then the normal send path."""
        if msg.contentType == ContentType.OA_NOTIFICATION:
            sender = await self._users.get_one(msg.sendID)
            if sender.app_manager_level < APP_NOTIFICATION_LEVEL:
                raise args_error(f"sendID {msg.sendID} is not a notification account")
        return await self._send_tracked(msg, operation_id)

    async def batch_recipients(self, recv_ids: Sequence[str], send_all: bool, page: int = 500) -> list[str]:
        """The receivers of /msg/batch_send_msg: the listed ones, or every registered user (paged)."""
        if not send_all:
            return list(dict.fromkeys(recv_ids))
        out: list[str] = []
        offset = 0
        while True:
            _total, users = await self._store.list_users(offset=offset, limit=page)
            out.extend(u.user_id for u in users)
            if len(users) < page:
                return out
            offset += page

    async def send_business_notification(
        self, req: apistruct_pb2.SendBusinessNotificationReq, operation_id: str
    ) -> SendOutcome:
        """A 2001 notification ``{"detail": "{\\"key\\":..,\\"data\\":..}"}`` in the ``n_`` stream of the pair or
        group; stored only for reliability level 2. With ``sendMsg`` a copy also lands in the chat
        conversation, as OpenIM's isSendMsg notifications do (the SDK shows it as a message)."""
        if bool(req.recvUserID) == bool(req.recvGroupID):
            raise args_error("exactly one of recvUserID and recvGroupID must be set")
        level = req.reliabilityLevel or RELIABILITY_UNRELIABLE
        stored = level == RELIABILITY_STORED
        detail = json.dumps({"key": req.key, "data": req.data}, ensure_ascii=False, separators=(",", ":"))
        content = json.dumps({"detail": detail}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        session_type = SessionType.SINGLE if req.recvUserID else SessionType.READ_GROUP

        def build(as_chat: bool) -> sdkws_pb2.MsgData:
            msg = sdkws_pb2.MsgData(
                sendID=req.sendUserID, recvID=req.recvUserID or req.recvGroupID, groupID=req.recvGroupID,
                clientMsgID=new_client_msg_id(req.sendUserID), sessionType=session_type, msgFrom=MsgFrom.SYSTEM,
                contentType=ContentType.BUSINESS_NOTIFICATION, content=content, createTime=now_ms(),
            )
            if as_chat:
                # The chat copy keeps only what a chat message needs: stored, no offline push, no unread.
                msg.options[Option.OFFLINE_PUSH] = False
                msg.options[Option.UNREAD_COUNT] = False
                return msg
            # Every key explicit: for notifications an absent key would mean "on".
            for key in Option:
                msg.options[key] = False
            msg.options[Option.SENDER_SYNC] = True
            msg.options[Option.HISTORY] = stored
            msg.options[Option.PERSISTENT] = stored
            return msg

        out = await self._send_tracked(build(as_chat=False), operation_id)
        if req.sendMsg:
            await self._send_tracked(build(as_chat=True), operation_id)
        return out

    # -- revoke ---------------------------------------------------------------------------------------
    async def revoke(self, actor: Actor, conversation_id: str, seq: int) -> None:
        """Mark one message revoked (readers then pull it as a 2101) and tell the conversation (2101)."""
        if not conversation_id:
            raise args_error("conversationID is empty")
        if seq < 1:
            raise args_error(f"seq {seq} is invalid")
        if not actor.is_admin and not (await readable(self._store, actor.user_id, [conversation_id])).allows(
            conversation_id
        ):
            # Not the actor's conversation: answered as a missing message, so the codes tell nothing about
            # which seqs exist or are revoked (the read rule, openim.services.read_access).
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"message {conversation_id}:{seq} not found")
        found = await self._store.get_messages(conversation_id, [seq])
        message = found.get(seq)
        if message is None:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"message {conversation_id}:{seq} not found")
        if message.revoke is not None or message.content_type == ContentType.MSG_REVOKE_NOTIFICATION:
            raise OpenIMError(ErrCode.MSG_ALREADY_REVOKE, f"message {conversation_id}:{seq} is revoked already")
        roles: dict[str, int] | None = None
        if message.session_type == SessionType.READ_GROUP and message.send_id != actor.user_id and not actor.is_admin:
            members = await self._store.get_group_members(message.group_id, [actor.user_id, message.send_id])
            roles = {m.user_id: m.role_level for m in members}
        check_may_revoke(message, actor, roles)
        revoker = await self._users.get_one(actor.user_id)
        original = sdkws_pb2.MsgData.FromString(message.payload)
        now = now_ms()
        details = sdkws_pb2.MessageRevokedContent(
            revokerID=actor.user_id,
            revokerRole=revoker.app_manager_level,
            clientMsgID=message.client_msg_id,
            revokerNickname=revoker.nickname,
            revokeTime=now,
            sourceMessageSendTime=message.send_time,
            sourceMessageSendID=message.send_id,
            sourceMessageSenderNickname=original.senderNickname,
            sessionType=message.session_type,
            seq=seq,
            ex=original.ex,
        )
        if not await self._store.set_message_revoked(conversation_id, seq, details.SerializeToString()):
            raise OpenIMError(ErrCode.MSG_ALREADY_REVOKE, f"message {conversation_id}:{seq} is revoked already")
        tips = sdkws_pb2.RevokeMsgTips(
            revokerUserID=actor.op_user_id or actor.user_id,
            clientMsgID=message.client_msg_id,
            revokeTime=now,
            sesstionType=message.session_type,
            seq=seq,
            conversationID=conversation_id,
            isAdminRevoke=actor.is_admin,
        )
        # The JS SDK finds the message by the tips' conversationID and seq in whichever n_ stream the
        # notification arrives; what matters is that both sides' devices get it, so it goes from the
        # revoker to the other participant, or, when an admin revokes for someone outside the chat, from
        # the original sender to the original receiver.
        if message.session_type == SessionType.READ_GROUP:
            send_id, recv_id, group_id = actor.user_id, message.group_id, message.group_id
        elif actor.user_id == message.send_id:
            send_id, recv_id, group_id = message.send_id, message.recv_id, ""
        elif actor.user_id == message.recv_id:
            send_id, recv_id, group_id = message.recv_id, message.send_id, ""
        else:
            send_id, recv_id, group_id = message.send_id, message.recv_id, ""
        await self._notify(
            ContentType.MSG_REVOKE_NOTIFICATION, tips, actor.operation_id, send_id=send_id, recv_id=recv_id,
            group_id=group_id, session_type=message.session_type, stored=True,
        )

    # -- read marks -----------------------------------------------------------------------------------
    async def _row(self, user_id: str, conversation_id: str) -> UserConversation:
        if not conversation_id:
            raise args_error("conversationID is empty")
        rows = await self._store.get_user_conversations(user_id, [conversation_id])
        if not rows:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"conversation {conversation_id} of {user_id} not found")
        return rows[0]

    async def _max_seq(self, conversation_id: str) -> int:
        seqs = await self._store.get_conversation_seqs([conversation_id])
        state = seqs.get(conversation_id)
        return state.max_seq if state else 0

    async def _raise_read(self, user_id: str, conversation_id: str, seq: int) -> int:
        result = await self._store.raise_has_read_seq(user_id, conversation_id, seq)
        if result < 0:
            raise OpenIMError(ErrCode.RECORD_NOT_FOUND, f"conversation {conversation_id} of {user_id} not found")
        return result

    async def _read_receipt(self, actor: Actor, row: UserConversation, seqs: Sequence[int], has_read: int) -> None:
        """2200: single chat -> the peer (stored, so the sender's other devices see "read" later too);
        group and notification chats -> the reader's own devices only (not stored: sendID == recvID)."""
        if row.conversation_type == SessionType.SINGLE:
            recv_id, tips_seqs = row.user_id or actor.user_id, list(seqs)
        else:
            recv_id, tips_seqs = actor.user_id, []
        tips = sdkws_pb2.MarkAsReadTips(
            markAsReadUserID=actor.user_id, conversationID=row.conversation_id, seqs=tips_seqs, hasReadSeq=has_read
        )
        await self._notify(
            ContentType.HAS_READ_RECEIPT, tips, actor.operation_id, send_id=actor.user_id, recv_id=recv_id,
            stored=recv_id != actor.user_id,
        )

    async def mark_conversation_as_read(
        self, actor: Actor, conversation_id: str, has_read_seq: int, seqs: Sequence[int]
    ) -> None:
        """Raise the user's read mark (never lower it) and send the read receipt."""
        check_seqs(seqs, required=False)
        if has_read_seq < 1:
            raise args_error("hasReadSeq must be at least 1")
        row = await self._row(actor.user_id, conversation_id)
        check_has_read_seq(has_read_seq, await self._max_seq(conversation_id))
        new_mark = await self._raise_read(actor.user_id, conversation_id, has_read_seq)
        receipt_seqs = read_receipt_seqs(row.has_read_seq, has_read_seq, seqs)
        await self._read_receipt(actor, row, receipt_seqs, new_mark)

    async def mark_msgs_as_read(self, actor: Actor, conversation_id: str, seqs: Sequence[int]) -> None:
        """The listed messages are read: the read mark rises to the highest of them."""
        check_seqs(seqs, required=True)
        row = await self._row(actor.user_id, conversation_id)
        check_has_read_seq(max(seqs), await self._max_seq(conversation_id))
        new_mark = await self._raise_read(actor.user_id, conversation_id, max(seqs))
        await self._read_receipt(actor, row, list(seqs), new_mark)

    async def set_has_read_seq(self, actor: Actor, conversation_id: str, has_read_seq: int) -> None:
        """Set the read mark (raising only) and tell the user's own devices (2200 to self)."""
        row = await self._row(actor.user_id, conversation_id)
        check_has_read_seq(has_read_seq, await self._max_seq(conversation_id))
        new_mark = await self._raise_read(actor.user_id, conversation_id, has_read_seq)
        tips = sdkws_pb2.MarkAsReadTips(
            markAsReadUserID=actor.user_id, conversationID=row.conversation_id, seqs=[], hasReadSeq=new_mark
        )
        await self._notify(
            ContentType.HAS_READ_RECEIPT, tips, actor.operation_id, send_id=actor.user_id, recv_id=actor.user_id,
            stored=False,
        )

    # -- deletes and clears ---------------------------------------------------------------------------
    async def delete_msgs(
        self, actor: Actor, conversation_id: str, seqs: Sequence[int], *, sync_self: bool, sync_other: bool
    ) -> None:
        """Delete for me (hidden for this user only), or with IsSyncOther for everyone (physically), then
        2102 to the user's own devices (IsSyncSelf) or to the other side (IsSyncOther)."""
        if not conversation_id:
            raise args_error("conversationID is empty")
        check_seqs(seqs, required=True)
        tips = sdkws_pb2.DeleteMsgsTips(userID=actor.user_id, conversationID=conversation_id, seqs=list(seqs))
        if sync_other:
            # Deleting for everyone is for participants only (OpenIM does not check; we do).
            row = await self._row(actor.user_id, conversation_id)
            await self._store.delete_messages(conversation_id, list(seqs))
            recv_id, group_id, session_type = peer_of(row)
            await self._notify(
                ContentType.DELETE_MSGS_NOTIFICATION, tips, actor.operation_id, send_id=actor.user_id,
                recv_id=recv_id, group_id=group_id, session_type=session_type, stored=True,
            )
            return
        await self._store.hide_messages(actor.user_id, conversation_id, list(seqs))
        if sync_self:
            await self._notify(
                ContentType.DELETE_MSGS_NOTIFICATION, tips, actor.operation_id, send_id=actor.user_id,
                recv_id=actor.user_id, stored=True,
            )

    async def clear_conversations(
        self, actor: Actor, conversation_ids: Sequence[str] | None, *, sync_self: bool, sync_other: bool
    ) -> None:
        """Clear history: the user's min_seq moves past the newest message (maxSeq + 1) and everything up to
        maxSeq counts as read. With IsSyncOther every participant's history is cleared the same way.

        ``conversation_ids`` None means all of the user's conversations (/msg/user_clear_all_msg); ids
        that are not the user's conversations are skipped, as OpenIM skips them.
        """
        rows = await self._store.get_user_conversations(
            actor.user_id, None if conversation_ids is None else list(dict.fromkeys(conversation_ids))
        )
        if not rows:
            return
        ids = [r.conversation_id for r in rows]
        seqs = await self._store.get_conversation_seqs(ids)
        for row in rows:
            state = seqs.get(row.conversation_id)
            max_seq = state.max_seq if state else 0
            owners = await self._store.get_conversation_owners(row.conversation_id) if sync_other else []
            for owner in dict.fromkeys([actor.user_id, *owners]):
                await self._clear_for(owner, row.conversation_id, max_seq)
            if max_seq:
                await self._store.raise_has_read_seq(actor.user_id, row.conversation_id, max_seq)
        if sync_other:
            for row in rows:
                recv_id, group_id, session_type = peer_of(row)
                tips = sdkws_pb2.ClearConversationTips(userID=actor.user_id, conversationIDs=[row.conversation_id])
                await self._notify(
                    ContentType.CLEAR_CONVERSATION, tips, actor.operation_id, send_id=actor.user_id,
                    recv_id=recv_id, group_id=group_id, session_type=session_type, stored=False,
                )
        elif sync_self:
            tips = sdkws_pb2.ClearConversationTips(userID=actor.user_id, conversationIDs=ids)
            await self._notify(
                ContentType.CLEAR_CONVERSATION, tips, actor.operation_id, send_id=actor.user_id,
                recv_id=actor.user_id, stored=False,
            )

    async def _clear_for(self, owner: str, conversation_id: str, max_seq: int) -> None:
        rows = await self._store.get_user_conversations(owner, [conversation_id])
        if not rows:
            return
        min_seq = max(rows[0].min_seq, max_seq + 1)
        if min_seq != rows[0].min_seq:
            await self._store.update_user_conversation(owner, conversation_id, {"min_seq": min_seq})
            # minSeq is part of the Conversation the SDK syncs incrementally: record the change.
            await self._store.bump_version(VersionKind.CONVERSATION, owner, [conversation_id], VersionState.UPDATE)

    async def delete_physical_by_seq(self, conversation_id: str, seqs: Sequence[int]) -> None:
        """Admin: remove messages for everyone; their seqs stay allocated and read back as placeholders."""
        if not conversation_id:
            raise args_error("conversationID is empty")
        check_seqs(seqs, required=True)
        await self._store.delete_messages(conversation_id, list(seqs))

    async def delete_physical_older_than(self, conversation_ids: Sequence[str], age_seconds: int) -> int:
        """Admin: remove every message sent more than ``age_seconds`` ago from the listed conversations.

        OpenIM computes ``now - timestamp`` and destroys what is older, so its ``timestamp`` is an age in
        seconds. Messages are scanned page by page (admin housekeeping, not a hot path); returns how many
        were removed.
        """
        if not conversation_ids:
            raise args_error("conversationIDs is empty")
        if age_seconds < 0:
            raise args_error("timestamp must not be negative")
        cutoff = now_ms() - age_seconds * 1000
        states = await self._store.get_conversation_seqs(list(dict.fromkeys(conversation_ids)))
        removed = 0
        for conversation_id, state in states.items():
            begin = max(1, state.min_seq)
            while begin <= state.max_seq:
                end = min(state.max_seq, begin + PHYSICAL_DELETE_PAGE - 1)
                page = await self._store.get_message_range(conversation_id, begin, end, limit=PHYSICAL_DELETE_PAGE)
                doomed = [m.seq for m in page if m.send_time < cutoff]
                if doomed:
                    removed += await self._store.delete_messages(conversation_id, doomed)
                begin = end + 1
        return removed

    # -- notifications --------------------------------------------------------------------------------
    async def _notify(
        self,
        content_type: int,
        tips: Message,
        operation_id: str,
        *,
        send_id: str,
        recv_id: str,
        group_id: str = "",
        session_type: int = SessionType.SINGLE,
        stored: bool,
    ) -> None:
        try:
            await self._notifier.notify(
                content_type=content_type, tips=tips, send_id=send_id, recv_id=recv_id, group_id=group_id,
                session_type=session_type, operation_id=operation_id, stored=stored,
            )
        except OpenIMError as err:
            log.warning(
                "notify.failed", content_type=content_type, send_id=send_id, recv_id=recv_id or group_id,
                code=int(err.code), detail=err.detail,
            )

    async def batch_send_admin(
        self, req: apistruct_pb2.BatchSendMsgReq, content: Mapping[str, Any], operation_id: str
    ) -> apistruct_pb2.BatchSendMsgResp:
        """/msg/batch_send_msg: one message per receiver, each with its own clientMsgID ((sendID,
        clientMsgID) is the dedupe key of the send path, so a shared one would collapse the batch into one
        message). A bad content is refused before anything is sent; a receiver whose send fails is listed."""
        check_content(req.contentType, content)
        resp = apistruct_pb2.BatchSendMsgResp()
        for recv_id in await self.batch_recipients(req.recvIDs, req.isSendAll):
            try:
                out = await self.send_admin(admin_message(req, content, recv_id=recv_id), operation_id)
            except OpenIMError:
                resp.failedUserIDs.append(recv_id)
                continue
            resp.results.add(
                serverMsgID=out.server_msg_id, clientMsgID=out.client_msg_id, sendTime=out.send_time, recvID=recv_id
            )
        return resp

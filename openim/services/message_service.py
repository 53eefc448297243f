"""What users and operators do to messages after sending them: revoke, read marks, deletes, clears, and
(inherited from openim.services.admin_sends) the admin send routes (/msg/send_msg, batch_send_msg,
send_business_notification).

The REST layer (openim.api.routes.msg) decodes and checks *who* may call a route; this module decides
*what* the call may do to which message (with the rules of openim.services.message_ops) and carries it out:
store first, then notify. The notification kinds follow OpenIM's notification catalogue: 2101 revoke, 2102
delete and 2200 read receipt are stored in the ``n_`` stream of the conversation (so a device that was
offline can still find them), 1703 clear is pushed only, and a read receipt a user sends to himself (group
chats) is not stored either.

A notification that fails after its state change was committed is logged, not raised: the change is
durable and what a reader pulls reflects it (sync is the guarantee, docs/architecture.md, invariant 4); answering
with an error would make the caller retry an operation that already happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from google.protobuf.message import Message

from openim.clock import now_ms
from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.admin_sends import AdminSends
from openim.services.message_ops import (
    Actor,
    check_has_read_seq,
    check_may_revoke,
    check_seqs,
    peer_of,
    read_receipt_seqs,
)
from openim.services.notify import Notifier, tell
from openim.services.read_access import readable
from openim.services.sync import SyncService
from openim.services.users import UserService
from openim.storage.messages.records import ConversationPatch, UserConversation, VersionKind, VersionState
from openim.storage.port import Store
from openim.wire.constants import ContentType, SessionType
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.pb import sdkws_pb2

if TYPE_CHECKING:
    from openim.webhooks.dispatcher import Webhooks

log = get_log("message_ops")

PHYSICAL_DELETE_PAGE: Final = 500


class MessageOps(AdminSends):
    """The service behind /msg/*: the admin sends (AdminSends), revoke, read marks, deletes and clears."""

    def __init__(
        self,
        store: Store,
        sync: SyncService,
        notifier: Notifier,
        send: SendService,
        users: UserService,
        webhooks: Webhooks | None = None,
    ) -> None:
        super().__init__(store, send, users)
        self._sync = sync
        self._notifier = notifier
        self._webhooks = webhooks  # afterRevokeMsg, afterSingleMsgRead, afterGroupMsgRead; None when none is on

    def _after(self, hook: str, body: Callable[[], dict[str, object]], operation_id: str) -> None:
        """Queue an after-callback; its ``body`` is built only when the callback is enabled."""
        if self._webhooks is not None and self._webhooks.enabled(hook):
            self._webhooks.after(hook, body(), operation_id=operation_id)

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
            ContentType.MSG_REVOKE_NOTIFICATION,
            tips,
            actor.operation_id,
            send_id=send_id,
            recv_id=recv_id,
            group_id=group_id,
            session_type=message.session_type,
            stored=True,
        )
        self._after(
            "afterRevokeMsg",
            lambda: {"conversationID": conversation_id, "seq": seq, "userID": actor.user_id},
            actor.operation_id,
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

    async def _raise_read(
        self,
        user_id: str,
        conversation_id: str,
        seq: int,
        *,
        flag_after: int | None = None,
        flag_seqs: Sequence[int] = (),
    ) -> int:
        result = await self._store.raise_has_read_seq(
            user_id, conversation_id, seq, flag_after=flag_after, flag_seqs=flag_seqs
        )
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
            ContentType.HAS_READ_RECEIPT,
            tips,
            actor.operation_id,
            send_id=actor.user_id,
            recv_id=recv_id,
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
        if row.conversation_type == SessionType.SINGLE:
            # The peer's messages the reader had not read yet, and the listed ones, become read for
            # every later pull (group and notification chats keep no per-message flag), as in OpenIM.
            new_mark = await self._raise_read(
                actor.user_id, conversation_id, has_read_seq, flag_after=row.has_read_seq, flag_seqs=seqs
            )
        else:
            new_mark = await self._raise_read(actor.user_id, conversation_id, has_read_seq)
        receipt_seqs = read_receipt_seqs(row.has_read_seq, has_read_seq, seqs)
        await self._read_receipt(actor, row, receipt_seqs, new_mark)
        # OpenIM's bodies: the request's seqs for a single chat; for a group, the reader twice and the
        # read mark under the name unreadMsgNum.
        if row.conversation_type == SessionType.SINGLE:
            self._after("afterSingleMsgRead", lambda: _single_read_body(actor, row, seqs), actor.operation_id)
        elif row.conversation_type == SessionType.READ_GROUP:
            self._after(
                "afterGroupMsgRead",
                lambda: {
                    "sendID": actor.user_id,
                    "receiveID": actor.user_id,
                    "unreadMsgNum": has_read_seq,
                    "contentType": row.conversation_type,
                },
                actor.operation_id,
            )

    async def mark_msgs_as_read(self, actor: Actor, conversation_id: str, seqs: Sequence[int]) -> None:
        """The listed messages are read: the read mark rises to the highest of them."""
        check_seqs(seqs, required=True)
        row = await self._row(actor.user_id, conversation_id)
        check_has_read_seq(max(seqs), await self._max_seq(conversation_id))
        # Flagged whatever the conversation type, as OpenIM does (the SDKs call this for single chats).
        new_mark = await self._raise_read(actor.user_id, conversation_id, max(seqs), flag_seqs=seqs)
        await self._read_receipt(actor, row, list(seqs), new_mark)
        self._after("afterSingleMsgRead", lambda: _single_read_body(actor, row, seqs), actor.operation_id)

    async def set_has_read_seq(self, actor: Actor, conversation_id: str, has_read_seq: int) -> None:
        """Set the read mark (raising only) and tell the user's own devices (2200 to self)."""
        row = await self._row(actor.user_id, conversation_id)
        check_has_read_seq(has_read_seq, await self._max_seq(conversation_id))
        new_mark = await self._raise_read(actor.user_id, conversation_id, has_read_seq)
        tips = sdkws_pb2.MarkAsReadTips(
            markAsReadUserID=actor.user_id, conversationID=row.conversation_id, seqs=[], hasReadSeq=new_mark
        )
        await self._tell_own_devices(actor, ContentType.HAS_READ_RECEIPT, tips, stored=False)

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
            await self._tell_peer(actor, row, ContentType.DELETE_MSGS_NOTIFICATION, tips, stored=True)
            return
        await self._store.hide_messages(actor.user_id, conversation_id, list(seqs))
        if sync_self:
            await self._tell_own_devices(actor, ContentType.DELETE_MSGS_NOTIFICATION, tips, stored=True)

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
                tips = sdkws_pb2.ClearConversationTips(userID=actor.user_id, conversationIDs=[row.conversation_id])
                await self._tell_peer(actor, row, ContentType.CLEAR_CONVERSATION, tips, stored=False)
        elif sync_self:
            tips = sdkws_pb2.ClearConversationTips(userID=actor.user_id, conversationIDs=ids)
            await self._tell_own_devices(actor, ContentType.CLEAR_CONVERSATION, tips, stored=False)

    async def _clear_for(self, owner: str, conversation_id: str, max_seq: int) -> None:
        rows = await self._store.get_user_conversations(owner, [conversation_id])
        if not rows:
            return
        min_seq = max(rows[0].min_seq, max_seq + 1)
        if min_seq != rows[0].min_seq:
            await self._store.update_user_conversation(owner, conversation_id, ConversationPatch(min_seq=min_seq))
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
    async def _tell_own_devices(self, actor: Actor, content_type: int, tips: Message, *, stored: bool) -> None:
        await self._notify(
            content_type, tips, actor.operation_id, send_id=actor.user_id, recv_id=actor.user_id, stored=stored
        )

    async def _tell_peer(
        self, actor: Actor, row: UserConversation, content_type: int, tips: Message, *, stored: bool
    ) -> None:
        """From the actor to the other side of his conversation ``row`` (the group, in a group chat)."""
        recv_id, group_id, session_type = peer_of(row)
        await self._notify(
            content_type,
            tips,
            actor.operation_id,
            send_id=actor.user_id,
            recv_id=recv_id,
            group_id=group_id,
            session_type=session_type,
            stored=stored,
        )

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
        await tell(
            self._notifier,
            log,
            content_type=content_type,
            tips=tips,
            send_id=send_id,
            recv_id=recv_id,
            group_id=group_id,
            session_type=session_type,
            operation_id=operation_id,
            stored=stored,
        )


def _single_read_body(actor: Actor, row: UserConversation, seqs: Sequence[int]) -> dict[str, object]:
    """afterSingleMsgRead (OpenIM spells its seq list "Seqs"; contentType is the conversation type)."""
    return {
        "conversationID": row.conversation_id,
        "userID": actor.user_id,
        "Seqs": list(seqs),
        "contentType": row.conversation_type,
    }

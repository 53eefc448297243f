"""Per-user conversation settings and the conversation list a client syncs from (/conversation and /jssdk).

Every user owns one row per conversation (pinning, mute, private chat, read window). Rows are created in
three ways: by ``set_conversations``, by the transfer stage when a conversation's first message is
stored (``Store.persist_messages`` creates them for every owner), and — later — when group members join.
Clients learn about rows through the conversation version log (kind CONVERSATION, d_id = owner,
e_id = conversationID), so every path that creates, changes or deletes a row must leave an entry there.

The transfer stage writes rows inside its batch transaction and knows nothing of version logs (its hot
path must stay one transaction per batch). Instead of adding a log write to that path, this service
*reconciles* before it answers a version question: rows without a live log entry get an ``insert``
entry, live entries without a row get a ``delete`` entry. One read of the owner's rows and log per
incremental call is cheap next to what the SDK does with the answer, and it also repairs rows written
by any future path that forgets the log.

The pure parts (the version-log read rule, ``idHash``, the ordering of active conversations) are
module functions so they can be tested without a store, and reused by the friend and group logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from openim.ops.logging import get_log
from openim.pipeline.msg import SendService
from openim.services.field_limits import check_fields
from openim.services.groups.convert import group_to_pb
from openim.services.notify import Notifier, tell
from openim.services.sync import SyncService
from openim.services.versioning import check_pagination, full_ids, page, plan_incremental
from openim.services.wrappers import wrapped_patch
from openim.storage.messages.records import (
    ConversationPatch,
    UserConversation,
    UserRecord,
    VersionKind,
    VersionLog,
    VersionState,
)
from openim.storage.port import Store
from openim.wire.constants import ContentType, SessionType
from openim.wire.errors import args_error, not_found
from openim.wire.pb import conversation_pb2, jssdk_pb2, sdkws_pb2

log = get_log("conversations")

RECV_OPT_NOT_NOTIFY = 2  # "receive but do not notify": what get_not_notify_conversation_ids lists
ACTIVE_DEFAULT_COUNT = 100
ACTIVE_MAX_COUNT = 500



# ---------------------------------------------------------------------------------------------
# Pure rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveEntry:
    """One conversation as the active-list ordering sees it (max_seq 0: no message yet)."""

    conversation_id: str
    is_pinned: bool
    last_time: int  # ms of the newest message
    max_seq: int
    read_seq: int

    @property
    def unread(self) -> int:
        return max(0, self.max_seq - self.read_seq)


def sort_active(entries: Iterable[ActiveEntry]) -> list[ActiveEntry]:
    """Pinned first, then the newest message first; the conversation ID breaks ties so that two calls
    (and two servers) list equal-time conversations the same way."""
    ordered = sorted(entries, key=lambda e: e.conversation_id)
    return sorted(ordered, key=lambda e: (not e.is_pinned, -e.last_time))


def clamp_active_count(count: int) -> int:
    """OpenIM's rule for ``count`` of get_active_conversations: out of (0, 500] means 100."""
    return ACTIVE_DEFAULT_COUNT if count <= 0 or count > ACTIVE_MAX_COUNT else count


def to_pb(row: UserConversation) -> conversation_pb2.Conversation:
    return conversation_pb2.Conversation(
        ownerUserID=row.owner_user_id,
        conversationID=row.conversation_id,
        recvMsgOpt=row.recv_msg_opt,
        conversationType=row.conversation_type,
        userID=row.user_id,
        groupID=row.group_id,
        isPinned=row.is_pinned,
        attachedInfo=row.attached_info,
        isPrivateChat=row.is_private_chat,
        groupAtType=row.group_at_type,
        ex=row.ex,
        burnDuration=row.burn_duration,
        minSeq=row.min_seq,
        maxSeq=row.max_seq,
        msgDestructTime=row.msg_destruct_time,
        latestMsgDestructTime=row.latest_msg_destruct_time,
        isMsgDestruct=row.is_msg_destruct,
    )


def user_to_pb(user: UserRecord) -> sdkws_pb2.UserInfo:
    return sdkws_pb2.UserInfo(
        userID=user.user_id,
        nickname=user.nickname,
        faceURL=user.face_url,
        ex=user.ex,
        createTime=user.create_time,
        appMangerLevel=user.app_manager_level,
        globalRecvMsgOpt=user.global_recv_msg_opt,
    )


# ConversationReq wrapper field -> UserConversation attribute. isPrivateChat is handled apart: it is
# mirrored to the peer and announced with its own notification.
_PATCH_FIELDS: Mapping[str, str] = {
    "recvMsgOpt": "recv_msg_opt",
    "isPinned": "is_pinned",
    "attachedInfo": "attached_info",
    "ex": "ex",
    "burnDuration": "burn_duration",
    "minSeq": "min_seq",
    "maxSeq": "max_seq",
    "groupAtType": "group_at_type",
    "msgDestructTime": "msg_destruct_time",
    "isMsgDestruct": "is_msg_destruct",
}


def patch_of(req: conversation_pb2.ConversationReq) -> ConversationPatch:
    """The fields a set_conversations request changes (present wrappers only), as a patch of the row."""
    patch = wrapped_patch(ConversationPatch, req, _PATCH_FIELDS)
    if patch.recv_msg_opt is not None and patch.recv_msg_opt not in (0, 1, 2):
        raise args_error("conversation.recvMsgOpt must be 0, 1 or 2")
    return patch


def check_conversation_req(req: conversation_pb2.ConversationReq) -> None:
    """OpenIM's validator for set_conversations' conversation."""
    if not req.conversationID:
        raise args_error("conversation.conversationID is empty")
    if req.conversationType == 0:
        raise args_error("conversation.conversationType is empty")
    if req.conversationType in (SessionType.SINGLE, SessionType.NOTIFICATION) and not req.userID:
        raise args_error("conversation.userID is empty for a single chat")
    if req.conversationType in (SessionType.READ_GROUP, SessionType.WRITE_GROUP) and not req.groupID:
        raise args_error("conversation.groupID is empty for a group chat")


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


class ConversationService:
    def __init__(self, store: Store, sync: SyncService, notifier: Notifier, send: SendService) -> None:
        self._store = store
        self._sync = sync
        self._notifier = notifier
        self._send = send

    # -- reads -------------------------------------------------------------------------------------
    async def rows(self, owner: str, conversation_ids: Sequence[str] | None = None) -> list[UserConversation]:
        return await self._store.get_user_conversations(owner, conversation_ids)

    async def one(self, owner: str, conversation_id: str) -> UserConversation:
        rows = await self._store.get_user_conversations(owner, [conversation_id])
        if not rows:
            raise not_found(f"conversation {conversation_id} of {owner} not found")
        return rows[0]

    async def incremental(
        self, owner: str, version_id: str, version: int
    ) -> conversation_pb2.GetIncrementalConversationResp:
        await self.reconcile(owner)
        current = await self._store.get_version_log(
            VersionKind.CONVERSATION, owner, since=version if version > 0 else None
        )
        plan = plan_incremental(current, version_id, version)
        resp = conversation_pb2.GetIncrementalConversationResp(
            version=plan.version, versionID=plan.version_id, full=plan.full
        )
        resp.delete.extend(plan.delete_ids)
        wanted = plan.insert_ids + plan.update_ids
        if wanted:
            by_id = {r.conversation_id: r for r in await self._store.get_user_conversations(owner, wanted)}
            # A row deleted after its insert/update entry was read simply drops out; its delete entry
            # reaches the client on the next call.
            resp.insert.extend(to_pb(by_id[c]) for c in plan.insert_ids if c in by_id)
            resp.update.extend(to_pb(by_id[c]) for c in plan.update_ids if c in by_id)
        return resp

    async def full_ids(self, owner: str, client_hash: int) -> conversation_pb2.GetFullOwnerConversationIDsResp:
        current = await self.reconcile(owner)
        ids = [r.conversation_id for r in await self._store.get_user_conversations(owner)]
        equal, listed = full_ids(ids, client_hash)
        return conversation_pb2.GetFullOwnerConversationIDsResp(
            version=current.version, versionID=current.version_id, equal=equal, conversationIDs=listed
        )

    async def reconcile(self, owner: str) -> VersionLog:
        """Bring the owner's conversation log in line with the rows (see the module docstring); return the
        log header as it stands afterwards."""
        rows = await self._store.get_user_conversations(owner)
        current = await self._store.get_version_log(VersionKind.CONVERSATION, owner, since=0)
        live = {e.e_id for e in current.entries if e.state != VersionState.DELETE}
        have = {r.conversation_id for r in rows}
        missing = sorted(have - live)
        gone = sorted(live - have)
        if missing:
            current = await self._store.bump_version(VersionKind.CONVERSATION, owner, missing, VersionState.INSERT)
        if gone:
            current = await self._store.bump_version(VersionKind.CONVERSATION, owner, gone, VersionState.DELETE)
        if missing or gone:
            log.info("version.reconciled", owner=owner, inserted=len(missing), deleted=len(gone))
        return current

    # -- writes ------------------------------------------------------------------------------------
    async def set_conversations(
        self, user_ids: Sequence[str], req: conversation_pb2.ConversationReq, *, operation_id: str
    ) -> None:
        """Apply the present fields of ``req`` to each user's row (creating missing rows); log and
        announce only the rows that really changed.

        Existing rows are changed field by field (Store.update_user_conversation) rather than
        overwritten, so a concurrent read-seq raise by the send path is never rolled back; only missing
        rows go through Store.upsert_user_conversations.
        """
        check_conversation_req(req)
        owners = list(dict.fromkeys(user_ids))
        patch = patch_of(req)
        check_fields(patch.changed())
        private = req.isPrivateChat.value if req.HasField("isPrivateChat") else None
        mirror = private is not None and req.conversationType != SessionType.READ_GROUP
        if private is not None and not mirror:
            patch = replace(patch, is_private_chat=private)  # group chats: a plain per-user setting
        conv_id = req.conversationID
        changed: list[tuple[str, VersionState]] = []
        for owner in owners if patch.changed() else ():
            state = await self._apply(owner, req, patch)
            if state is not None:
                changed.append((owner, state))
        for owner, state in changed:
            await self._store.bump_version(VersionKind.CONVERSATION, owner, [conv_id], state)
            if patch.recv_msg_opt is not None:
                self._send.forget_conversation(owner, conv_id)
            await self._tell(
                ContentType.CONVERSATION_CHANGE,
                sdkws_pb2.ConversationUpdateTips(userID=owner, conversationIDList=[conv_id]),
                owner,
                owner,
                operation_id,
            )
        if mirror and private is not None:
            for owner in owners:
                await self._set_private(owner, req, private, operation_id)

    async def _apply(
        self, owner: str, req: conversation_pb2.ConversationReq, patch: ConversationPatch
    ) -> VersionState | None:
        rows = await self._store.get_user_conversations(owner, [req.conversationID])
        if rows:
            diff = patch.changes_to(rows[0])
            if not diff.changed():
                return None
            await self._store.update_user_conversation(owner, req.conversationID, diff)
            return VersionState.UPDATE
        row = UserConversation(
            owner, req.conversationID, req.conversationType, user_id=req.userID, group_id=req.groupID
        )
        inserted = await self._store.upsert_user_conversations([patch.applied_to(row)])
        return VersionState.INSERT if inserted else None

    async def _set_private(
        self, owner: str, req: conversation_pb2.ConversationReq, private: bool, operation_id: str
    ) -> None:
        """Private chat (burn after reading) is a property of the pair: set it on both rows, log the rows
        that changed, and tell both users with 1701."""
        peer = req.userID
        any_changed = False
        for who, other in ((owner, peer), (peer, owner)):
            rows = await self._store.get_user_conversations(who, [req.conversationID])
            if rows:
                if rows[0].is_private_chat == private:
                    continue
                await self._store.update_user_conversation(
                    who, req.conversationID, ConversationPatch(is_private_chat=private)
                )
                state = VersionState.UPDATE
            else:
                row = UserConversation(
                    who, req.conversationID, req.conversationType, user_id=other, is_private_chat=private
                )
                if not await self._store.upsert_user_conversations([row]):
                    continue
                state = VersionState.INSERT
            any_changed = True
            await self._store.bump_version(VersionKind.CONVERSATION, who, [req.conversationID], state)
        if any_changed:
            tips = sdkws_pb2.ConversationSetPrivateTips(
                recvID=peer, sendID=owner, isPrivate=private, conversationID=req.conversationID
            )
            await self._tell(ContentType.CONVERSATION_PRIVATE_CHAT, tips, owner, peer, operation_id)

    async def delete(
        self, owner: str, conversation_ids: Sequence[str], need_delete_time_s: int, now_ms: int
    ) -> list[str]:
        """Delete the listed rows, or (with ``need_delete_time_s``) every row whose newest message is
        older than that; return the IDs deleted. Messages stay: a new message recreates the row."""
        if not conversation_ids and need_delete_time_s <= 0:
            raise args_error("needDeleteTime or conversationIDs must be set")
        if conversation_ids and need_delete_time_s > 0:
            raise args_error("needDeleteTime and conversationIDs cannot both be set")
        if conversation_ids:
            targets = [r.conversation_id for r in await self._store.get_user_conversations(owner, conversation_ids)]
        else:
            seqs = await self._sync.has_read_and_max_seq(owner, [])
            cutoff = now_ms - need_delete_time_s * 1000
            targets = [cid for cid, s in seqs.seqs.items() if s.maxSeq > 0 and s.maxSeqTime <= cutoff]
        if targets:
            await self._store.delete_user_conversations(owner, targets)
            await self._store.bump_version(VersionKind.CONVERSATION, owner, targets, VersionState.DELETE)
            for cid in targets:
                self._send.forget_conversation(owner, cid)
        return targets

    async def set_ex_for_all(self, owner: str, ex: str, *, operation_id: str) -> None:
        """update_conversations_by_user: the same ``ex`` on every row of the user."""
        check_fields({"ex": ex})
        changed = [r.conversation_id for r in await self._store.get_user_conversations(owner) if r.ex != ex]
        for cid in changed:
            await self._store.update_user_conversation(owner, cid, ConversationPatch(ex=ex))
        if changed:
            await self._store.bump_version(VersionKind.CONVERSATION, owner, changed, VersionState.UPDATE)
            await self._tell(
                ContentType.CONVERSATION_CHANGE,
                sdkws_pb2.ConversationUpdateTips(userID=owner, conversationIDList=changed),
                owner,
                owner,
                operation_id,
            )

    # -- lists built from message state ------------------------------------------------------------
    async def active(self, owner: str, count: int) -> jssdk_pb2.GetActiveConversationsResp:
        """/jssdk/get_active_conversations: the ``count`` most relevant conversations that have messages,
        with their newest visible message (none when the user cleared or deleted them all: the conversation
        is still listed, or the SDK could not open it again); the unread total covers every active one."""
        seqs = await self._sync.has_read_and_max_seq(owner, [])
        rows = {r.conversation_id: r for r in await self._store.get_user_conversations(owner)}
        entries = [
            ActiveEntry(cid, rows[cid].is_pinned, s.maxSeqTime, s.maxSeq, s.hasReadSeq)
            for cid, s in seqs.seqs.items()
            if s.maxSeq > 0 and cid in rows
        ]
        resp = jssdk_pb2.GetActiveConversationsResp(unreadCount=sum(e.unread for e in entries))
        picked = sort_active(entries)[: clamp_active_count(count)]
        resp.conversations.extend(await self._conversation_msgs(owner, picked, rows))
        return resp

    async def by_ids(self, owner: str, conversation_ids: Sequence[str]) -> jssdk_pb2.GetConversationsResp:
        """/jssdk/get_conversations: every listed conversation the user has, in request order, with its
        newest visible message when there is one (a cleared chat or one without messages yet comes with
        none: the SDK fails to open, and so to write in, a conversation it was told about and is not given)."""
        ids = list(dict.fromkeys(conversation_ids))
        rows = {r.conversation_id: r for r in await self._store.get_user_conversations(owner, ids)}
        known = [c for c in ids if c in rows]
        seqs = await self._sync.has_read_and_max_seq(owner, known) if known else None
        entries = []
        for cid in known:
            s = seqs.seqs[cid] if seqs is not None else None
            if s is not None:
                entries.append(ActiveEntry(cid, rows[cid].is_pinned, s.maxSeqTime, s.maxSeq, s.hasReadSeq))
        resp = jssdk_pb2.GetConversationsResp(unreadCount=sum(e.unread for e in entries))
        resp.conversations.extend(await self._conversation_msgs(owner, entries, rows))
        return resp

    async def _conversation_msgs(
        self, owner: str, entries: Sequence[ActiveEntry], rows: Mapping[str, UserConversation]
    ) -> list[jssdk_pb2.ConversationMsg]:
        if not entries:
            return []
        last = await self._sync.latest_visible(owner, [e.conversation_id for e in entries])
        peers = [rows[e.conversation_id].user_id for e in entries if not rows[e.conversation_id].group_id]
        users = {u.user_id: u for u in await self._store.get_users([p for p in dict.fromkeys(peers) if p])}
        group_ids = list(dict.fromkeys(rows[e.conversation_id].group_id for e in entries))
        group_ids = [g for g in group_ids if g]
        groups = {g.group_id: g for g in await self._store.get_groups(group_ids)}
        counts = await self._store.count_group_members(list(groups))
        out: list[jssdk_pb2.ConversationMsg] = []
        for e in entries:
            row = rows[e.conversation_id]
            item = jssdk_pb2.ConversationMsg(conversation=to_pb(row), maxSeq=e.max_seq, readSeq=e.read_seq)
            msg = last.get(e.conversation_id)
            if msg is not None:  # absent: the SDK shows an empty latest message, dated maxSeqTime
                item.lastMsg.CopyFrom(msg)
            peer = users.get(row.user_id) if not row.group_id else None
            if peer is not None:
                item.user.CopyFrom(user_to_pb(peer))
            group = groups.get(row.group_id) if row.group_id else None
            if group is not None:
                item.group.CopyFrom(group_to_pb(group, counts.get(group.group_id, 0)))
            out.append(item)
        return out

    async def sorted_list(
        self, owner: str, conversation_ids: Sequence[str], pagination: sdkws_pb2.RequestPagination
    ) -> conversation_pb2.GetSortedConversationListResp:
        """get_sorted_conversation_list: conversations with a message, pinned first then newest first,
        each with its unread count and a summary of the newest message; totals cover all of them."""
        check_pagination(pagination)
        rows = {
            r.conversation_id: r
            for r in await self._store.get_user_conversations(owner, list(conversation_ids) or None)
        }
        seqs = await self._sync.has_read_and_max_seq(owner, list(rows))
        entries = [
            ActiveEntry(cid, rows[cid].is_pinned, s.maxSeqTime, s.maxSeq, s.hasReadSeq)
            for cid, s in seqs.seqs.items()
            if s.maxSeq > 0 and cid in rows
        ]
        last = await self._sync.latest_visible(owner, [e.conversation_id for e in entries])
        entries = [replace(e, last_time=last[e.conversation_id].sendTime) for e in entries if e.conversation_id in last]
        ordered = sort_active(entries)
        shown = page(ordered, pagination)
        names = {
            u.user_id: u
            for u in await self._store.get_users(self._people(owner, [last[e.conversation_id] for e in shown]))
        }
        resp = conversation_pb2.GetSortedConversationListResp(
            conversationTotal=len(ordered), unreadTotal=sum(e.unread for e in ordered)
        )
        for e in shown:
            msg, row = last[e.conversation_id], rows[e.conversation_id]
            elem = resp.conversationElems.add(
                conversationID=e.conversation_id,
                recvMsgOpt=row.recv_msg_opt,
                unreadCount=e.unread,
                IsPinned=e.is_pinned,
            )
            elem.msgInfo.CopyFrom(self._msg_info(owner, msg, names))
        return resp

    @staticmethod
    def _people(owner: str, msgs: Iterable[sdkws_pb2.MsgData]) -> list[str]:
        ids: list[str] = []
        for m in msgs:
            ids.append(m.sendID)
            if m.sessionType == SessionType.SINGLE and m.sendID == owner:
                ids.append(m.recvID)
        return list(dict.fromkeys(i for i in ids if i))

    @staticmethod
    def _msg_info(owner: str, msg: sdkws_pb2.MsgData, users: Mapping[str, UserRecord]) -> conversation_pb2.MsgInfo:
        """In a single chat the summary shows the peer (the recipient when the owner sent it); in a group
        the sender. Group names and sizes come with the group service."""
        shown = msg.recvID if msg.sessionType == SessionType.SINGLE and msg.sendID == owner else msg.sendID
        person = users.get(shown)
        return conversation_pb2.MsgInfo(
            serverMsgID=msg.serverMsgID,
            clientMsgID=msg.clientMsgID,
            sessionType=msg.sessionType,
            sendID=msg.sendID,
            recvID=msg.recvID,
            senderName=person.nickname if person else msg.senderNickname,
            faceURL=person.face_url if person else msg.senderFaceURL,
            groupID=msg.groupID,
            LatestMsgRecvTime=msg.sendTime,
            msgFrom=msg.msgFrom,
            contentType=msg.contentType,
            content=msg.content.decode("utf-8", "replace"),
            ex=msg.ex,
        )

    # -- notifications -----------------------------------------------------------------------------
    async def _tell(self, content_type: int, tips: Any, send_id: str, recv_id: str, operation_id: str) -> None:
        """Send a notification; the change is committed already, so a failed push is logged, not
        returned: clients catch up through incremental sync (push is best effort, invariant 4)."""
        await tell(
            self._notifier, log, content_type=content_type, tips=tips, send_id=send_id, recv_id=recv_id,
            operation_id=operation_id,
        )

    # -- the owner's rows filtered and paged (/conversation/get_*_conversation_ids, get_owner_conversation)
    async def not_notify_ids(self, owner: str) -> list[str]:
        return [r.conversation_id for r in await self.rows(owner) if r.recv_msg_opt == RECV_OPT_NOT_NOTIFY]

    async def offline_push_user_ids(self, conversation_id: str, user_ids: Sequence[str]) -> list[str]:
        """OpenIM's GetConversationOfflinePushUserIDs: of ``user_ids`` (first occurrences, in order), those
        whose row for the conversation does not turn its messages down (recvMsgOpt 0, or no row at
        all); a user with option 1 (receive nothing) or 2 (no notification) gets no offline push."""
        if not user_ids:
            return []
        muted = set(await self.muted_owners(conversation_id))
        return [u for u in dict.fromkeys(user_ids) if u not in muted]

    async def muted_owners(self, conversation_id: str) -> list[str]:
        """The users whose row for the conversation turns its offline pushes down (recvMsgOpt 1 or 2)."""
        return await self._store.get_muted_owners(conversation_id)

    async def pinned_ids(self, owner: str) -> list[str]:
        return [r.conversation_id for r in await self.rows(owner) if r.is_pinned]

    async def owner_page(
        self, owner: str, pagination: sdkws_pb2.RequestPagination
    ) -> tuple[int, list[UserConversation]]:
        """(how many rows the owner has, one page of them)."""
        check_pagination(pagination)
        rows = await self.rows(owner)
        return len(rows), page(rows, pagination)

"""The read side of messaging: max/read seqs and pulls (WebSocket 1001, 1002, 1005, 1006, 1007 and the
matching REST routes). Sync is the guarantee (docs/architecture.md, invariant 4): whatever a push missed is here.

A user sees a conversation through a window: from max(conversation min_seq, the user's min_seq) — raised
by clearing history — to the conversation's max_seq, capped by the user's max_seq when set (left a
group). Seqs without a readable message come back as placeholders ``{seq, status: 4}`` so clients can
tell "deleted" from "not loaded".

Every read asks :func:`openim.services.read_access.readable` first: a conversation the user does not own
is answered as if it did not exist (no messages, no max seq, no time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openim.ops.logging import get_log
from openim.services.read_access import readable
from openim.storage.messages.records import ConversationSeq, StoredMessage, UserConversation
from openim.storage.port import Store, StoreError
from openim.wire.constants import (
    ContentType,
    MsgStatus,
    is_notification_conversation,
    notification_conversation_id,
    self_notification_conversation_id,
)
from openim.wire.errors import ErrCode, OpenIMError, args_error
from openim.wire.jsoncodec import notification_content
from openim.wire.pb import msg_pb2, sdkws_pb2

log = get_log("sync")

MAX_SEQS_PER_REQUEST = 1000  # more than the SDK ever asks for (it pages by 100)


def placeholder(seq: int) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(seq=seq, status=MsgStatus.DELETED)


def render(stored: StoredMessage, *, hidden: bool = False) -> sdkws_pb2.MsgData:
    """The MsgData a reader gets for a stored message (deleted-for-me and revoked rewritten)."""
    msg = sdkws_pb2.MsgData()
    msg.ParseFromString(stored.payload)
    msg.seq = stored.seq
    # The stored flag, whatever the sender put in the payload: read by a user other than the sender.
    msg.isRead = stored.is_read
    if hidden:
        msg.content = b""
        msg.status = MsgStatus.DELETED
    elif stored.revoke is not None:
        revoked = sdkws_pb2.MessageRevokedContent.FromString(stored.revoke)
        msg.contentType = ContentType.MSG_REVOKE_NOTIFICATION
        msg.content = notification_content(revoked)
    return msg


class Window:
    """The seq range one user may read in one conversation."""

    __slots__ = ("max_seq", "min_seq")

    def __init__(self, seq: ConversationSeq | None, row: UserConversation | None) -> None:
        conv_min = seq.min_seq if seq else 0
        conv_max = seq.max_seq if seq else 0
        user_min = row.min_seq if row else 0
        self.min_seq = max(1, conv_min, user_min)
        self.max_seq = min(conv_max, row.max_seq) if row and row.max_seq else conv_max


class SyncService:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- max and read seqs ----------------------------------------------------------------------
    async def newest_seq(self, user_id: str) -> sdkws_pb2.GetMaxSeqResp:
        """1001: max seq of every conversation of the user and of their notification twins."""
        rows = await self._store.get_user_conversations(user_id)
        ids: list[str] = []
        for row in rows:
            ids.append(row.conversation_id)
            ids.append(notification_conversation_id(row.conversation_id))
        ids.append(self_notification_conversation_id(user_id))
        seqs = await self._store.get_conversation_seqs(list(dict.fromkeys(ids)))
        by_id = {r.conversation_id: r for r in rows}
        resp = sdkws_pb2.GetMaxSeqResp()
        for conv_id, seq in seqs.items():
            window = Window(seq, by_id.get(conv_id))
            if window.max_seq:
                resp.maxSeqs[conv_id] = window.max_seq
        return resp

    async def has_read_and_max_seq(
        self, user_id: str, conversation_ids: Sequence[str], return_pinned: bool = False
    ) -> msg_pb2.GetConversationsHasReadAndMaxSeqResp:
        """1006: every requested conversation (all of the user's when none) with maxSeq, hasReadSeq and
        maxSeqTime; the JS SDK builds its conversation list from this map."""
        if conversation_ids:
            access = await readable(self._store, user_id, conversation_ids)
            ids = [c for c in dict.fromkeys(conversation_ids) if access.allows(c)]
            rows = list(access.rows.values())
        else:
            rows = await self._store.get_user_conversations(user_id)
            ids = [r.conversation_id for r in rows]
        by_id = {r.conversation_id: r for r in rows}
        seqs = await self._store.get_conversation_seqs(ids) if ids else {}
        resp = msg_pb2.GetConversationsHasReadAndMaxSeqResp()
        for conv_id in ids:
            row, seq = by_id.get(conv_id), seqs.get(conv_id)
            entry = resp.seqs[conv_id]
            entry.maxSeq = Window(seq, row).max_seq
            entry.hasReadSeq = row.has_read_seq if row else 0
            entry.maxSeqTime = seq.max_seq_time if seq else 0
        if return_pinned:
            resp.pinnedConversationIDs.extend(r.conversation_id for r in rows if r.is_pinned)
        return resp

    # -- pulls ----------------------------------------------------------------------------------
    async def pull_by_range(self, req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
        """1002: per range, the newest ``num`` messages of [begin, end] inside the user's window."""
        user_id = req.userID
        conv_ids = [r.conversationID for r in req.seqRanges]
        access = await readable(self._store, user_id, conv_ids)
        seqs = await self._store.get_conversation_seqs([c for c in conv_ids if access.allows(c)])
        resp = sdkws_pb2.PullMessageBySeqsResp()
        desc = req.order == sdkws_pb2.PullOrderDesc
        for rng in req.seqRanges:
            conv_id = rng.conversationID
            if not conv_id:
                raise args_error("seqRanges: conversationID is empty")
            if not access.allows(conv_id):
                continue  # not the user's: answered as if it did not exist
            notification = is_notification_conversation(conv_id)
            window = Window(seqs.get(conv_id), access.row(conv_id))
            begin, end = max(rng.begin, window.min_seq), min(rng.end, window.max_seq)
            if end < begin:
                continue
            num = rng.num if rng.num > 0 else MAX_SEQS_PER_REQUEST
            if not notification and end - begin + 1 > num:
                if desc:
                    end = begin + num - 1
                else:
                    begin = end - num + 1
            wanted = list(range(begin, end + 1))[:MAX_SEQS_PER_REQUEST]
            msgs = await self._read(user_id, conv_id, wanted)
            if not msgs:
                continue
            target = (resp.notificationMsgs if notification else resp.msgs)[conv_id]
            target.Msgs.extend(msgs)
            target.isEnd = window.max_seq <= end if not desc else begin <= window.min_seq
            target.endSeq = end if not desc else begin
        return resp

    async def pull_by_seqs(self, req: msg_pb2.GetSeqMessageReq) -> msg_pb2.GetSeqMessageResp:
        """1005: the listed seqs, in the order given, one map entry per requested conversation (always
        present, maybe empty: the JS SDK dereferences it)."""
        user_id = req.userID
        conv_ids = [c.conversationID for c in req.conversations]
        access = await readable(self._store, user_id, conv_ids)
        seqs = await self._store.get_conversation_seqs([c for c in conv_ids if access.allows(c)])
        resp = msg_pb2.GetSeqMessageResp()
        for conv in req.conversations:
            conv_id = conv.conversationID
            if not conv_id:
                raise args_error("conversations: conversationID is empty")
            notification = is_notification_conversation(conv_id)
            target = (resp.notificationMsgs if notification else resp.msgs)[conv_id]
            if not access.allows(conv_id):
                target.isEnd = True  # an empty entry, as for a conversation without messages
                continue
            window = Window(seqs.get(conv_id), access.row(conv_id))
            wanted: list[int] = []
            for seq in conv.seqs[:MAX_SEQS_PER_REQUEST]:
                if seq <= 0:
                    continue
                if seq < window.min_seq or seq > window.max_seq:
                    target.isEnd = True
                    target.endSeq = window.min_seq if seq < window.min_seq else window.max_seq
                    continue
                wanted.append(seq)
            target.Msgs.extend(await self._read(user_id, conv_id, wanted))
            if wanted and min(wanted) <= window.min_seq:
                target.isEnd = True
        return resp

    async def last_messages(self, user_id: str, conversation_ids: Sequence[str]) -> msg_pb2.GetLastMessageResp:
        """1007: the newest readable message of each conversation."""
        resp = msg_pb2.GetLastMessageResp()
        for conv_id, msg in (await self.latest_visible(user_id, conversation_ids)).items():
            resp.msgs[conv_id].CopyFrom(msg)
        return resp

    async def latest_visible(
        self, user_id: str, conversation_ids: Iterable[str], *, scan: int = 20
    ) -> dict[str, sdkws_pb2.MsgData]:
        """Per conversation, the newest message the user can see (deleted/hidden ones skipped, looking
        back at most ``scan`` seqs); conversations without one are absent."""
        access = await readable(self._store, user_id, conversation_ids)
        ids = [c for c in dict.fromkeys(conversation_ids) if access.allows(c)]
        seqs = await self._store.get_conversation_seqs(ids) if ids else {}
        out: dict[str, sdkws_pb2.MsgData] = {}
        for conv_id in ids:
            window = Window(seqs.get(conv_id), access.row(conv_id))
            if window.max_seq < window.min_seq:
                continue
            begin = max(window.min_seq, window.max_seq - scan + 1)
            msgs = await self._read(user_id, conv_id, list(range(begin, window.max_seq + 1)))
            for msg in reversed(msgs):
                if msg.status < MsgStatus.DELETED:
                    out[conv_id] = msg
                    break
        return out

    async def _read(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> list[sdkws_pb2.MsgData]:
        if not seqs:
            return []
        try:
            stored = await self._store.get_messages(conversation_id, seqs)
            hidden = await self._store.get_hidden_seqs(user_id, conversation_id, seqs)
        except StoreError as exc:
            log.error("read.failed", conversation_id=conversation_id, error=str(exc))
            raise OpenIMError(ErrCode.DATABASE, "storage unavailable") from exc
        return [
            render(stored[seq], hidden=seq in hidden) if seq in stored else placeholder(seq) for seq in seqs
        ]

"""SqlStore's users, tokens, bans, messages, conversation rows and version logs (a mixin over SqlBase).

Each operation runs one body of openim.storage.messages.queries (openim.storage.messages.persist for the
send path) on a reader or the writer. Written out here are the methods that do more than that: skip the
database for empty input, retry the send path's transaction, and keep the senders' read marks that are
written behind (openim.storage.sql.read_marks) consistent with what readers see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from openim.storage.messages import queries as q
from openim.storage.messages.persist import persist_messages, raise_read_marks
from openim.storage.messages.records import (
    BanRecord,
    ConversationSeq,
    MessageToStore,
    PersistResult,
    StoredMessage,
    TokenState,
    TokenStateChange,
    UserConversation,
    UserRecord,
    VersionKind,
    VersionLog,
)
from openim.storage.port import AlreadyExists
from openim.storage.sql.base import SqlBase, reads, writes
from openim.storage.sql.read_marks import ReadMarks

log = logging.getLogger(__name__)

_MAX_BIGINT = 2**63 - 1  # SQL's BIGINT, SQLite's INTEGER

# persist_messages retries when a concurrent writer stored one of its (send_id, client_msg_id) keys first
# (only possible with two writers on one conversation, i.e. a partition failover on PostgreSQL). The retry
# sees the committed original and reports it as a duplicate, so one retry normally suffices.
PERSIST_ATTEMPTS = 4
_NO_LIMIT_MS = 2**62  # "no created_before limit": later than any create_time (fits a BIGINT)


class SqlMessageStore(SqlBase):
    """Implements openim.storage.messages.port.MessageStore for SqlStore."""

    # Senders' read marks written behind (openim.storage.sql.read_marks), when every reader of the database
    # is this store; None: written in the send transaction.
    _read_marks: ReadMarks | None = None

    # -- users ------------------------------------------------------------------------------------------
    async def insert_users(self, users: Sequence[UserRecord]) -> None:
        if users:
            await self._write(lambda: q.insert_users(users))

    async def get_users(self, user_ids: Sequence[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_users(user_ids))

    update_user = writes(q.update_user)
    list_users = reads(q.list_users)
    find_accounts = reads(q.find_accounts)

    # -- bans -------------------------------------------------------------------------------------------
    save_ban = writes(q.save_ban)
    delete_ban = writes(q.delete_ban)

    async def get_bans(self, user_ids: Sequence[str]) -> list[BanRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_bans(user_ids))

    # -- tokens -----------------------------------------------------------------------------------------
    save_token = writes(q.save_token)
    get_token = reads(q.get_token)
    list_tokens = reads(q.list_tokens)

    async def set_token_states(
        self,
        user_id: str,
        platform_ids: Sequence[int],
        state: TokenState,
        *,
        except_token: str = "",
        created_before_ms: int | None = None,
    ) -> list[str]:
        if not platform_ids:
            return []
        before = _NO_LIMIT_MS if created_before_ms is None else created_before_ms
        return await self._write(lambda: q.set_token_states(user_id, platform_ids, state, except_token, before))

    async def set_token_states_many(self, changes: Sequence[TokenStateChange]) -> list[list[str]]:
        todo = [c for c in changes if c.platform_ids]
        if not todo:
            return [[] for _ in changes]
        rows = [
            (
                c.user_id,
                c.platform_ids,
                c.state,
                c.except_token,
                _NO_LIMIT_MS if c.created_before_ms is None else c.created_before_ms,
            )
            for c in todo
        ]
        done = iter(await self._write(lambda: q.set_token_states_many(rows)))
        return [next(done) if c.platform_ids else [] for c in changes]

    async def delete_tokens(self, user_id: str, tokens: Sequence[str]) -> None:
        if tokens:
            await self._write(lambda: q.delete_tokens(user_id, tokens))

    purge_expired_tokens = writes(q.purge_expired_tokens)

    # -- messages ---------------------------------------------------------------------------------------
    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        if not batch:
            return []
        marks = self._read_marks
        defer = marks is not None
        for attempt in range(1, PERSIST_ATTEMPTS + 1):
            try:
                results = await self._write(lambda: persist_messages(batch, now_ms, defer_read_marks=defer))
            except AlreadyExists:
                # Lost a race on the dedupe key: nothing of ours was committed; run again from step 1.
                if attempt == PERSIST_ATTEMPTS:
                    raise
                log.info("persist_messages: a concurrent writer stored one of our keys first; retrying")
                continue
            if marks is not None:
                marks.note(batch, results)
            return results
        raise AssertionError("unreachable")  # pragma: no cover

    async def flush_read_marks(self) -> int:
        """Write the pending read marks (a no-op when they are written with the messages); how many."""
        marks = self._read_marks
        if marks is None:
            return 0
        taken = marks.take()  # even when empty: it ends the overlay of the last write, committed by now
        if not taken:
            return 0
        try:
            await self._write(lambda: raise_read_marks(taken))
        except BaseException:
            marks.restore(taken)
            raise
        return len(taken)

    async def get_conversation_seqs(self, conversation_ids: Sequence[str]) -> dict[str, ConversationSeq]:
        if not conversation_ids:
            return {}
        return await self._read(lambda: q.get_conversation_seqs(conversation_ids))

    async def get_messages(self, conversation_id: str, seqs: Sequence[int]) -> dict[int, StoredMessage]:
        if not seqs:
            return {}
        return await self._read(lambda: q.get_messages(conversation_id, seqs))

    get_message_range = reads(q.get_message_range)
    find_message = reads(q.find_message)
    set_message_revoked = writes(q.set_message_revoked)

    async def hide_messages(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> None:
        if seqs:
            await self._write(lambda: q.hide_messages(user_id, conversation_id, seqs))

    async def get_hidden_seqs(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> set[int]:
        if not seqs:
            return set()
        return await self._read(lambda: q.get_hidden_seqs(user_id, conversation_id, seqs))

    async def delete_messages(self, conversation_id: str, seqs: Sequence[int]) -> int:
        if not seqs:
            return 0
        return await self._write(lambda: q.delete_messages(conversation_id, seqs))

    # -- per-user conversation state --------------------------------------------------------------------
    async def get_user_conversations(
        self, owner_user_id: str, conversation_ids: Sequence[str] | None = None
    ) -> list[UserConversation]:
        if conversation_ids is not None and not conversation_ids:
            return []
        rows = await self._read(lambda: q.get_user_conversations(owner_user_id, conversation_ids))
        return rows if self._read_marks is None else self._read_marks.overlay(rows)

    get_receive_options = reads(q.get_receive_options)
    get_conversation_owners = reads(q.get_conversation_owners)
    get_muted_owners = reads(q.get_muted_owners)

    async def upsert_user_conversations(self, rows: Sequence[UserConversation]) -> list[UserConversation]:
        if not rows:
            return []
        changed = await self._write(lambda: q.upsert_user_conversations(rows))
        return changed if self._read_marks is None else self._read_marks.overlay(changed)

    update_user_conversation = writes(q.update_user_conversation)

    async def raise_has_read_seq(
        self,
        owner_user_id: str,
        conversation_id: str,
        seq: int,
        *,
        flag_after: int | None = None,
        flag_seqs: Sequence[int] = (),
    ) -> int:
        marks = self._read_marks
        pending = 0 if marks is None else marks.pop(owner_user_id, conversation_id)
        mark = max(seq, pending)
        # The flagged range ends at the mark asked for: a pending mark is the owner's own newest message.
        after, up_to = (flag_after, seq) if flag_after is not None else (0, 0)
        try:
            if flag_seqs or up_to > after:
                return await self._write(
                    lambda: q.raise_has_read_seq_flagging(
                        owner_user_id, conversation_id, mark, flag_seqs, after, up_to
                    )
                )
            return await self._write(lambda: q.raise_has_read_seq(owner_user_id, conversation_id, mark))
        except BaseException:
            if marks is not None and pending:
                marks.restore([(owner_user_id, conversation_id, pending)])
            raise

    async def delete_user_conversations(self, owner_user_id: str, conversation_ids: Sequence[str]) -> None:
        if conversation_ids:
            if self._read_marks is not None:
                self._read_marks.forget(owner_user_id, conversation_ids)
            await self._write(lambda: q.delete_user_conversations(owner_user_id, conversation_ids))

    # -- version logs -----------------------------------------------------------------------------------
    bump_version = writes(q.bump_version)

    async def get_version_log(self, kind: VersionKind, d_id: str, *, since: int | None = None) -> VersionLog:
        # Versions are SQL bigints, but clients send any uint64: nothing is newer than the largest bigint.
        if since is not None and since > _MAX_BIGINT:
            since = _MAX_BIGINT
        # Reading is the common case and stays on a reader; only a missing log costs a write.
        found = await self._read(lambda: q.read_version_log(kind, d_id, since))
        if found is not None:
            return found
        return await self._write(lambda: q.ensure_version_log(kind, d_id, since))

    delete_version_log = writes(q.delete_version_log)

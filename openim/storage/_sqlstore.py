"""The Store implementation both adapters share; they only supply how a transaction runs.

A subclass implements :meth:`SqlStore._read` and :meth:`SqlStore._write` (run one transaction body from
openim.storage._queries on a reader or the writer, mapping driver failures to StoreUnavailable and unique
violations to AlreadyExists) plus the life cycle. Everything else -- the SQL, the retry policy of the send
path -- lives here once, so the two backends cannot disagree on semantics.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from openim.storage import _queries as q
from openim.storage._groups import GroupQueries
from openim.storage._objects import ObjectQueries
from openim.storage._read_marks import ReadMarks
from openim.storage._relations import RelationQueries
from openim.storage._txn import T, TxnFactory
from openim.storage.port import AlreadyExists
from openim.storage.records import (
    BanRecord,
    ConversationSeq,
    MessageToStore,
    PersistResult,
    StoredMessage,
    TokenRecord,
    TokenState,
    TokenStateChange,
    UserConversation,
    UserRecord,
    VersionKind,
    VersionLog,
    VersionState,
)

log = logging.getLogger(__name__)

_MAX_BIGINT = 2**63 - 1  # SQL's BIGINT, SQLite's INTEGER

# persist_messages retries when a concurrent writer stored one of its (send_id, client_msg_id) keys first
# (only possible with two writers on one conversation, i.e. a partition failover on PostgreSQL). The retry
# sees the committed original and reports it as a duplicate, so one retry normally suffices.
PERSIST_ATTEMPTS = 4
_NO_LIMIT_MS = 2**62  # "no created_before limit": later than any create_time (fits a BIGINT)


class SqlStore(RelationQueries, GroupQueries, ObjectQueries, abc.ABC):
    """Implements openim.storage.port.Store over :meth:`_read` / :meth:`_write`."""

    # Senders' read marks written behind (openim.storage._read_marks), when every reader of the database
    # is this store; None: written in the send transaction.
    _read_marks: ReadMarks | None = None

    # -- what an adapter provides -----------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> None: ...

    @abc.abstractmethod
    async def _read(self, body: TxnFactory[T]) -> T:
        """Run a read-only transaction (may use a reader connection that sees every committed write)."""

    @abc.abstractmethod
    async def _write(self, body: TxnFactory[T]) -> T:
        """Run a read-write transaction; return only after its commit is durable."""

    # -- users ------------------------------------------------------------------------------------------
    async def insert_users(self, users: Sequence[UserRecord]) -> None:
        if users:
            await self._write(lambda: q.insert_users(users))

    async def get_users(self, user_ids: Sequence[str]) -> list[UserRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_users(user_ids))

    async def update_user(self, user_id: str, changes: Mapping[str, Any]) -> bool:
        return await self._write(lambda: q.update_user(user_id, changes))

    async def list_users(
        self, *, offset: int, limit: int, keyword: str = "", max_manager_level: int | None = None
    ) -> tuple[int, list[UserRecord]]:
        return await self._read(lambda: q.list_users(offset, limit, keyword, max_manager_level))

    # -- bans -------------------------------------------------------------------------------------------
    async def save_ban(self, ban: BanRecord) -> None:
        await self._write(lambda: q.save_ban(ban))

    async def delete_ban(self, user_id: str) -> bool:
        return await self._write(lambda: q.delete_ban(user_id))

    async def get_bans(self, user_ids: Sequence[str]) -> list[BanRecord]:
        if not user_ids:
            return []
        return await self._read(lambda: q.get_bans(user_ids))

    # -- tokens -----------------------------------------------------------------------------------------
    async def save_token(self, token: TokenRecord) -> None:
        await self._write(lambda: q.save_token(token))

    async def get_token(self, user_id: str, platform_id: int, token: str) -> TokenRecord | None:
        return await self._read(lambda: q.get_token(user_id, platform_id, token))

    async def list_tokens(self, user_id: str, platform_id: int | None = None) -> list[TokenRecord]:
        return await self._read(lambda: q.list_tokens(user_id, platform_id))

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
            (c.user_id, c.platform_ids, c.state, c.except_token,
             _NO_LIMIT_MS if c.created_before_ms is None else c.created_before_ms)
            for c in todo
        ]
        done = iter(await self._write(lambda: q.set_token_states_many(rows)))
        return [next(done) if c.platform_ids else [] for c in changes]

    async def delete_tokens(self, user_id: str, tokens: Sequence[str]) -> None:
        if tokens:
            await self._write(lambda: q.delete_tokens(user_id, tokens))

    async def purge_expired_tokens(self, now_ms: int, kicked_before_ms: int = 0) -> int:
        return await self._write(lambda: q.purge_expired_tokens(now_ms, kicked_before_ms))

    # -- messages ---------------------------------------------------------------------------------------
    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        if not batch:
            return []
        marks = self._read_marks
        defer = marks is not None
        for attempt in range(1, PERSIST_ATTEMPTS + 1):
            try:
                results = await self._write(lambda: q.persist_messages(batch, now_ms, defer_read_marks=defer))
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
            await self._write(lambda: q.raise_read_marks(taken))
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

    async def get_message_range(
        self, conversation_id: str, begin: int, end: int, *, limit: int = 1000
    ) -> list[StoredMessage]:
        return await self._read(lambda: q.get_message_range(conversation_id, begin, end, limit))

    async def find_message(self, send_id: str, client_msg_id: str) -> StoredMessage | None:
        return await self._read(lambda: q.find_message(send_id, client_msg_id))

    async def set_message_revoked(self, conversation_id: str, seq: int, revoke: bytes) -> bool:
        return await self._write(lambda: q.set_message_revoked(conversation_id, seq, revoke))

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

    async def get_receive_options(self, owner_user_id: str) -> dict[str, int]:
        return await self._read(lambda: q.get_receive_options(owner_user_id))

    async def get_conversation_owners(self, conversation_id: str) -> list[str]:
        return await self._read(lambda: q.get_conversation_owners(conversation_id))

    async def upsert_user_conversations(self, rows: Sequence[UserConversation]) -> list[UserConversation]:
        if not rows:
            return []
        changed = await self._write(lambda: q.upsert_user_conversations(rows))
        return changed if self._read_marks is None else self._read_marks.overlay(changed)

    async def update_user_conversation(
        self, owner_user_id: str, conversation_id: str, changes: Mapping[str, Any]
    ) -> bool:
        return await self._write(lambda: q.update_user_conversation(owner_user_id, conversation_id, changes))

    async def raise_has_read_seq(self, owner_user_id: str, conversation_id: str, seq: int) -> int:
        marks = self._read_marks
        pending = 0 if marks is None else marks.pop(owner_user_id, conversation_id)
        try:
            return await self._write(lambda: q.raise_has_read_seq(owner_user_id, conversation_id, max(seq, pending)))
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
    async def bump_version(
        self, kind: VersionKind, d_id: str, e_ids: Sequence[str], state: VersionState
    ) -> VersionLog:
        return await self._write(lambda: q.bump_version(kind, d_id, e_ids, state))

    async def get_version_log(self, kind: VersionKind, d_id: str, *, since: int | None = None) -> VersionLog:
        # Versions are SQL bigints, but clients send any uint64: nothing is newer than the largest bigint.
        if since is not None and since > _MAX_BIGINT:
            since = _MAX_BIGINT
        # Reading is the common case and stays on a reader; only a missing log costs a write.
        found = await self._read(lambda: q.read_version_log(kind, d_id, since))
        if found is not None:
            return found
        return await self._write(lambda: q.ensure_version_log(kind, d_id, since))

    async def delete_version_log(self, kind: VersionKind, d_id: str) -> None:
        await self._write(lambda: q.delete_version_log(kind, d_id))

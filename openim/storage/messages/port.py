"""The Store port, part one: users, tokens and bans, messages and seqs, each user's conversation rows, and
the version logs of incremental sync -- the send path's durable state and what hangs off it.

Conventions of openim.storage.port apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openim.storage.messages.records import (
    BanRecord,
    ConversationPatch,
    ConversationSeq,
    MessageToStore,
    PersistResult,
    StoredMessage,
    TokenRecord,
    TokenState,
    TokenStateChange,
    UserConversation,
    UserPatch,
    UserRecord,
    VersionKind,
    VersionLog,
    VersionState,
)


class MessageStore(Protocol):
    """Users, tokens, bans, messages, conversation rows and version logs; see openim.storage.messages.records."""

    # -- users ------------------------------------------------------------------------------------
    async def insert_users(self, users: Sequence[UserRecord]) -> None:
        """Insert all or none; raise AlreadyExists (listing nothing partial) if any id exists."""

    async def get_users(self, user_ids: Sequence[str]) -> list[UserRecord]:
        """The registered ones among ``user_ids``, in request order."""

    async def update_user(self, user_id: str, patch: UserPatch) -> bool:
        """Set the fields ``patch`` sets (an empty one sets nothing); False if the user does not exist."""

    async def list_users(
        self, *, offset: int, limit: int, keyword: str = "", max_manager_level: int | None = None
    ) -> tuple[int, list[UserRecord]]:
        """(total matching, one page) ordered by create_time then user_id. ``keyword`` matches user_id or
        nickname case-insensitively (substring); ``max_manager_level`` hides higher app_manager_level."""

    async def find_accounts(
        self,
        *,
        min_manager_level: int,
        manager_level: int | None = None,
        user_id: str = "",
        nickname: str = "",
        offset: int,
        limit: int,
    ) -> tuple[int, list[UserRecord]]:
        """(total matching, one page) of the users whose app_manager_level is at least ``min_manager_level``
        (and exactly ``manager_level`` when given), ordered by create_time then user_id; ``user_id`` and
        ``nickname``, when given, must match exactly (the search of OpenIM's system accounts)."""

    # -- tokens (durable status; the bus may cache it) --------------------------------------------
    async def save_token(self, token: TokenRecord) -> None:
        """Insert or replace the status of one token."""

    async def get_token(self, user_id: str, platform_id: int, token: str) -> TokenRecord | None: ...

    async def list_tokens(self, user_id: str, platform_id: int | None = None) -> list[TokenRecord]: ...

    async def set_token_states(
        self,
        user_id: str,
        platform_ids: Sequence[int],
        state: TokenState,
        *,
        except_token: str = "",
        created_before_ms: int | None = None,
    ) -> list[str]:
        """Set ``state`` on every token of the user on those platforms except ``except_token`` (and, when
        ``created_before_ms`` is given, only on tokens created before it); return the tokens whose state
        changed."""

    async def set_token_states_many(self, changes: Sequence[TokenStateChange]) -> list[list[str]]:
        """:meth:`set_token_states` for each change, in order, in ONE transaction (logins kick in
        batches: one write per batch, not per login); the changed tokens of each."""

    async def delete_tokens(self, user_id: str, tokens: Sequence[str]) -> None: ...

    async def purge_expired_tokens(self, now_ms: int, kicked_before_ms: int = 0) -> int:
        """Delete tokens whose expire_time has passed, and kicked tokens created before
        ``kicked_before_ms``; return how many."""

    # -- bans (operator blocks) -------------------------------------------------------------------
    async def save_ban(self, ban: BanRecord) -> None:
        """Insert or replace the ban of ``ban.user_id``."""

    async def delete_ban(self, user_id: str) -> bool:
        """Lift a ban; False if there was none."""

    async def get_bans(self, user_ids: Sequence[str]) -> list[BanRecord]:
        """The bans among ``user_ids``, in request order."""

    # -- messages: the durable half of the send path ------------------------------------------------
    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        """In ONE transaction: for each message not already stored under (send_id, client_msg_id),
        allocate the next seq of its conversation (gapless: max_seq + 1, in batch order), insert it,
        advance the conversation's max_seq/max_seq_time, ensure a UserConversation row for every
        ``owners`` user (conversation_type/user_id/group_id from the message; for single chats the row's
        user_id is the *other* peer), and raise ``reader_user_id``'s has_read_seq to the new seq.
        Duplicates (also within the batch) get the original result with duplicate=True. Nothing is
        visible to readers before the commit; the call returns only after the commit is durable."""

    async def get_conversation_seqs(self, conversation_ids: Sequence[str]) -> dict[str, ConversationSeq]:
        """Seq state of the conversations that have one (others are absent from the result)."""

    async def get_messages(self, conversation_id: str, seqs: Sequence[int]) -> dict[int, StoredMessage]:
        """The stored messages among ``seqs`` (missing seqs absent)."""

    async def get_message_range(
        self, conversation_id: str, begin: int, end: int, *, limit: int = 1000
    ) -> list[StoredMessage]:
        """Messages with begin <= seq <= end, ascending, at most ``limit`` (the newest ``limit`` when more)."""

    async def find_message(self, send_id: str, client_msg_id: str) -> StoredMessage | None: ...

    async def set_message_revoked(self, conversation_id: str, seq: int, revoke: bytes) -> bool:
        """Record the revoke details once; False if the message is missing or already revoked."""

    async def hide_messages(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> None:
        """Delete-for-me: those seqs read back as deleted placeholders for this user only."""

    async def get_hidden_seqs(self, user_id: str, conversation_id: str, seqs: Sequence[int]) -> set[int]: ...

    async def delete_messages(self, conversation_id: str, seqs: Sequence[int]) -> int:
        """Physical delete for everyone (seqs stay allocated: readers see placeholders)."""

    # -- per-user conversation state ----------------------------------------------------------------
    async def get_user_conversations(
        self, owner_user_id: str, conversation_ids: Sequence[str] | None = None
    ) -> list[UserConversation]:
        """All of the user's conversations (None) or the listed ones that exist."""

    async def get_receive_options(self, owner_user_id: str) -> dict[str, int]:
        """conversation id -> recv_msg_opt of the user's conversations whose option is not the default
        (0): what the send path checks for every recipient, in one small read per user."""

    async def get_conversation_owners(self, conversation_id: str) -> list[str]:
        """Users that have a row for this conversation."""

    async def get_muted_owners(self, conversation_id: str) -> list[str]:
        """Users whose row for this conversation has a non-default recv_msg_opt (1: receive nothing,
        2: receive without notification), sorted: who gets no offline push for it."""

    async def upsert_user_conversations(self, rows: Sequence[UserConversation]) -> list[UserConversation]:
        """Insert missing rows and overwrite the mutable fields of existing ones; return the rows whose
        stored value actually changed (inserted or different), so callers notify only for real changes."""

    async def update_user_conversation(
        self, owner_user_id: str, conversation_id: str, patch: ConversationPatch
    ) -> bool:
        """Set the fields ``patch`` sets (an empty one sets nothing); False if the row does not exist."""

    async def raise_has_read_seq(
        self,
        owner_user_id: str,
        conversation_id: str,
        seq: int,
        *,
        flag_after: int | None = None,
        flag_seqs: Sequence[int] = (),
    ) -> int:
        """has_read_seq = max(has_read_seq, seq) (creating nothing); return the resulting value, or -1 if
        the row does not exist.

        In the same transaction, when the row exists, flag as read by the owner the messages of
        ``flag_seqs`` and, with ``flag_after``, those with ``flag_after < seq' <= seq``, except the
        owner's own (a sender does not read his own message for the peer). A flag never goes back; pulls
        return it as MsgData.isRead (OpenIM keeps the same flag per message)."""

    async def delete_user_conversations(self, owner_user_id: str, conversation_ids: Sequence[str]) -> None: ...

    # -- version logs (incremental sync) ------------------------------------------------------------
    async def bump_version(self, kind: VersionKind, d_id: str, e_ids: Sequence[str], state: VersionState) -> VersionLog:
        """Atomically: version += 1 (creating the log with a fresh version_id at version 1 if absent);
        each e_id keeps only its newest entry, at the new version with ``state``. Returns the header."""

    async def get_version_log(self, kind: VersionKind, d_id: str, *, since: int | None = None) -> VersionLog:
        """The header (created empty at version 1 if absent); with ``since``, the entries whose version is
        greater than it, ascending."""

    async def delete_version_log(self, kind: VersionKind, d_id: str) -> None: ...

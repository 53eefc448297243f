"""The core Store operations as transaction bodies (see openim.storage.sql.txn for the protocol): users,
tokens and bans, messages and seqs, each user's conversation rows, and the version logs.

Every Store operation is written once, as such a body, and runs on either backend; the port
(openim.storage.messages.port) says what each one promises, the mixin (openim.storage.messages.store)
only picks a reader or the writer for it. The send path's own body is in openim.storage.messages.persist.
Column lists here follow openim.storage.schema; the records' field names equal the column names
(openim.storage.sql.rows).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from openim.storage.messages.records import (
    USER_CONVERSATION_MUTABLE,
    BanRecord,
    ConversationPatch,
    ConversationSeq,
    StoredMessage,
    TokenRecord,
    TokenState,
    UserConversation,
    UserPatch,
    UserRecord,
    VersionEntry,
    VersionKind,
    VersionLog,
    VersionState,
)
from openim.storage.sql.rows import (
    columns_of,
    fetch_listed,
    fetch_owned,
    fetch_page,
    key_rows,
    like_pattern,
    set_clause,
)
from openim.storage.sql.txn import Row, RowSet, Txn, execute, fetch

GROUP_CHAT = 3  # conversation_type of group conversations: the row names the group, not a peer

USER_COLS, USER_TYPES = columns_of(UserRecord)
UC_COLS, UC_TYPES = columns_of(UserConversation)
MSG_COLS = (
    "conversation_id",
    "seq",
    "send_id",
    "client_msg_id",
    "server_msg_id",
    "send_time",
    "session_type",
    "content_type",
    "payload",
    "recv_id",
    "group_id",
    "revoke",
    "is_read",
)
MSG_TYPES = (
    "text", "bigint", "text", "text", "text", "bigint", "int", "int", "bytea", "text", "text", "bytea", "boolean"
)
_MSG_SELECT = ", ".join(f"m.{c}" for c in MSG_COLS)
_USER_SELECT = ", ".join(f"u.{c}" for c in USER_COLS)
_UC_SELECT = ", ".join(f"c.{c}" for c in UC_COLS)

def _user(row: Row) -> UserRecord:
    return UserRecord(*row)


def _message(row: Row) -> StoredMessage:
    cid, seq, send_id, client_msg_id, server_msg_id, send_time, session_type, content_type = row[:8]
    payload, recv_id, group_id, revoke, is_read = row[8:]
    return StoredMessage(
        cid,
        seq,
        send_id,
        client_msg_id,
        server_msg_id,
        send_time,
        session_type,
        content_type,
        bytes(payload),
        recv_id,
        group_id,
        None if revoke is None else bytes(revoke),
        bool(is_read),
    )


def _conversation(row: Row) -> UserConversation:
    values = dict(zip(UC_COLS, row, strict=True))
    for name in ("is_pinned", "is_private_chat", "is_msg_destruct"):
        values[name] = bool(values[name])
    return UserConversation(**values)


def _ban(row: Row) -> BanRecord:
    return BanRecord(*row)


def _uc_row(conv: UserConversation) -> Row:
    return tuple(getattr(conv, c) for c in UC_COLS)


# -- users ----------------------------------------------------------------------------------------------


def insert_users(users: Sequence[UserRecord]) -> Txn[None]:
    cols = ", ".join(USER_COLS)
    rows = [tuple(getattr(u, c) for c in USER_COLS) for u in users]
    # A duplicate id (stored already, or twice in ``users``) fails the statement and so the transaction:
    # nothing partial is left behind.
    yield from execute(
        f"{{with}} INSERT INTO users ({cols}) SELECT {cols} FROM k WHERE true",
        rows=RowSet("k", USER_COLS, USER_TYPES, rows),
    )


def get_users(user_ids: Sequence[str]) -> Txn[list[UserRecord]]:
    return (yield from fetch_listed(_USER_SELECT, "users u", "user_id", user_ids, _user))


def update_user(user_id: str, patch: UserPatch) -> Txn[bool]:
    if not patch.changed():
        rows = yield from fetch("SELECT 1 FROM users WHERE user_id = $1", user_id)
        return bool(rows)
    clause, values = set_clause(patch, 2)
    count = yield from execute(f"UPDATE users SET {clause} WHERE user_id = $1", user_id, *values)
    return count > 0


def list_users(
    *, offset: int, limit: int, keyword: str = "", max_manager_level: int | None = None
) -> Txn[tuple[int, list[UserRecord]]]:
    where: list[str] = []
    args: list[Any] = []
    if keyword:
        args.append(like_pattern(keyword))
        n = len(args)
        where.append(f"(lower(u.user_id) LIKE ${n} ESCAPE '\\' OR lower(u.nickname) LIKE ${n} ESCAPE '\\')")
    if max_manager_level is not None:
        args.append(max_manager_level)
        where.append(f"u.app_manager_level <= ${len(args)}")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    order = "ORDER BY u.create_time, u.user_id"
    total, rows = yield from fetch_page(_USER_SELECT, "users u", condition, args, order, limit, offset)
    return total, [_user(r) for r in rows]


def find_accounts(
    *,
    min_manager_level: int,
    manager_level: int | None = None,
    user_id: str = "",
    nickname: str = "",
    offset: int,
    limit: int,
) -> Txn[tuple[int, list[UserRecord]]]:
    args: list[Any] = [min_manager_level]
    where = ["u.app_manager_level >= $1"]
    for column, value in (("app_manager_level", manager_level), ("user_id", user_id), ("nickname", nickname)):
        if value is not None and value != "":
            args.append(value)
            where.append(f"u.{column} = ${len(args)}")
    condition = f"WHERE {' AND '.join(where)}"
    order = "ORDER BY u.create_time, u.user_id"
    total, rows = yield from fetch_page(_USER_SELECT, "users u", condition, args, order, limit, offset)
    return total, [_user(r) for r in rows]


# -- tokens ---------------------------------------------------------------------------------------------

_TOKEN_SELECT = "user_id, platform_id, token, state, expire_time, create_time"


def _token(row: Row) -> TokenRecord:
    return TokenRecord(row[0], row[1], row[2], TokenState(row[3]), row[4], row[5])


def save_token(token: TokenRecord) -> Txn[None]:
    yield from execute(
        f"INSERT INTO tokens ({_TOKEN_SELECT}) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (user_id, platform_id, token) DO UPDATE SET state = excluded.state, "
        "expire_time = excluded.expire_time, create_time = excluded.create_time",
        token.user_id,
        token.platform_id,
        token.token,
        int(token.state),
        token.expire_time,
        token.create_time,
    )


def save_ban(ban: BanRecord) -> Txn[None]:
    yield from execute(
        "INSERT INTO user_bans (user_id, reason, operator_user_id, create_time) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, "
        "operator_user_id = excluded.operator_user_id, create_time = excluded.create_time",
        ban.user_id,
        ban.reason,
        ban.operator_user_id,
        ban.create_time,
    )


def delete_ban(user_id: str) -> Txn[bool]:
    count = yield from execute("DELETE FROM user_bans WHERE user_id = $1", user_id)
    return count > 0


def get_bans(user_ids: Sequence[str]) -> Txn[list[BanRecord]]:
    select = "b.user_id, b.reason, b.operator_user_id, b.create_time"
    return (yield from fetch_listed(select, "user_bans b", "user_id", user_ids, _ban))


def get_token(user_id: str, platform_id: int, token: str) -> Txn[TokenRecord | None]:
    rows = yield from fetch(
        f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 AND platform_id = $2 AND token = $3",
        user_id,
        platform_id,
        token,
    )
    return _token(rows[0]) if rows else None


def list_tokens(user_id: str, platform_id: int | None = None) -> Txn[list[TokenRecord]]:
    if platform_id is None:
        rows = yield from fetch(
            f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 ORDER BY platform_id, create_time, token",
            user_id,
        )
    else:
        rows = yield from fetch(
            f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 AND platform_id = $2 ORDER BY create_time, token",
            user_id,
            platform_id,
        )
    return [_token(r) for r in rows]


def set_token_states(
    user_id: str, platform_ids: Sequence[int], state: TokenState, except_token: str, created_before_ms: int
) -> Txn[list[str]]:
    rows = yield from fetch(
        "{with} UPDATE tokens SET state = $2 WHERE user_id = $1 "
        "AND platform_id IN (SELECT platform_id FROM k) AND token <> $3 AND state <> $2 "
        "AND create_time < $4 RETURNING token",
        user_id,
        int(state),
        except_token,
        created_before_ms,
        rows=key_rows("platform_id", list(dict.fromkeys(platform_ids)), "int"),
    )
    return sorted(r[0] for r in rows)


def set_token_states_many(
    changes: Sequence[tuple[str, Sequence[int], TokenState, str, int]],
) -> Txn[list[list[str]]]:
    """set_token_states for each (user_id, platform_ids, state, except_token, created_before_ms)."""
    out: list[list[str]] = []
    for user_id, platform_ids, state, except_token, before in changes:
        out.append((yield from set_token_states(user_id, platform_ids, state, except_token, before)))
    return out


def delete_tokens(user_id: str, tokens: Sequence[str]) -> Txn[None]:
    yield from execute(
        "{with} DELETE FROM tokens WHERE user_id = $1 AND token IN (SELECT token FROM k)",
        user_id,
        rows=key_rows("token", list(dict.fromkeys(tokens))),
    )


def purge_expired_tokens(now_ms: int, kicked_before_ms: int = 0) -> Txn[int]:
    return (
        yield from execute(
            "DELETE FROM tokens WHERE expire_time < $1 OR (state = $2 AND create_time < $3)",
            now_ms,
            int(TokenState.KICKED),
            kicked_before_ms,
        )
    )


# -- messages -------------------------------------------------------------------------------------------


def get_conversation_seqs(conversation_ids: Sequence[str]) -> Txn[dict[str, ConversationSeq]]:
    rows = yield from fetch(
        "{with} SELECT s.conversation_id, s.max_seq, s.min_seq, s.max_seq_time "
        "FROM k JOIN conversation_seqs s ON s.conversation_id = k.conversation_id",
        rows=key_rows("conversation_id", list(dict.fromkeys(conversation_ids))),
    )
    return {r[0]: ConversationSeq(*r) for r in rows}


stored_message = _message  # for the other areas that read whole messages (openim.storage.reports)
MSG_SELECT = _MSG_SELECT


def get_messages(conversation_id: str, seqs: Sequence[int]) -> Txn[dict[int, StoredMessage]]:
    rows = yield from fetch(
        f"{{with}} SELECT {_MSG_SELECT} FROM k JOIN messages m ON m.conversation_id = $1 AND m.seq = k.seq",
        conversation_id,
        rows=key_rows("seq", list(dict.fromkeys(seqs)), "bigint"),
    )
    return {r[1]: _message(r) for r in rows}


def get_message_range(conversation_id: str, begin: int, end: int, *, limit: int = 1000) -> Txn[list[StoredMessage]]:
    if limit <= 0 or end < begin:
        return []
    rows = yield from fetch(
        f"SELECT {_MSG_SELECT} FROM messages m WHERE m.conversation_id = $1 AND m.seq >= $2 AND m.seq <= $3 "
        "ORDER BY m.seq DESC LIMIT $4",
        conversation_id,
        begin,
        end,
        limit,
    )
    return [_message(r) for r in reversed(rows)]


def find_message(send_id: str, client_msg_id: str) -> Txn[StoredMessage | None]:
    rows = yield from fetch(
        f"SELECT {_MSG_SELECT} FROM messages m WHERE m.send_id = $1 AND m.client_msg_id = $2",
        send_id,
        client_msg_id,
    )
    return _message(rows[0]) if rows else None


def set_message_revoked(conversation_id: str, seq: int, revoke: bytes) -> Txn[bool]:
    count = yield from execute(
        "UPDATE messages SET revoke = $3 WHERE conversation_id = $1 AND seq = $2 AND revoke IS NULL",
        conversation_id,
        seq,
        revoke,
    )
    return count == 1


def mark_messages_read(
    conversation_id: str, reader_user_id: str, seqs: Sequence[int], after_seq: int, up_to_seq: int
) -> Txn[int]:
    """Flag as read the messages of ``seqs`` and those with after_seq < seq <= up_to_seq, except the
    reader's own; return how many changed."""
    changed = 0
    if up_to_seq > after_seq:
        changed += yield from execute(
            "UPDATE messages SET is_read = TRUE WHERE conversation_id = $1 AND seq > $2 AND seq <= $3 "
            "AND send_id <> $4 AND NOT is_read",
            conversation_id,
            after_seq,
            up_to_seq,
            reader_user_id,
        )
    rest = [s for s in dict.fromkeys(seqs) if not after_seq < s <= up_to_seq]
    if rest:
        changed += yield from execute(
            "{with} UPDATE messages SET is_read = TRUE WHERE conversation_id = $1 "
            "AND seq IN (SELECT seq FROM k) AND send_id <> $2 AND NOT is_read",
            conversation_id,
            reader_user_id,
            rows=key_rows("seq", rest, "bigint"),
        )
    return changed


def hide_messages(user_id: str, conversation_id: str, seqs: Sequence[int]) -> Txn[None]:
    yield from execute(
        "{with} INSERT INTO hidden_messages (user_id, conversation_id, seq) "
        "SELECT user_id, conversation_id, seq FROM k WHERE true ON CONFLICT DO NOTHING",
        rows=RowSet(
            "k",
            ("user_id", "conversation_id", "seq"),
            ("text", "text", "bigint"),
            [(user_id, conversation_id, s) for s in dict.fromkeys(seqs)],
        ),
    )


def get_hidden_seqs(user_id: str, conversation_id: str, seqs: Sequence[int]) -> Txn[set[int]]:
    rows = yield from fetch(
        "{with} SELECT h.seq FROM k JOIN hidden_messages h "
        "ON h.user_id = $1 AND h.conversation_id = $2 AND h.seq = k.seq",
        user_id,
        conversation_id,
        rows=key_rows("seq", list(dict.fromkeys(seqs)), "bigint"),
    )
    return {int(r[0]) for r in rows}


def delete_messages(conversation_id: str, seqs: Sequence[int]) -> Txn[int]:
    return (
        yield from execute(
            "{with} DELETE FROM messages WHERE conversation_id = $1 AND seq IN (SELECT seq FROM k)",
            conversation_id,
            rows=key_rows("seq", list(dict.fromkeys(seqs)), "bigint"),
        )
    )


# -- per-user conversation state ------------------------------------------------------------------------


def get_user_conversations(owner_user_id: str, conversation_ids: Sequence[str] | None) -> Txn[list[UserConversation]]:
    owner = ("owner_user_id", owner_user_id)
    order = "ORDER BY c.conversation_id"
    return (
        yield from fetch_owned(
            _UC_SELECT, "user_conversations c", owner, "conversation_id", conversation_ids, order, _conversation
        )
    )


def get_receive_options(owner_user_id: str) -> Txn[dict[str, int]]:
    rows = yield from fetch(
        "SELECT conversation_id, recv_msg_opt FROM user_conversations WHERE owner_user_id = $1 AND recv_msg_opt <> 0",
        owner_user_id,
    )
    return {str(r[0]): int(r[1]) for r in rows}


def get_conversation_owners(conversation_id: str) -> Txn[list[str]]:
    rows = yield from fetch(
        "SELECT owner_user_id FROM user_conversations WHERE conversation_id = $1 ORDER BY owner_user_id",
        conversation_id,
    )
    return [r[0] for r in rows]


def get_muted_owners(conversation_id: str) -> Txn[list[str]]:
    rows = yield from fetch(
        "SELECT owner_user_id FROM user_conversations WHERE conversation_id = $1 AND recv_msg_opt <> 0 "
        "ORDER BY owner_user_id",
        conversation_id,
    )
    return [r[0] for r in rows]


_MUTABLE = tuple(sorted(USER_CONVERSATION_MUTABLE))


def upsert_user_conversations(rows: Sequence[UserConversation]) -> Txn[list[UserConversation]]:
    """Insert missing rows; overwrite the mutable fields (and update_time) where one of them differs.

    The ``WHERE`` of the conflict clause skips unchanged rows, and ``RETURNING`` yields exactly the rows
    inserted or changed, as now stored -- one statement, and the change test is made under the row lock,
    so concurrent upserts cannot both report (or both miss) the same change.
    """
    latest = {(r.owner_user_id, r.conversation_id): r for r in rows}  # the last one per key wins
    ucols = ", ".join(UC_COLS)
    assignments = ", ".join(f"{c} = excluded.{c}" for c in (*_MUTABLE, "update_time"))
    differs = " OR ".join(f"user_conversations.{c} <> excluded.{c}" for c in _MUTABLE)
    changed = yield from fetch(
        f"{{with}} INSERT INTO user_conversations ({ucols}) SELECT {ucols} FROM k WHERE true "
        "ORDER BY owner_user_id, conversation_id "
        f"ON CONFLICT (owner_user_id, conversation_id) DO UPDATE SET {assignments} WHERE {differs} "
        f"RETURNING {ucols}",
        rows=RowSet("k", UC_COLS, UC_TYPES, [_uc_row(latest[k]) for k in sorted(latest)]),
    )
    by_key = {(r[0], r[1]): _conversation(r) for r in changed}
    return [by_key[k] for k in latest if k in by_key]


def update_user_conversation(owner_user_id: str, conversation_id: str, patch: ConversationPatch) -> Txn[bool]:
    if not patch.changed():
        rows = yield from fetch(
            "SELECT 1 FROM user_conversations WHERE owner_user_id = $1 AND conversation_id = $2",
            owner_user_id,
            conversation_id,
        )
        return bool(rows)
    clause, values = set_clause(patch, 3)
    count = yield from execute(
        f"UPDATE user_conversations SET {clause} WHERE owner_user_id = $1 AND conversation_id = $2",
        owner_user_id,
        conversation_id,
        *values,
    )
    return count > 0


def raise_has_read_seq(owner_user_id: str, conversation_id: str, seq: int) -> Txn[int]:
    rows = yield from fetch(
        "UPDATE user_conversations SET has_read_seq = CASE WHEN has_read_seq < $3 THEN $3 ELSE has_read_seq END "
        "WHERE owner_user_id = $1 AND conversation_id = $2 RETURNING has_read_seq",
        owner_user_id,
        conversation_id,
        seq,
    )
    return int(rows[0][0]) if rows else -1


def raise_has_read_seq_flagging(
    owner_user_id: str, conversation_id: str, seq: int, flag_seqs: Sequence[int], flag_after: int, flag_up_to: int
) -> Txn[int]:
    """raise_has_read_seq and, when the row exists, mark_messages_read for the owner, in one transaction."""
    result = yield from raise_has_read_seq(owner_user_id, conversation_id, seq)
    if result >= 0:
        yield from mark_messages_read(conversation_id, owner_user_id, flag_seqs, flag_after, flag_up_to)
    return result


def delete_user_conversations(owner_user_id: str, conversation_ids: Sequence[str]) -> Txn[None]:
    yield from execute(
        "{with} DELETE FROM user_conversations WHERE owner_user_id = $1 "
        "AND conversation_id IN (SELECT conversation_id FROM k)",
        owner_user_id,
        rows=key_rows("conversation_id", list(dict.fromkeys(conversation_ids))),
    )


# -- version logs ---------------------------------------------------------------------------------------


def new_version_id() -> str:
    """24 hex characters, like the ObjectID OpenIM clients expect as a versionID."""
    return secrets.token_hex(12)


def bump_version(kind: VersionKind, d_id: str, e_ids: Sequence[str], state: VersionState) -> Txn[VersionLog]:
    # The header upsert locks the log's row, so concurrent bumps of one log serialise and never share a
    # version number.
    (version_id, version), *_ = yield from fetch(
        "INSERT INTO version_logs (kind, d_id, version_id, version) VALUES ($1, $2, $3, 1) "
        "ON CONFLICT (kind, d_id) DO UPDATE SET version = version_logs.version + 1 "
        "RETURNING version_id, version",
        str(kind),
        d_id,
        new_version_id(),
    )
    yield from execute(
        "{with} INSERT INTO version_log_entries (kind, d_id, e_id, state, version) "
        "SELECT kind, d_id, e_id, state, version FROM k WHERE true ORDER BY e_id "
        "ON CONFLICT (kind, d_id, e_id) DO UPDATE SET state = excluded.state, version = excluded.version",
        rows=RowSet(
            "k",
            ("kind", "d_id", "e_id", "state", "version"),
            ("text", "text", "text", "int", "bigint"),
            sorted((str(kind), d_id, e, int(state), int(version)) for e in set(e_ids)),
        ),
    )
    return VersionLog(version_id, int(version))


def read_version_log(kind: VersionKind, d_id: str, since: int | None) -> Txn[VersionLog | None]:
    """The log, or None when it does not exist (the caller then creates it in a write transaction)."""
    header = yield from fetch(
        "SELECT version_id, version FROM version_logs WHERE kind = $1 AND d_id = $2", str(kind), d_id
    )
    if not header:
        return None
    version_id, version = header[0]
    entries: list[VersionEntry] = []
    if since is not None:
        rows = yield from fetch(
            "SELECT e_id, state, version FROM version_log_entries WHERE kind = $1 AND d_id = $2 AND version > $3 "
            "ORDER BY version, e_id",
            str(kind),
            d_id,
            since,
        )
        entries = [VersionEntry(r[0], VersionState(r[1]), int(r[2])) for r in rows]
    return VersionLog(version_id, int(version), entries)


def ensure_version_log(kind: VersionKind, d_id: str, since: int | None) -> Txn[VersionLog]:
    yield from execute(
        "INSERT INTO version_logs (kind, d_id, version_id, version) VALUES ($1, $2, $3, 1) "
        "ON CONFLICT (kind, d_id) DO NOTHING",
        str(kind),
        d_id,
        new_version_id(),
    )
    log = yield from read_version_log(kind, d_id, since)
    assert log is not None  # inserted just now, or by a concurrent writer we waited for
    return log


def delete_version_log(kind: VersionKind, d_id: str) -> Txn[None]:
    yield from execute("DELETE FROM version_log_entries WHERE kind = $1 AND d_id = $2", str(kind), d_id)
    yield from execute("DELETE FROM version_logs WHERE kind = $1 AND d_id = $2", str(kind), d_id)

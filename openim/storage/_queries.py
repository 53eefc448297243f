"""Every Store operation as a transaction body (see openim.storage._txn for the protocol).

Column lists here follow openim.storage.schema; the records' field names equal the column names, so a
record converts to a row with a plain attribute walk and back with ``Record(*row)``.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from openim.storage._txn import Row, RowSet, Txn, execute, execute_many, fetch
from openim.storage.records import (
    USER_CONVERSATION_MUTABLE,
    BanRecord,
    ConversationSeq,
    MessageToStore,
    PersistResult,
    StoredMessage,
    TokenRecord,
    TokenState,
    UserConversation,
    UserRecord,
    VersionEntry,
    VersionKind,
    VersionLog,
    VersionState,
)

GROUP_CHAT = 3  # conversation_type of group conversations: the row names the group, not a peer

_PG_TYPES = {int: "bigint", str: "text", bool: "boolean", bytes: "bytea"}


def _columns(record_type: type, pg_types: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], ...]:
    """(names, PostgreSQL types) of a record whose fields are exactly its table's columns."""
    overrides = pg_types or {}
    names = tuple(f.name for f in fields(record_type))
    hints = {f.name: f.type for f in fields(record_type)}
    types = tuple(overrides.get(n) or _PG_TYPES[_hint_type(str(hints[n]))] for n in names)
    return names, types


def _hint_type(hint: str) -> type:
    # Field annotations are strings under ``from __future__ import annotations``.
    return {"int": int, "str": str, "bool": bool, "bytes": bytes}[hint]


USER_COLS, USER_TYPES = _columns(UserRecord)
UC_COLS, UC_TYPES = _columns(UserConversation)
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
)
MSG_TYPES = ("text", "bigint", "text", "text", "text", "bigint", "int", "int", "bytea", "text", "text", "bytea")
_MSG_SELECT = ", ".join(f"m.{c}" for c in MSG_COLS)
_USER_SELECT = ", ".join(f"u.{c}" for c in USER_COLS)
_UC_SELECT = ", ".join(f"c.{c}" for c in UC_COLS)
_UPDATABLE_USER_FIELDS = frozenset(USER_COLS) - {"user_id", "create_time"}


def _ids(name: str, values: Sequence[Any], pg_type: str = "text") -> RowSet:
    return RowSet("k", (name,), (pg_type,), [(v,) for v in values])


def _user(row: Row) -> UserRecord:
    return UserRecord(*row)


def _message(row: Row) -> StoredMessage:
    cid, seq, send_id, client_msg_id, server_msg_id, send_time, session_type, content_type = row[:8]
    payload, recv_id, group_id, revoke = row[8:]
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
    )


def _conversation(row: Row) -> UserConversation:
    values = dict(zip(UC_COLS, row, strict=True))
    for name in ("is_pinned", "is_private_chat", "is_msg_destruct"):
        values[name] = bool(values[name])
    return UserConversation(**values)


def _uc_row(conv: UserConversation) -> Row:
    return tuple(getattr(conv, c) for c in UC_COLS)


def _set_clause(changes: Mapping[str, Any], allowed: frozenset[str], first: int) -> tuple[str, tuple[Any, ...]]:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
    names = sorted(changes)
    clause = ", ".join(f"{n} = ${first + i}" for i, n in enumerate(names))
    return clause, tuple(changes[n] for n in names)


def ping() -> Txn[list[Row]]:
    return (yield from fetch("SELECT 1"))


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
    rows = yield from fetch(
        f"{{with}} SELECT {_USER_SELECT} FROM k JOIN users u ON u.user_id = k.user_id",
        rows=_ids("user_id", list(dict.fromkeys(user_ids))),
    )
    found = {row[0]: _user(row) for row in rows}
    return [found[u] for u in user_ids if u in found]


def update_user(user_id: str, changes: Mapping[str, Any]) -> Txn[bool]:
    if not changes:
        rows = yield from fetch("SELECT 1 FROM users WHERE user_id = $1", user_id)
        return bool(rows)
    clause, values = _set_clause(changes, _UPDATABLE_USER_FIELDS, 2)
    count = yield from execute(f"UPDATE users SET {clause} WHERE user_id = $1", user_id, *values)
    return count > 0


def _like_pattern(keyword: str) -> str:
    escaped = keyword.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_users(
    offset: int, limit: int, keyword: str, max_manager_level: int | None
) -> Txn[tuple[int, list[UserRecord]]]:
    where: list[str] = []
    args: list[Any] = []
    if keyword:
        args.append(_like_pattern(keyword))
        n = len(args)
        where.append(f"(lower(u.user_id) LIKE ${n} ESCAPE '\\' OR lower(u.nickname) LIKE ${n} ESCAPE '\\')")
    if max_manager_level is not None:
        args.append(max_manager_level)
        where.append(f"u.app_manager_level <= ${len(args)}")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    (total,), *_ = yield from fetch(f"SELECT count(*) FROM users u {condition}", *args)
    if limit <= 0:
        return int(total), []
    n = len(args)
    rows = yield from fetch(
        f"SELECT {_USER_SELECT} FROM users u {condition} ORDER BY u.create_time, u.user_id "
        f"LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        max(offset, 0),
    )
    return int(total), [_user(r) for r in rows]


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
    rows = yield from fetch(
        "{with} SELECT b.user_id, b.reason, b.operator_user_id, b.create_time "
        "FROM k JOIN user_bans b ON b.user_id = k.user_id",
        rows=_ids("user_id", list(dict.fromkeys(user_ids))),
    )
    found = {row[0]: BanRecord(*row) for row in rows}
    return [found[u] for u in user_ids if u in found]


def get_token(user_id: str, platform_id: int, token: str) -> Txn[TokenRecord | None]:
    rows = yield from fetch(
        f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 AND platform_id = $2 AND token = $3",
        user_id,
        platform_id,
        token,
    )
    return _token(rows[0]) if rows else None


def list_tokens(user_id: str, platform_id: int | None) -> Txn[list[TokenRecord]]:
    if platform_id is None:
        rows = yield from fetch(
            f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 ORDER BY platform_id, create_time, token",
            user_id,
        )
    else:
        rows = yield from fetch(
            f"SELECT {_TOKEN_SELECT} FROM tokens WHERE user_id = $1 AND platform_id = $2 "
            "ORDER BY create_time, token",
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
        rows=_ids("platform_id", list(dict.fromkeys(platform_ids)), "int"),
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
        rows=_ids("token", list(dict.fromkeys(tokens))),
    )


def purge_expired_tokens(now_ms: int, kicked_before_ms: int) -> Txn[int]:
    return (
        yield from execute(
            "DELETE FROM tokens WHERE expire_time < $1 OR (state = $2 AND create_time < $3)",
            now_ms,
            int(TokenState.KICKED),
            kicked_before_ms,
        )
    )


# -- messages -------------------------------------------------------------------------------------------


# The send path's statements, as constant texts (each is prepared once per connection and reused).
_PERSIST_KEYS = ("send_id", "client_msg_id")
_PERSIST_DEDUPE = (
    "{with} SELECT m.send_id, m.client_msg_id, m.conversation_id, m.seq, m.server_msg_id, m.send_time "
    "FROM k JOIN messages m ON m.send_id = k.send_id AND m.client_msg_id = k.client_msg_id"
)
_PERSIST_SEQS = (
    "{with} INSERT INTO conversation_seqs (conversation_id, max_seq, min_seq, max_seq_time) "
    "SELECT conversation_id, n, 0, now_ms FROM k WHERE true ORDER BY conversation_id "
    "ON CONFLICT (conversation_id) DO UPDATE SET max_seq = conversation_seqs.max_seq + excluded.max_seq, "
    "max_seq_time = excluded.max_seq_time RETURNING conversation_id, max_seq"
)
_PERSIST_SEQ_COLS = ("conversation_id", "n", "now_ms")
_PERSIST_SEQ_TYPES = ("text", "bigint", "bigint")
# ``revoke`` is left out: NULL, i.e. not revoked.
_NEW_MSG_COLS = MSG_COLS[:-1]
_NEW_MSG_TYPES = MSG_TYPES[:-1]
_PERSIST_INSERT = (
    f"INSERT INTO messages ({', '.join(_NEW_MSG_COLS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(_NEW_MSG_COLS)))})"
)
# Only the columns a new owner row needs; the others take their server defaults (equal to
# UserConversation's defaults). An existing row keeps everything but a has_read_seq that goes up.
_OWNER_COLS = (
    "owner_user_id", "conversation_id", "conversation_type", "user_id", "group_id", "has_read_seq",
    "create_time", "update_time",
)  # fmt: skip
_OWNER_TYPES = ("text", "text", "int", "text", "text", "bigint", "bigint", "bigint")
_PERSIST_OWNERS = (
    f"INSERT INTO user_conversations ({', '.join(_OWNER_COLS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(_OWNER_COLS)))}) "
    "ON CONFLICT (owner_user_id, conversation_id) DO UPDATE SET has_read_seq = excluded.has_read_seq "
    "WHERE user_conversations.has_read_seq < excluded.has_read_seq"
)
# The same, when the readers' marks of existing rows are written behind (openim.storage._read_marks):
# a missing row is created with its mark, an existing one is not touched.
_PERSIST_NEW_OWNERS = (
    f"INSERT INTO user_conversations ({', '.join(_OWNER_COLS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(_OWNER_COLS)))}) "
    "ON CONFLICT (owner_user_id, conversation_id) DO NOTHING"
)
_RAISE_READ_MARKS = (
    "UPDATE user_conversations SET has_read_seq = $3 "
    "WHERE owner_user_id = $1 AND conversation_id = $2 AND has_read_seq < $3"
)


def persist_messages(
    batch: Sequence[MessageToStore], now_ms: int, *, defer_read_marks: bool = False
) -> Txn[list[PersistResult]]:
    """The send path's durable step; four statements whatever the batch size (see Store.persist_messages).

    1. one lookup of every (send_id, client_msg_id) of the batch: duplicates of stored messages;
    2. one seq upsert, a row per conversation: ``max_seq += its new messages``, returning the new max_seq;
    3. the new messages, one write of many rows (execute_many), seqs handed out in batch order;
    4. the owners' conversation rows, each (owner, conversation) once per batch: created when missing,
       the reader's has_read_seq raised to his newest message (with ``defer_read_marks`` only in the rows
       created here: the caller writes the others behind, openim.storage._read_marks).

    Gapless seqs rest on the conversation_seqs row lock: the seq upsert locks each conversation's row
    until commit (PostgreSQL; SQLite serialises all writers anyway), rows are taken in conversation_id
    order so two batches cannot deadlock on each other, and a transaction that fails rolls its seqs back
    with everything else. A concurrent writer that stored one of our (send_id, client_msg_id) keys first
    makes the message INSERT fail on the unique index; the caller retries the whole body, which then finds
    the original in step 1.
    """
    keys = [(m.send_id, m.client_msg_id) for m in batch]
    unique = dict.fromkeys(keys)
    stored = yield from fetch(_PERSIST_DEDUPE, rows=RowSet("k", _PERSIST_KEYS, ("text", "text"), list(unique)))
    # The common case, no duplicate at all, skips every per-key bookkeeping below.
    fresh: Sequence[MessageToStore] = batch
    if stored or len(unique) != len(keys):
        firsts: dict[tuple[str, str], MessageToStore] = {}
        for m, key in zip(batch, keys, strict=True):
            if key not in firsts:
                firsts[key] = m
        for r in stored:
            firsts.pop((r[0], r[1]), None)
        fresh = list(firsts.values())
    new_results: list[PersistResult] = []
    if fresh:
        counts = Counter(m.conversation_id for m in fresh)
        seq_rows = yield from fetch(
            _PERSIST_SEQS,
            rows=RowSet(
                "k", _PERSIST_SEQ_COLS, _PERSIST_SEQ_TYPES, [(cid, counts[cid], now_ms) for cid in sorted(counts)]
            ),
        )
        next_seq = {cid: int(max_seq) - counts[cid] + 1 for cid, max_seq in seq_rows}

        message_rows: list[Row] = []
        owner_rows: dict[tuple[str, str], list[Any]] = {}
        for m in fresh:
            cid = m.conversation_id
            seq = next_seq[cid]
            next_seq[cid] = seq + 1
            new_results.append(PersistResult(cid, seq, m.server_msg_id, m.send_time))
            message_rows.append(
                (cid, seq, m.send_id, m.client_msg_id, m.server_msg_id, m.send_time, m.session_type,
                 m.content_type, m.payload, m.recv_id, m.group_id)
            )  # fmt: skip
            for owner in m.owners:
                if (owner, cid) not in owner_rows:
                    owner_rows[(owner, cid)] = _owner_row(owner, m, now_ms)
            reader = m.reader_user_id
            if reader:
                row = owner_rows.get((reader, cid))
                if row is None:
                    row = owner_rows[(reader, cid)] = _owner_row(reader, m, now_ms)
                row[5] = seq  # seqs of one conversation grow in batch order: the last one is the highest
        yield from execute_many(_PERSIST_INSERT, RowSet("m", _NEW_MSG_COLS, _NEW_MSG_TYPES, message_rows))
        if owner_rows:
            yield from execute_many(
                _PERSIST_NEW_OWNERS if defer_read_marks else _PERSIST_OWNERS,
                RowSet("o", _OWNER_COLS, _OWNER_TYPES, [tuple(owner_rows[k]) for k in sorted(owner_rows)]),
            )
    if fresh is batch:
        return new_results

    # Each key's first occurrence gets its new result; every other occurrence, and every key stored
    # before, reports the original as a duplicate.
    first_result = {(m.send_id, m.client_msg_id): r for m, r in zip(fresh, new_results, strict=True)}
    duplicate = {(r[0], r[1]): PersistResult(r[2], r[3], r[4], r[5], True) for r in stored}
    results: list[PersistResult] = []
    for key in keys:
        result = first_result.pop(key, None)
        if result is not None:
            duplicate[key] = _as_duplicate(result)
        else:
            result = duplicate[key]
        results.append(result)
    return results


def _as_duplicate(result: PersistResult) -> PersistResult:
    return PersistResult(result.conversation_id, result.seq, result.server_msg_id, result.send_time, True)


def _owner_row(owner: str, m: MessageToStore, now_ms: int) -> list[Any]:
    """A new owner row (``_OWNER_COLS``); its user_id is, for two-party conversations, the other side."""
    peer = "" if m.conversation_type == GROUP_CHAT else (m.recv_id if owner == m.send_id else m.send_id)
    return [owner, m.conversation_id, m.conversation_type, peer, m.group_id, 0, now_ms, now_ms]


def get_conversation_seqs(conversation_ids: Sequence[str]) -> Txn[dict[str, ConversationSeq]]:
    rows = yield from fetch(
        "{with} SELECT s.conversation_id, s.max_seq, s.min_seq, s.max_seq_time "
        "FROM k JOIN conversation_seqs s ON s.conversation_id = k.conversation_id",
        rows=_ids("conversation_id", list(dict.fromkeys(conversation_ids))),
    )
    return {r[0]: ConversationSeq(*r) for r in rows}


def get_messages(conversation_id: str, seqs: Sequence[int]) -> Txn[dict[int, StoredMessage]]:
    rows = yield from fetch(
        f"{{with}} SELECT {_MSG_SELECT} FROM k JOIN messages m ON m.conversation_id = $1 AND m.seq = k.seq",
        conversation_id,
        rows=_ids("seq", list(dict.fromkeys(seqs)), "bigint"),
    )
    return {r[1]: _message(r) for r in rows}


def get_message_range(conversation_id: str, begin: int, end: int, limit: int) -> Txn[list[StoredMessage]]:
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
        rows=_ids("seq", list(dict.fromkeys(seqs)), "bigint"),
    )
    return {int(r[0]) for r in rows}


def delete_messages(conversation_id: str, seqs: Sequence[int]) -> Txn[int]:
    return (
        yield from execute(
            "{with} DELETE FROM messages WHERE conversation_id = $1 AND seq IN (SELECT seq FROM k)",
            conversation_id,
            rows=_ids("seq", list(dict.fromkeys(seqs)), "bigint"),
        )
    )


# -- per-user conversation state ------------------------------------------------------------------------


def get_user_conversations(
    owner_user_id: str, conversation_ids: Sequence[str] | None
) -> Txn[list[UserConversation]]:
    if conversation_ids is None:
        rows = yield from fetch(
            f"SELECT {_UC_SELECT} FROM user_conversations c WHERE c.owner_user_id = $1 ORDER BY c.conversation_id",
            owner_user_id,
        )
        return [_conversation(r) for r in rows]
    rows = yield from fetch(
        f"{{with}} SELECT {_UC_SELECT} FROM k JOIN user_conversations c "
        "ON c.owner_user_id = $1 AND c.conversation_id = k.conversation_id",
        owner_user_id,
        rows=_ids("conversation_id", list(dict.fromkeys(conversation_ids))),
    )
    found = {r[1]: _conversation(r) for r in rows}
    return [found[c] for c in conversation_ids if c in found]


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


def update_user_conversation(owner_user_id: str, conversation_id: str, changes: Mapping[str, Any]) -> Txn[bool]:
    if not changes:
        rows = yield from fetch(
            "SELECT 1 FROM user_conversations WHERE owner_user_id = $1 AND conversation_id = $2",
            owner_user_id,
            conversation_id,
        )
        return bool(rows)
    clause, values = _set_clause(changes, USER_CONVERSATION_MUTABLE, 3)
    count = yield from execute(
        f"UPDATE user_conversations SET {clause} WHERE owner_user_id = $1 AND conversation_id = $2",
        owner_user_id,
        conversation_id,
        *values,
    )
    return count > 0


def raise_read_marks(marks: Sequence[tuple[str, str, int]]) -> Txn[int]:
    """has_read_seq = max(has_read_seq, seq) for many (owner, conversation, seq), creating nothing."""
    return (
        yield from execute_many(
            _RAISE_READ_MARKS, RowSet("r", ("owner_user_id", "conversation_id", "seq"), ("text", "text", "bigint"),
                                      sorted(marks)),
        )
    )


def raise_has_read_seq(owner_user_id: str, conversation_id: str, seq: int) -> Txn[int]:
    rows = yield from fetch(
        "UPDATE user_conversations SET has_read_seq = CASE WHEN has_read_seq < $3 THEN $3 ELSE has_read_seq END "
        "WHERE owner_user_id = $1 AND conversation_id = $2 RETURNING has_read_seq",
        owner_user_id,
        conversation_id,
        seq,
    )
    return int(rows[0][0]) if rows else -1


def delete_user_conversations(owner_user_id: str, conversation_ids: Sequence[str]) -> Txn[None]:
    yield from execute(
        "{with} DELETE FROM user_conversations WHERE owner_user_id = $1 "
        "AND conversation_id IN (SELECT conversation_id FROM k)",
        owner_user_id,
        rows=_ids("conversation_id", list(dict.fromkeys(conversation_ids))),
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

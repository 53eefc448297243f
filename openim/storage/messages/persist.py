"""The send path's durable step as a transaction body: persist_messages, and the read marks it leaves behind.

The hottest body of the store (compiled with mypyc in the binary, packaging/mypyc-modules.txt): four
statements per batch whatever its size, as constant texts that each connection prepares once. Its steps
are named functions below, and only the body itself talks to the database. Same rules as
openim.storage.messages.queries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from openim.storage.messages.queries import GROUP_CHAT, MSG_COLS, MSG_TYPES
from openim.storage.messages.records import MessageToStore, PersistResult
from openim.storage.sql.rows import placeholders
from openim.storage.sql.txn import Row, RowSet, Txn, execute_many, fetch

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
# ``revoke`` and ``is_read`` are left out: NULL and false, i.e. neither revoked nor read.
_NEW_MSG_COLS = MSG_COLS[:-2]
_NEW_MSG_TYPES = MSG_TYPES[:-2]
_PERSIST_INSERT = f"INSERT INTO messages ({', '.join(_NEW_MSG_COLS)}) VALUES ({placeholders(len(_NEW_MSG_COLS))})"
# Only the columns a new owner row needs; the others take their server defaults (equal to
# UserConversation's defaults). An existing row keeps everything but a has_read_seq that goes up.
_OWNER_COLS = (
    "owner_user_id", "conversation_id", "conversation_type", "user_id", "group_id", "has_read_seq",
    "create_time", "update_time",
)  # fmt: skip
_OWNER_TYPES = ("text", "text", "int", "text", "text", "bigint", "bigint", "bigint")
_PERSIST_OWNERS = (
    f"INSERT INTO user_conversations ({', '.join(_OWNER_COLS)}) VALUES ({placeholders(len(_OWNER_COLS))}) "
    "ON CONFLICT (owner_user_id, conversation_id) DO UPDATE SET has_read_seq = excluded.has_read_seq "
    "WHERE user_conversations.has_read_seq < excluded.has_read_seq"
)
# The same, when the readers' marks of existing rows are written behind (openim.storage.sql.read_marks):
# a missing row is created with its mark, an existing one is not touched.
_PERSIST_NEW_OWNERS = (
    f"INSERT INTO user_conversations ({', '.join(_OWNER_COLS)}) VALUES ({placeholders(len(_OWNER_COLS))}) "
    "ON CONFLICT (owner_user_id, conversation_id) DO NOTHING"
)
_RAISE_READ_MARKS = (
    "UPDATE user_conversations SET has_read_seq = $3 "
    "WHERE owner_user_id = $1 AND conversation_id = $2 AND has_read_seq < $3"
)

Key = tuple[str, str]  # (send_id, client_msg_id)


def persist_messages(
    batch: Sequence[MessageToStore], now_ms: int, *, defer_read_marks: bool = False
) -> Txn[list[PersistResult]]:
    """The send path's durable step; four statements whatever the batch size (see Store.persist_messages).

    1. one lookup of every (send_id, client_msg_id) of the batch: duplicates of stored messages;
    2. one seq upsert, a row per conversation: ``max_seq += its new messages``, returning the new max_seq;
    3. the new messages, one write of many rows (execute_many), seqs handed out in batch order;
    4. the owners' conversation rows, each (owner, conversation) once per batch: created when missing,
       the reader's has_read_seq raised to his newest message (with ``defer_read_marks`` only in the rows
       created here: the caller writes the others behind, openim.storage.sql.read_marks).

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
    fresh = _first_unstored(batch, keys, stored) if stored or len(unique) != len(keys) else batch
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
        message_rows, owner_rows = _number(fresh, next_seq, now_ms, new_results)
        yield from execute_many(_PERSIST_INSERT, RowSet("m", _NEW_MSG_COLS, _NEW_MSG_TYPES, message_rows))
        if owner_rows:
            yield from execute_many(
                _PERSIST_NEW_OWNERS if defer_read_marks else _PERSIST_OWNERS,
                RowSet("o", _OWNER_COLS, _OWNER_TYPES, [tuple(owner_rows[k]) for k in sorted(owner_rows)]),
            )
    if fresh is batch:
        return new_results
    return _with_duplicates(keys, fresh, new_results, stored)


def _first_unstored(batch: Sequence[MessageToStore], keys: list[Key], stored: list[Row]) -> list[MessageToStore]:
    """Step 1's outcome: each key's first message, unless the key is stored already."""
    firsts: dict[Key, MessageToStore] = {}
    for m, key in zip(batch, keys, strict=True):
        if key not in firsts:
            firsts[key] = m
    for r in stored:
        firsts.pop((r[0], r[1]), None)
    return list(firsts.values())


def _number(
    fresh: Sequence[MessageToStore], next_seq: dict[str, int], now_ms: int, results: list[PersistResult]
) -> tuple[list[Row], dict[tuple[str, str], list[Any]]]:
    """Hand out the seqs (appending each message's result to ``results``): the rows of steps 3 and 4."""
    message_rows: list[Row] = []
    owner_rows: dict[tuple[str, str], list[Any]] = {}
    for m in fresh:
        cid = m.conversation_id
        seq = next_seq[cid]
        next_seq[cid] = seq + 1
        results.append(PersistResult(cid, seq, m.server_msg_id, m.send_time))
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
    return message_rows, owner_rows


def _with_duplicates(
    keys: list[Key], fresh: Sequence[MessageToStore], new_results: list[PersistResult], stored: list[Row]
) -> list[PersistResult]:
    """The results in batch order: each key's first occurrence gets its new result; every other occurrence,
    and every key stored before, reports the original as a duplicate."""
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


def raise_read_marks(marks: Sequence[tuple[str, str, int]]) -> Txn[int]:
    """has_read_seq = max(has_read_seq, seq) for many (owner, conversation, seq), creating nothing: the
    marks :func:`persist_messages` left to be written behind (openim.storage.sql.read_marks)."""
    return (
        yield from execute_many(
            _RAISE_READ_MARKS,
            RowSet("r", ("owner_user_id", "conversation_id", "seq"), ("text", "text", "bigint"), sorted(marks)),
        )
    )

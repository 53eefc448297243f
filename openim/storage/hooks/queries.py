"""The after-callback queue as transaction bodies (see openim.storage.sql.txn).

Same rules as openim.storage.messages.queries: portable SQL (SQLite >= 3.38 and PostgreSQL), ``$n``
placeholders, ``{with}`` for multi-row input. A flush of the dispatcher (new entries, retries and dead
letters in one upsert, deliveries in one delete) is one transaction whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.hook_queue import HookCounts, HookEntry, HookWrites
from openim.storage.sql.rows import key_rows, placeholders
from openim.storage.sql.txn import Row, RowSet, Txn, execute, execute_many, fetch

_ENTRY_COLS = ("entry_id", "hook", "operation_id", "body", "attempts", "last_error", "created_at")
_ROW_COLS = (*_ENTRY_COLS, "due_at", "lease_until", "lease_owner", "dead")
_ROW_TYPES = ("text", "text", "text", "text", "bigint", "text", "bigint", "bigint", "bigint", "text", "bigint")
_SELECT = ", ".join(_ENTRY_COLS)

# One statement for new entries, retries and dead letters: a retry or a dead letter overwrites the row it
# was taken from (and releases its lease).
_UPSERT = (
    f"INSERT INTO webhook_queue ({', '.join(_ROW_COLS)}) VALUES ({placeholders(len(_ROW_COLS))}) "
    "ON CONFLICT (entry_id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, "
    "due_at = excluded.due_at, lease_until = 0, lease_owner = '', dead = excluded.dead"
)


def _entry(row: Row) -> HookEntry:
    entry_id, hook, operation_id, body, attempts, last_error, created_at = row
    return HookEntry(str(entry_id), hook, operation_id, body, int(attempts), last_error, int(created_at))


def _row(entry: HookEntry, due_at: int, dead: int) -> Row:
    return (
        entry.entry_id, entry.hook, entry.operation_id, entry.body, entry.attempts, entry.last_error,
        entry.created_at, due_at, 0, "", dead,
    )


def hook_write(writes: HookWrites, *, now_ms: int) -> Txn[None]:
    """Queue, requeue and bury in one upsert, delete the delivered in one statement."""
    rows: dict[str, Row] = {}
    for entry in writes.new:
        rows[entry.entry_id] = _row(entry, now_ms, 0)
    for retry in writes.retries:
        rows[retry.entry.entry_id] = _row(retry.entry, retry.due_at, 0)
    for entry in writes.dead:
        rows[entry.entry_id] = _row(entry, 0, 1)
    if rows:
        # Sorted keys: row locks in one order, so two flushes cannot deadlock (PostgreSQL).
        yield from execute_many(_UPSERT, RowSet("k", _ROW_COLS, _ROW_TYPES, [rows[k] for k in sorted(rows)]))
    delivered = sorted({e.entry_id for e in writes.delivered} - rows.keys())
    if delivered:
        yield from execute(
            "{with} DELETE FROM webhook_queue WHERE entry_id IN (SELECT entry_id FROM k)",
            rows=key_rows("entry_id", delivered),
        )


def hook_take(consumer: str, *, max_items: int, now_ms: int, lease_ms: int) -> Txn[list[HookEntry]]:
    """Lease the oldest due entries that no one holds (a lease that ran out counts as free)."""
    rows = yield from fetch(
        "UPDATE webhook_queue SET lease_until = $1, lease_owner = $2 WHERE entry_id IN ("
        "SELECT entry_id FROM webhook_queue WHERE dead = 0 AND due_at <= $3 AND lease_until <= $3 "
        f"ORDER BY due_at, entry_id LIMIT $4) RETURNING {_SELECT}",
        now_ms + lease_ms,
        consumer,
        now_ms,
        max_items,
    )
    return sorted((_entry(r) for r in rows), key=lambda e: e.entry_id)


def hook_release(consumer: str) -> Txn[None]:
    yield from execute(
        "UPDATE webhook_queue SET lease_until = 0, lease_owner = '' WHERE lease_owner = $1 AND dead = 0", consumer
    )


def hook_counts() -> Txn[HookCounts]:
    rows = yield from fetch("SELECT dead, count(*) FROM webhook_queue GROUP BY dead")
    by_state = {int(dead): int(n) for dead, n in rows}
    return HookCounts(queued=by_state.get(0, 0), dead=by_state.get(1, 0))


def hook_dead_letters(*, limit: int) -> Txn[list[HookEntry]]:
    rows = yield from fetch(f"SELECT {_SELECT} FROM webhook_queue WHERE dead = 1 ORDER BY entry_id LIMIT $1", limit)
    return [_entry(r) for r in rows]


def hook_redrive(entry_ids: Sequence[str] | None, *, now_ms: int) -> Txn[int]:
    """Dead letters back in the queue, due now, attempts reset (the last error stays for reference)."""
    requeue = "UPDATE webhook_queue SET dead = 0, attempts = 0, due_at = $1, lease_until = 0, lease_owner = '' "
    if entry_ids is None:
        return (yield from execute(requeue + "WHERE dead = 1", now_ms))
    return (
        yield from execute(
            "{with} " + requeue + "WHERE dead = 1 AND entry_id IN (SELECT entry_id FROM k)",
            now_ms,
            rows=key_rows("entry_id", list(dict.fromkeys(entry_ids))),
        )
    )

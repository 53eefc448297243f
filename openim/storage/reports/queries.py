"""The operators' reports as transaction bodies (see openim.storage.sql.txn); the rules of
openim.storage.messages.queries apply (portable SQL, ``$n`` placeholders).

A day is ``time_ms / 86400000``: integer division of BIGINTs on both backends (times are never
negative here: the domain refuses a negative start). The activity reads touch only the columns of the
index ``messages (send_time, session_type, send_id, group_id)``, so they scan a time range of that index
and never the message rows; the search reads rows, one page of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from openim.storage.messages.queries import MSG_SELECT, stored_message
from openim.storage.reports.records import DAY_MS, Activity, CreationCounts, MessageFilter, MessagePage
from openim.storage.sql.rows import fetch_page
from openim.storage.sql.txn import Txn, fetch

# Newest first; conversation and seq make the order total, so pages never overlap.
_NEWEST_FIRST = "ORDER BY m.send_time DESC, m.conversation_id DESC, m.seq DESC"
_CREATED = {"users": "users", "groups": "groups"}
_SUBJECT = {"sender": "send_id", "group": "group_id"}


def _conditions(where: MessageFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if where.send_id:
        clauses.append(f"m.send_id = {param(where.send_id)}")
    if where.recv_id:
        p = param(where.recv_id)
        clauses.append(f"(m.recv_id = {p} OR m.group_id = {p})")
    if where.content_type:
        clauses.append(f"m.content_type = {param(where.content_type)}")
    if where.session_type:
        clauses.append(f"m.session_type = {param(where.session_type)}")
    if where.start_ms > 0:
        clauses.append(f"m.send_time >= {param(where.start_ms)}")
    if where.end_ms is not None:
        clauses.append(f"m.send_time < {param(where.end_ms)}")
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args


def search_messages(where: MessageFilter, *, offset: int, limit: int) -> Txn[MessagePage]:
    condition, args = _conditions(where)
    total, rows = yield from fetch_page(MSG_SELECT, "messages m", condition, args, _NEWEST_FIRST, limit, offset)
    return MessagePage(total, [stored_message(r) for r in rows])


def creation_counts(table: Literal["users", "groups"], start_ms: int, end_ms: int) -> Txn[CreationCounts]:
    name = _CREATED[table]  # never a caller's text in the SQL
    (total,), *_ = yield from fetch(f"SELECT count(*) FROM {name}")
    (before,), *_ = yield from fetch(f"SELECT count(*) FROM {name} WHERE create_time < $1", start_ms)
    rows = yield from fetch(
        f"SELECT create_time / {DAY_MS}, count(*) FROM {name} WHERE create_time >= $1 AND create_time < $2 "
        "GROUP BY 1",
        start_ms,
        end_ms,
    )
    return CreationCounts(int(total), int(before), {int(day): int(n) for day, n in rows})


def message_activity(
    by: Literal["sender", "group"],
    session_types: Sequence[int],
    start_ms: int,
    end_ms: int,
    *,
    offset: int,
    limit: int,
    ascending: bool = False,
) -> Txn[Activity]:
    column = f"m.{_SUBJECT[by]}"
    if not session_types:
        return Activity(0, 0)
    types = ", ".join(str(int(t)) for t in sorted(set(session_types)))
    source = f"FROM messages m WHERE m.send_time >= $1 AND m.send_time < $2 AND m.session_type IN ({types})"
    (messages, subjects), *_ = yield from fetch(f"SELECT count(*), count(DISTINCT {column}) {source}", start_ms, end_ms)
    days = yield from fetch(f"SELECT m.send_time / {DAY_MS}, count(*) {source} GROUP BY 1", start_ms, end_ms)
    direction = "ASC" if ascending else "DESC"
    top = yield from fetch(
        f"SELECT {column}, count(*) {source} GROUP BY {column} ORDER BY count(*) {direction}, {column} "
        "LIMIT $3 OFFSET $4",
        start_ms,
        end_ms,
        limit,
        max(offset, 0),
    )
    return Activity(
        int(messages),
        int(subjects),
        {int(day): int(n) for day, n in days},
        [(str(subject), int(n)) for subject, n in top],
    )

"""Friends, friend requests and blacklists as transaction bodies (see openim.storage.sql.txn).

Same rules as openim.storage.messages.queries: portable SQL (SQLite >= 3.38 and PostgreSQL), ``$n`` placeholders,
``{with}`` for multi-row input, record fields equal to columns. What makes these bodies more than CRUD is
that a friendship change and its friend version-log entries commit in ONE transaction (and a blacklist
change its blacklist-log entry):
a client can never see a new version without the row behind it, nor a row that no version announces.
The log writes reuse the version log's body (``messages.queries.bump_version``) with ``yield from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openim.storage.messages.queries import bump_version
from openim.storage.messages.records import VersionKind, VersionLog, VersionState
from openim.storage.relations.records import (
    FRIEND_SORT_MARKER,
    AcceptOutcome,
    BlackRecord,
    FriendPatch,
    FriendRecord,
    FriendRequestRecord,
    FriendsAdded,
    HandleResult,
)
from openim.storage.sql.rows import columns_of, fetch_owned, fetch_page, key_rows, placeholders, set_clause, upsert_one
from openim.storage.sql.txn import Row, RowSet, Txn, execute, fetch

FRIEND_COLS, FRIEND_TYPES = columns_of(FriendRecord)
REQUEST_COLS, REQUEST_TYPES = columns_of(FriendRequestRecord)
BLACK_COLS, BLACK_TYPES = columns_of(BlackRecord)
_FRIEND_SELECT = ", ".join(f"f.{c}" for c in FRIEND_COLS)
_REQUEST_SELECT = ", ".join(f"r.{c}" for c in REQUEST_COLS)
_BLACK_SELECT = ", ".join(f"b.{c}" for c in BLACK_COLS)
# OpenIM lists friends pinned first, then in insertion order; create_time (ms) stands in for Mongo's
# _id order and the friend's ID breaks ties so two calls agree.
_FRIEND_ORDER = "ORDER BY f.is_pinned DESC, f.create_time, f.friend_user_id"
_BLACK_ORDER = "ORDER BY b.create_time, b.block_user_id"


def _friend(row: Row) -> FriendRecord:
    values = dict(zip(FRIEND_COLS, row, strict=True))
    values["is_pinned"] = bool(values["is_pinned"])  # SQLite hands booleans back as 0/1
    return FriendRecord(**values)


def _request(row: Row) -> FriendRequestRecord:
    return FriendRequestRecord(*row)


def _black(row: Row) -> BlackRecord:
    return BlackRecord(*row)


# -- friends ---------------------------------------------------------------------------------------------


def get_friends(owner_user_id: str, friend_user_ids: Sequence[str] | None) -> Txn[list[FriendRecord]]:
    owner = ("owner_user_id", owner_user_id)
    keys = None if friend_user_ids is None else list(dict.fromkeys(friend_user_ids))
    return (yield from fetch_owned(_FRIEND_SELECT, "friends f", owner, "friend_user_id", keys, _FRIEND_ORDER, _friend))


def page_friends(owner_user_id: str, *, offset: int, limit: int) -> Txn[tuple[int, list[FriendRecord]]]:
    total, rows = yield from fetch_page(
        _FRIEND_SELECT, "friends f", "WHERE f.owner_user_id = $1", [owner_user_id], _FRIEND_ORDER, limit, offset
    )
    return total, [_friend(r) for r in rows]


def get_friend_ids(owner_user_id: str) -> Txn[list[str]]:
    rows = yield from fetch(
        "SELECT friend_user_id FROM friends WHERE owner_user_id = $1 ORDER BY create_time, friend_user_id",
        owner_user_id,
    )
    return [r[0] for r in rows]


def get_friend_owners(friend_user_id: str) -> Txn[list[str]]:
    rows = yield from fetch(
        "SELECT owner_user_id FROM friends WHERE friend_user_id = $1 ORDER BY owner_user_id", friend_user_id
    )
    return [r[0] for r in rows]


def add_friends(rows: Sequence[FriendRecord]) -> Txn[FriendsAdded]:
    """Insert the missing rows (existing pairs keep their remark, pin and time); one insert entry per
    new row in its owner's friend log, owners taken in sorted order so two such transactions cannot
    deadlock on the log headers."""
    latest = {(r.owner_user_id, r.friend_user_id): r for r in rows}
    cols = ", ".join(FRIEND_COLS)
    inserted_rows = yield from fetch(
        f"{{with}} INSERT INTO friends ({cols}) SELECT {cols} FROM k WHERE true "
        "ORDER BY owner_user_id, friend_user_id "
        f"ON CONFLICT (owner_user_id, friend_user_id) DO NOTHING RETURNING {cols}",
        rows=RowSet(
            "k", FRIEND_COLS, FRIEND_TYPES, [tuple(getattr(latest[k], c) for c in FRIEND_COLS) for k in sorted(latest)]
        ),
    )
    inserted = [_friend(r) for r in inserted_rows]
    by_owner: dict[str, list[str]] = {}
    for f in inserted:
        by_owner.setdefault(f.owner_user_id, []).append(f.friend_user_id)
    versions: dict[str, VersionLog] = {}
    for owner in sorted(by_owner):
        versions[owner] = yield from bump_version(VersionKind.FRIEND, owner, by_owner[owner], VersionState.INSERT)
    order = {k: i for i, k in enumerate(latest)}
    inserted.sort(key=lambda f: order[(f.owner_user_id, f.friend_user_id)])
    return FriendsAdded(inserted, versions)


def delete_friend(owner_user_id: str, friend_user_id: str) -> Txn[VersionLog | None]:
    count = yield from execute(
        "DELETE FROM friends WHERE owner_user_id = $1 AND friend_user_id = $2", owner_user_id, friend_user_id
    )
    if count == 0:
        return None
    return (yield from bump_version(VersionKind.FRIEND, owner_user_id, [friend_user_id], VersionState.DELETE))


def update_friends(owner_user_id: str, friend_user_ids: Sequence[str], patch: FriendPatch) -> Txn[VersionLog | None]:
    """Set ``patch`` (not empty) on the listed friendships that exist and log an update for each of them,
    plus the sort marker when it sets ``is_pinned`` (OpenIM marks it whenever the request sets the pin,
    changed or not). None when none of them is a friend."""
    clause, values = set_clause(patch, 2)
    rows = yield from fetch(
        f"{{with}} UPDATE friends SET {clause} WHERE owner_user_id = $1 "
        "AND friend_user_id IN (SELECT friend_user_id FROM k) RETURNING friend_user_id",
        owner_user_id,
        *values,
        rows=key_rows("friend_user_id", list(dict.fromkeys(friend_user_ids))),
    )
    if not rows:
        return None
    e_ids = [r[0] for r in rows]
    if patch.is_pinned is not None:
        e_ids.append(FRIEND_SORT_MARKER)
    return (yield from bump_version(VersionKind.FRIEND, owner_user_id, e_ids, VersionState.UPDATE))


def upsert_friend_request(request: FriendRequestRecord) -> Txn[None]:
    """A new request replaces the pair's previous one, whatever became of it (OpenIM: reset to pending
    with the new message, ex and time)."""
    yield from upsert_one("friend_requests", REQUEST_COLS, ("from_user_id", "to_user_id"), request)


def get_friend_requests_between(user_a: str, user_b: str) -> Txn[list[FriendRequestRecord]]:
    rows = yield from fetch(
        f"SELECT {_REQUEST_SELECT} FROM friend_requests r "
        "WHERE (r.from_user_id = $1 AND r.to_user_id = $2) OR (r.from_user_id = $2 AND r.to_user_id = $1)",
        user_a,
        user_b,
    )
    found = [_request(r) for r in rows]
    found.sort(key=lambda r: r.from_user_id != user_a)  # a -> b first
    return found


def page_friend_requests(
    user_id: str, *, received: bool, handle_results: Sequence[int] = (), offset: int, limit: int
) -> Txn[tuple[int, list[FriendRequestRecord]]]:
    column = "to_user_id" if received else "from_user_id"
    args: list[Any] = [user_id]
    condition = f"r.{column} = $1"
    if handle_results:
        results = sorted(set(handle_results))
        condition += " AND r.handle_result IN (" + ", ".join(f"${i + 2}" for i in range(len(results))) + ")"
        args.extend(results)
    order = "ORDER BY r.create_time DESC, r.from_user_id, r.to_user_id"
    total, rows = yield from fetch_page(
        _REQUEST_SELECT, "friend_requests r", f"WHERE {condition}", args, order, limit, offset
    )
    return total, [_request(r) for r in rows]


def count_pending_friend_requests(to_user_id: str, since_ms: int = 0) -> Txn[int]:
    condition = f"to_user_id = $1 AND handle_result = {int(HandleResult.PENDING)}"
    args: list[Any] = [to_user_id]
    if since_ms:
        condition += " AND create_time > $2"
        args.append(since_ms)
    rows = yield from fetch(f"SELECT count(*) FROM friend_requests WHERE {condition}", *args)
    return int(rows[0][0])


def _handle(
    from_user_id: str, to_user_id: str, result: HandleResult, handler: str, handle_msg: str, now_ms: int
) -> Txn[FriendRequestRecord | None]:
    """Settle a pending request; None when the pair has no pending request (missing or handled). The
    ``handle_result = 0`` condition is checked under the row lock, so two responders cannot both win."""
    rows = yield from fetch(
        "UPDATE friend_requests SET handle_result = $3, handler_user_id = $4, handle_msg = $5, handle_time = $6 "
        f"WHERE from_user_id = $1 AND to_user_id = $2 AND handle_result = {int(HandleResult.PENDING)} "
        f"RETURNING {', '.join(REQUEST_COLS)}",
        from_user_id,
        to_user_id,
        int(result),
        handler,
        handle_msg,
        now_ms,
    )
    return _request(rows[0]) if rows else None


def accept_friend_request(
    from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, now_ms: int, add_source: int
) -> Txn[AcceptOutcome | None]:
    """Agree to the pending request from -> to, agree a pending reverse request too, and make the two
    friendship rows that are missing (operator: the applicant, as OpenIM records it)."""
    handler = handler_user_id
    request = yield from _handle(from_user_id, to_user_id, HandleResult.AGREED, handler, handle_msg, now_ms)
    if request is None:
        return None
    yield from _handle(to_user_id, from_user_id, HandleResult.AGREED, handler, handle_msg, now_ms)
    added = yield from add_friends(
        [
            FriendRecord(
                to_user_id, from_user_id, create_time=now_ms, add_source=add_source, operator_user_id=from_user_id
            ),
            FriendRecord(
                from_user_id, to_user_id, create_time=now_ms, add_source=add_source, operator_user_id=from_user_id
            ),
        ]
    )
    return AcceptOutcome(request, added)


def refuse_friend_request(
    from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, now_ms: int
) -> Txn[FriendRequestRecord | None]:
    return (yield from _handle(from_user_id, to_user_id, HandleResult.REFUSED, handler_user_id, handle_msg, now_ms))


# -- blacklists ------------------------------------------------------------------------------------------


def add_black(black: BlackRecord) -> Txn[bool]:
    """Insert the pair and, when it is new, an insert entry in the owner's blacklist log (one transaction)."""
    cols = ", ".join(BLACK_COLS)
    rows = yield from fetch(
        f"INSERT INTO blacks ({cols}) VALUES ({placeholders(len(BLACK_COLS))}) "
        "ON CONFLICT (owner_user_id, block_user_id) DO NOTHING RETURNING owner_user_id",
        *(getattr(black, c) for c in BLACK_COLS),
    )
    if not rows:
        return False
    yield from bump_version(VersionKind.BLACK, black.owner_user_id, [black.block_user_id], VersionState.INSERT)
    return True


def remove_black(owner_user_id: str, block_user_id: str) -> Txn[bool]:
    """Delete the pair and, when it existed, a delete entry in the owner's blacklist log."""
    count = yield from execute(
        "DELETE FROM blacks WHERE owner_user_id = $1 AND block_user_id = $2", owner_user_id, block_user_id
    )
    if count == 0:
        return False
    yield from bump_version(VersionKind.BLACK, owner_user_id, [block_user_id], VersionState.DELETE)
    return True


def get_blacks(owner_user_id: str, block_user_ids: Sequence[str] | None) -> Txn[list[BlackRecord]]:
    owner = ("owner_user_id", owner_user_id)
    keys = None if block_user_ids is None else list(dict.fromkeys(block_user_ids))
    return (yield from fetch_owned(_BLACK_SELECT, "blacks b", owner, "block_user_id", keys, _BLACK_ORDER, _black))


def page_blacks(owner_user_id: str, *, offset: int, limit: int) -> Txn[tuple[int, list[BlackRecord]]]:
    total, rows = yield from fetch_page(
        _BLACK_SELECT, "blacks b", "WHERE b.owner_user_id = $1", [owner_user_id], _BLACK_ORDER, limit, offset
    )
    return total, [_black(r) for r in rows]

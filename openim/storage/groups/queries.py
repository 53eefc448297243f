"""The group operations as transaction bodies (see openim.storage.sql.txn), in the SQL both backends share.

Each membership change runs with its version-log writes and its conversation-row changes in one body,
so one transaction per REST call whatever the number of members: member rows, the member log, every
member's join log and every member's ``sg_`` row are each one multi-row statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openim.storage.groups.port import GROUP_CHANGED_MARKER, SORT_MARKER
from openim.storage.groups.records import (
    GroupMemberRecord,
    GroupPatch,
    GroupRecord,
    GroupRequestRecord,
    GroupStatus,
    MemberPatch,
)
from openim.storage.messages import queries as q
from openim.storage.messages.records import UserConversation, VersionKind, VersionLog, VersionState
from openim.storage.sql.rows import columns_of, fetch_listed, fetch_page, key_rows, like_pattern, set_clause
from openim.storage.sql.txn import Row, RowSet, Txn, execute, fetch

GROUP_COLS, GROUP_TYPES = columns_of(GroupRecord)
MEMBER_COLS, MEMBER_TYPES = columns_of(GroupMemberRecord)
REQUEST_COLS, REQUEST_TYPES = columns_of(GroupRequestRecord)
_GROUP_SELECT = ", ".join(f"g.{c}" for c in GROUP_COLS)
_MEMBER_SELECT = ", ".join(f"m.{c}" for c in MEMBER_COLS)
_REQUEST_SELECT = ", ".join(f"r.{c}" for c in REQUEST_COLS)
_MEMBER_ORDER = "ORDER BY m.role_level DESC, m.join_time, m.user_id"
NO_LIMIT = 2**62


def conversation_id(group_id: str) -> str:
    return f"sg_{group_id}"


def _group(row: Row) -> GroupRecord:
    return GroupRecord(*row)


def _member(row: Row) -> GroupMemberRecord:
    return GroupMemberRecord(*row)


def _request(row: Row) -> GroupRequestRecord:
    return GroupRequestRecord(*row)


def _plain(value: Any) -> Any:
    # Enum members (RoleLevel.OWNER, ...) go to the drivers as the plain ints they are.
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _rows(records: Sequence[Any], cols: Sequence[str]) -> list[Row]:
    return [tuple(_plain(getattr(r, c)) for c in cols) for r in records]


# -- version logs of many d_ids at once -------------------------------------------------------------------


def bump_many(kind: VersionKind, d_ids: Sequence[str], e_id: str, state: VersionState) -> Txn[None]:
    """``bump_version(kind, d, [e_id], state)`` for every d in ``d_ids``, in two statements: the join
    logs of a thousand new members cost what one does."""
    ids = sorted(set(d_ids))
    if not ids:
        return
    headers = yield from fetch(
        "{with} INSERT INTO version_logs (kind, d_id, version_id, version) "
        "SELECT kind, d_id, version_id, 1 FROM k WHERE true ORDER BY d_id "
        "ON CONFLICT (kind, d_id) DO UPDATE SET version = version_logs.version + 1 RETURNING d_id, version",
        rows=RowSet(
            "k",
            ("kind", "d_id", "version_id"),
            ("text", "text", "text"),
            [(str(kind), d, q.new_version_id()) for d in ids],
        ),
    )
    yield from execute(
        "{with} INSERT INTO version_log_entries (kind, d_id, e_id, state, version) "
        "SELECT kind, d_id, e_id, state, version FROM k WHERE true ORDER BY d_id "
        "ON CONFLICT (kind, d_id, e_id) DO UPDATE SET state = excluded.state, version = excluded.version",
        rows=RowSet(
            "k",
            ("kind", "d_id", "e_id", "state", "version"),
            ("text", "text", "text", "int", "bigint"),
            sorted((str(kind), d, e_id, int(state), int(v)) for d, v in headers),
        ),
    )


# -- conversation rows of members -------------------------------------------------------------------------


def _open_conversations(group_id: str, user_ids: Sequence[str], now_ms: int) -> Txn[None]:
    """Every entrant has an ``sg_`` row (so 1006 lists the group before its next message); a row left
    frozen by an earlier departure reads the whole conversation again."""
    if not user_ids:
        return
    cid = conversation_id(group_id)
    rows = [
        q._uc_row(UserConversation(u, cid, q.GROUP_CHAT, group_id=group_id, create_time=now_ms, update_time=now_ms))
        for u in sorted(set(user_ids))
    ]
    cols = ", ".join(q.UC_COLS)
    yield from execute(
        f"{{with}} INSERT INTO user_conversations ({cols}) SELECT {cols} FROM k WHERE true "
        "ORDER BY owner_user_id, conversation_id "
        "ON CONFLICT (owner_user_id, conversation_id) DO UPDATE SET max_seq = 0 "
        "WHERE user_conversations.max_seq <> 0",
        rows=RowSet("k", q.UC_COLS, q.UC_TYPES, rows),
    )


def _freeze_conversations(group_id: str, user_ids: Sequence[str]) -> Txn[None]:
    """Departed members keep reading what was sent while they were in, and nothing after."""
    if not user_ids:
        return
    cid = conversation_id(group_id)
    found = yield from fetch("SELECT max_seq FROM conversation_seqs WHERE conversation_id = $1", cid)
    max_seq = int(found[0][0]) if found else 0
    users = key_rows("user_id", sorted(set(user_ids)))
    if max_seq > 0:
        yield from execute(
            "{with} UPDATE user_conversations SET max_seq = $2 "
            "WHERE conversation_id = $1 AND owner_user_id IN (SELECT user_id FROM k)",
            cid,
            max_seq,
            rows=users,
        )
    else:
        # max_seq 0 means "no cap" to the read window; with no message to keep, drop the row instead.
        yield from execute(
            "{with} DELETE FROM user_conversations WHERE conversation_id = $1 "
            "AND owner_user_id IN (SELECT user_id FROM k)",
            cid,
            rows=users,
        )


# -- groups -----------------------------------------------------------------------------------------------


def create_group(group: GroupRecord, members: Sequence[GroupMemberRecord]) -> Txn[VersionLog]:
    cols = ", ".join(GROUP_COLS)
    # A taken group_id fails this INSERT (AlreadyExists) before anything else is written.
    yield from execute(
        f"{{with}} INSERT INTO groups ({cols}) SELECT {cols} FROM k WHERE true",
        rows=RowSet("k", GROUP_COLS, GROUP_TYPES, _rows([group], GROUP_COLS)),
    )
    mcols = ", ".join(MEMBER_COLS)
    yield from execute(
        f"{{with}} INSERT INTO group_members ({mcols}) SELECT {mcols} FROM k WHERE true",
        rows=RowSet("k", MEMBER_COLS, MEMBER_TYPES, _rows(members, MEMBER_COLS)),
    )
    ids = [m.user_id for m in members]
    version = yield from q.bump_version(VersionKind.GROUP_MEMBER, group.group_id, ids, VersionState.INSERT)
    yield from bump_many(VersionKind.GROUP_JOIN, ids, group.group_id, VersionState.INSERT)
    yield from _open_conversations(group.group_id, ids, group.create_time)
    return version


def get_groups(group_ids: Sequence[str]) -> Txn[list[GroupRecord]]:
    return (yield from fetch_listed(_GROUP_SELECT, "groups g", "group_id", group_ids, _group))


def count_group_members(group_ids: Sequence[str]) -> Txn[dict[str, int]]:
    rows = yield from fetch(
        "{with} SELECT k.group_id, count(m.user_id) FROM k LEFT JOIN group_members m ON m.group_id = k.group_id "
        "GROUP BY k.group_id",
        rows=key_rows("group_id", list(dict.fromkeys(group_ids))),
    )
    return {r[0]: int(r[1]) for r in rows}


def search_groups(*, offset: int, limit: int, group_id: str = "", name: str = "") -> Txn[tuple[int, list[GroupRecord]]]:
    where: list[str] = []
    args: list[Any] = []
    if group_id:
        args.append(group_id)
        where.append(f"g.group_id = ${len(args)}")
    if name:
        args.append(like_pattern(name))
        where.append(f"lower(g.group_name) LIKE ${len(args)} ESCAPE '\\'")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    order = "ORDER BY g.create_time, g.group_id"
    total, rows = yield from fetch_page(_GROUP_SELECT, "groups g", condition, args, order, limit, offset)
    return total, [_group(r) for r in rows]


def update_group(group_id: str, patch: GroupPatch) -> Txn[VersionLog | None]:
    if patch.changed():
        clause, values = set_clause(patch, 2)
        count = yield from execute(f"UPDATE groups SET {clause} WHERE group_id = $1", group_id, *values)
    else:
        count = len((yield from fetch("SELECT 1 FROM groups WHERE group_id = $1", group_id)))
    if count == 0:
        return None
    return (yield from q.bump_version(VersionKind.GROUP_MEMBER, group_id, [GROUP_CHANGED_MARKER], VersionState.UPDATE))


def dismiss_group(group_id: str, *, delete_members: bool) -> Txn[list[str]]:
    yield from execute("UPDATE groups SET status = $2 WHERE group_id = $1", group_id, int(GroupStatus.DISMISSED))
    if not delete_members:
        yield from q.bump_version(VersionKind.GROUP_MEMBER, group_id, [GROUP_CHANGED_MARKER], VersionState.UPDATE)
        return []
    rows = yield from fetch("DELETE FROM group_members WHERE group_id = $1 RETURNING user_id", group_id)
    removed = sorted(r[0] for r in rows)
    yield from bump_many(VersionKind.GROUP_JOIN, removed, group_id, VersionState.DELETE)
    yield from q.delete_version_log(VersionKind.GROUP_MEMBER, group_id)
    return removed


# -- members ----------------------------------------------------------------------------------------------


def _member_log(group_id: str) -> Txn[VersionLog]:
    """The member log's header as it is (created if missing): what a change of nobody returns."""
    header = yield from q.read_version_log(VersionKind.GROUP_MEMBER, group_id, None)
    if header is None:
        header = yield from q.ensure_version_log(VersionKind.GROUP_MEMBER, group_id, None)
    return header


def add_group_members(group_id: str, members: Sequence[GroupMemberRecord]) -> Txn[tuple[list[str], VersionLog]]:
    mcols = ", ".join(MEMBER_COLS)
    latest = {m.user_id: m for m in members}
    rows = yield from fetch(
        f"{{with}} INSERT INTO group_members ({mcols}) SELECT {mcols} FROM k WHERE true ORDER BY user_id "
        "ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id",
        rows=RowSet("k", MEMBER_COLS, MEMBER_TYPES, _rows([latest[u] for u in sorted(latest)], MEMBER_COLS)),
    )
    added = {r[0] for r in rows}
    ordered = [m.user_id for m in members if m.user_id in added]
    ordered = list(dict.fromkeys(ordered))
    if not ordered:
        return [], (yield from _member_log(group_id))
    version = yield from q.bump_version(VersionKind.GROUP_MEMBER, group_id, ordered, VersionState.INSERT)
    yield from bump_many(VersionKind.GROUP_JOIN, ordered, group_id, VersionState.INSERT)
    yield from _open_conversations(group_id, ordered, max(latest[u].join_time for u in ordered))
    return ordered, version


def remove_group_members(group_id: str, user_ids: Sequence[str]) -> Txn[tuple[list[str], VersionLog]]:
    rows = yield from fetch(
        "{with} DELETE FROM group_members WHERE group_id = $1 AND user_id IN (SELECT user_id FROM k) RETURNING user_id",
        group_id,
        rows=key_rows("user_id", list(dict.fromkeys(user_ids))),
    )
    gone = {r[0] for r in rows}
    removed = [u for u in dict.fromkeys(user_ids) if u in gone]
    if not removed:
        return [], (yield from _member_log(group_id))
    version = yield from q.bump_version(VersionKind.GROUP_MEMBER, group_id, removed, VersionState.DELETE)
    yield from bump_many(VersionKind.GROUP_JOIN, removed, group_id, VersionState.DELETE)
    yield from _freeze_conversations(group_id, removed)
    return removed, version


def get_group_members(group_id: str, user_ids: Sequence[str] | None) -> Txn[list[GroupMemberRecord]]:
    if user_ids is None:
        rows = yield from fetch(
            f"SELECT {_MEMBER_SELECT} FROM group_members m WHERE m.group_id = $1 {_MEMBER_ORDER}", group_id
        )
    else:
        rows = yield from fetch(
            f"{{with}} SELECT {_MEMBER_SELECT} FROM k JOIN group_members m "
            f"ON m.group_id = $1 AND m.user_id = k.user_id {_MEMBER_ORDER}",
            group_id,
            rows=key_rows("user_id", list(dict.fromkeys(user_ids))),
        )
    return [_member(r) for r in rows]


def page_group_members(
    group_id: str, *, offset: int, limit: int, keyword: str = ""
) -> Txn[tuple[int, list[GroupMemberRecord]]]:
    condition = "m.group_id = $1"
    args: list[Any] = [group_id]
    if keyword:
        args.append(like_pattern(keyword))
        condition += (
            " AND (lower(m.user_id) LIKE $2 ESCAPE '\\' OR lower(m.nickname) LIKE $2 ESCAPE '\\' "
            "OR (m.nickname = '' AND lower(coalesce(u.nickname, '')) LIKE $2 ESCAPE '\\'))"
        )
    source = "group_members m LEFT JOIN users u ON u.user_id = m.user_id"
    total, rows = yield from fetch_page(
        _MEMBER_SELECT, source, f"WHERE {condition}", args, _MEMBER_ORDER, limit, offset
    )
    return total, [_member(r) for r in rows]


def update_group_member(
    group_id: str, user_id: str, patch: MemberPatch, *, sort_changed: bool = False
) -> Txn[VersionLog | None]:
    if patch.changed():
        clause, values = set_clause(patch, 3)
        count = yield from execute(
            f"UPDATE group_members SET {clause} WHERE group_id = $1 AND user_id = $2", group_id, user_id, *values
        )
    else:
        found = yield from fetch("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2", group_id, user_id)
        count = len(found)
    if count == 0:
        return None
    e_ids = [user_id, SORT_MARKER] if sort_changed else [user_id]
    return (yield from q.bump_version(VersionKind.GROUP_MEMBER, group_id, e_ids, VersionState.UPDATE))


def transfer_group_owner(group_id: str, old_owner: str, new_owner: str, old_owner_role: int) -> Txn[VersionLog]:
    yield from execute(
        "UPDATE group_members SET role_level = $3 WHERE group_id = $1 AND user_id = $2",
        group_id,
        old_owner,
        old_owner_role,
    )
    yield from execute(
        "UPDATE group_members SET role_level = 100, mute_end_time = 0 WHERE group_id = $1 AND user_id = $2",
        group_id,
        new_owner,
    )
    yield from execute("UPDATE groups SET owner_user_id = $2 WHERE group_id = $1", group_id, new_owner)
    return (
        yield from q.bump_version(
            VersionKind.GROUP_MEMBER, group_id, [SORT_MARKER, old_owner, new_owner], VersionState.UPDATE
        )
    )


def get_joined_group_ids(user_id: str, *, min_role: int = 0) -> Txn[list[str]]:
    rows = yield from fetch(
        "SELECT group_id FROM group_members WHERE user_id = $1 AND role_level >= $2 ORDER BY join_time, group_id",
        user_id,
        min_role,
    )
    return [r[0] for r in rows]


# -- requests ---------------------------------------------------------------------------------------------


def save_group_request(request: GroupRequestRecord) -> Txn[None]:
    cols = ", ".join(REQUEST_COLS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in REQUEST_COLS if c not in ("group_id", "user_id"))
    yield from execute(
        f"{{with}} INSERT INTO group_requests ({cols}) SELECT {cols} FROM k WHERE true "
        f"ON CONFLICT (group_id, user_id) DO UPDATE SET {updates}",
        rows=RowSet("k", REQUEST_COLS, REQUEST_TYPES, _rows([request], REQUEST_COLS)),
    )


def get_group_requests(
    *,
    group_ids: Sequence[str] | None = None,
    user_ids: Sequence[str] | None = None,
    handle_results: Sequence[int] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Txn[tuple[int, list[GroupRequestRecord]]]:
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("group_id", group_ids), ("user_id", user_ids), ("handle_result", handle_results)):
        if values is None:
            continue
        if not values:
            return 0, []
        marks = []
        for v in dict.fromkeys(values):
            args.append(v)
            marks.append(f"${len(args)}")
        where.append(f"r.{column} IN ({', '.join(marks)})")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    order = "ORDER BY r.req_time DESC, r.group_id, r.user_id"
    # SQLite has no OFFSET without LIMIT and PostgreSQL no LIMIT -1: "no limit" is a very large one.
    page = NO_LIMIT if limit is None else limit
    total, rows = yield from fetch_page(_REQUEST_SELECT, "group_requests r", condition, args, order, page, offset)
    return total, [_request(r) for r in rows]


def count_pending_group_requests(manager_user_id: str, min_role: int, since_ms: int = 0) -> Txn[int]:
    condition = "m.user_id = $1 AND m.role_level >= $2 AND r.handle_result = 0"
    args: list[Any] = [manager_user_id, min_role]
    if since_ms:
        condition += " AND r.req_time > $3"
        args.append(since_ms)
    rows = yield from fetch(
        f"SELECT count(*) FROM group_requests r JOIN group_members m ON m.group_id = r.group_id WHERE {condition}",
        *args,
    )
    return int(rows[0][0])


def handle_group_request(
    group_id: str, user_id: str, *, handle_result: int, handle_msg: str, handle_user_id: str, now_ms: int
) -> Txn[bool]:
    count = yield from execute(
        "UPDATE group_requests SET handle_result = $3, handle_msg = $4, handle_user_id = $5, handle_time = $6 "
        "WHERE group_id = $1 AND user_id = $2 AND handle_result = 0",
        group_id,
        user_id,
        handle_result,
        handle_msg,
        handle_user_id,
        now_ms,
    )
    return count == 1

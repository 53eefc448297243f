"""Objects, upload sessions, device tokens and client logs as transaction bodies (see openim.storage.sql.txn).

Same rules as openim.storage.messages.queries: portable SQL (SQLite >= 3.38 and PostgreSQL), ``$n``
placeholders, ``{with}`` for multi-row input, record fields equal to columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.storage.objects.records import ClientLogRecord, DeviceTokenRecord, ObjectRecord, UploadRecord
from openim.storage.sql.rows import (
    columns_of,
    fetch_listed,
    fetch_page,
    key_rows,
    like_pattern,
    placeholders,
    upsert_one,
)
from openim.storage.sql.txn import Row, RowSet, Txn, execute, fetch

OBJECT_COLS, _ = columns_of(ObjectRecord)
UPLOAD_COLS, _ = columns_of(UploadRecord)
TOKEN_COLS, _ = columns_of(DeviceTokenRecord)
LOG_COLS, LOG_TYPES = columns_of(ClientLogRecord)
_OBJECT_SELECT = ", ".join(OBJECT_COLS)
_UPLOAD_SELECT = ", ".join(UPLOAD_COLS)
_TOKEN_SELECT = ", ".join(f"t.{c}" for c in TOKEN_COLS)
_LOG_SELECT = ", ".join(f"l.{c}" for c in LOG_COLS)


# -- objects -----------------------------------------------------------------------------------------------


def put_object(obj: ObjectRecord) -> Txn[None]:
    """Insert or replace the name's record (a name re-uploaded points at the new content)."""
    yield from upsert_one("objects", OBJECT_COLS, ("name",), obj)


def get_object(name: str) -> Txn[ObjectRecord | None]:
    rows = yield from fetch(f"SELECT {_OBJECT_SELECT} FROM objects WHERE name = $1", name)
    return ObjectRecord(*rows[0]) if rows else None


def find_object_by_hash(content_hash: str) -> Txn[ObjectRecord | None]:
    rows = yield from fetch(
        f"SELECT {_OBJECT_SELECT} FROM objects WHERE hash = $1 ORDER BY create_time LIMIT 1", content_hash
    )
    return ObjectRecord(*rows[0]) if rows else None


# -- upload sessions ---------------------------------------------------------------------------------------


def save_upload(upload: UploadRecord) -> Txn[None]:
    yield from upsert_one("uploads", UPLOAD_COLS, ("upload_id",), upload)


def get_upload(upload_id: str) -> Txn[UploadRecord | None]:
    rows = yield from fetch(f"SELECT {_UPLOAD_SELECT} FROM uploads WHERE upload_id = $1", upload_id)
    return UploadRecord(*rows[0]) if rows else None


def delete_upload(upload_id: str) -> Txn[bool]:
    return (yield from execute("DELETE FROM uploads WHERE upload_id = $1", upload_id)) > 0


def expired_uploads(now_ms: int, *, limit: int = 100) -> Txn[list[UploadRecord]]:
    rows = yield from fetch(
        f"SELECT {_UPLOAD_SELECT} FROM uploads WHERE expire_time < $1 ORDER BY expire_time LIMIT $2", now_ms, limit
    )
    return [UploadRecord(*r) for r in rows]


# -- device tokens -----------------------------------------------------------------------------------------


def set_device_token(token: DeviceTokenRecord) -> Txn[None]:
    """Upsert the (user, platform) token; the badge survives a token refresh."""
    cols = ", ".join(TOKEN_COLS)
    yield from execute(
        f"INSERT INTO device_tokens ({cols}) VALUES ({placeholders(len(TOKEN_COLS))}) "
        "ON CONFLICT (user_id, platform_id) DO UPDATE SET token = excluded.token, "
        "expire_time = excluded.expire_time, update_time = excluded.update_time",
        *(getattr(token, c) for c in TOKEN_COLS),
    )


def delete_device_token(user_id: str, platform_id: int) -> Txn[bool]:
    n = yield from execute("DELETE FROM device_tokens WHERE user_id = $1 AND platform_id = $2", user_id, platform_id)
    return n > 0


def delete_device_tokens_by_value(tokens: Sequence[str]) -> Txn[int]:
    """Forget tokens a provider reported as no longer registered (FCM UNREGISTERED, APNs 410)."""
    return (
        yield from execute(
            "{with} DELETE FROM device_tokens WHERE token IN (SELECT token FROM k)",
            rows=key_rows("token", list(dict.fromkeys(tokens))),
        )
    )


def get_device_tokens(user_ids: Sequence[str]) -> Txn[list[DeviceTokenRecord]]:
    rows = yield from fetch(
        f"{{with}} SELECT {_TOKEN_SELECT} FROM k JOIN device_tokens t ON t.user_id = k.user_id "
        "ORDER BY t.user_id, t.platform_id",
        rows=key_rows("user_id", list(dict.fromkeys(user_ids))),
    )
    return [DeviceTokenRecord(*r) for r in rows]


def set_badge(user_id: str, badge: int) -> Txn[int]:
    return (yield from execute("UPDATE device_tokens SET badge = $2 WHERE user_id = $1", user_id, badge))


# -- client logs -------------------------------------------------------------------------------------------


def _client_log(row: Row) -> ClientLogRecord:
    return ClientLogRecord(*row)


def insert_client_logs(logs: Sequence[ClientLogRecord]) -> Txn[None]:
    """Insert every record. A log_id stored already (or twice in ``logs``) fails the statement and so the
    transaction: nothing partial is left behind, the caller picks new IDs and tries again."""
    cols = ", ".join(LOG_COLS)
    rows = [tuple(getattr(r, c) for c in LOG_COLS) for r in logs]
    yield from execute(
        f"{{with}} INSERT INTO client_logs ({cols}) SELECT {cols} FROM k WHERE true",
        rows=RowSet("k", LOG_COLS, LOG_TYPES, rows),
    )


def get_client_logs(log_ids: Sequence[str]) -> Txn[list[ClientLogRecord]]:
    return (yield from fetch_listed(_LOG_SELECT, "client_logs l", "log_id", log_ids, _client_log))


def delete_client_logs(log_ids: Sequence[str]) -> Txn[list[str]]:
    """All or none: the IDs that do not exist (nothing deleted then), or [] once every one is deleted."""
    wanted = list(dict.fromkeys(log_ids))
    found = yield from fetch(
        "{with} SELECT l.log_id FROM k JOIN client_logs l ON l.log_id = k.log_id", rows=key_rows("log_id", wanted)
    )
    present = {r[0] for r in found}
    missing = [i for i in wanted if i not in present]
    if missing:
        return missing
    yield from execute(
        "{with} DELETE FROM client_logs WHERE log_id IN (SELECT log_id FROM k)", rows=key_rows("log_id", wanted)
    )
    return []


def search_client_logs(
    *, keyword: str, start_time: int, end_time: int, offset: int, limit: int
) -> Txn[tuple[int, list[ClientLogRecord]]]:
    """(how many match, one page of them newest first): created within [start_time, end_time] (ms, both
    ends included), and when ``keyword`` is set, whose user ID contains it (any case)."""
    where = ["l.create_time >= $1", "l.create_time <= $2"]
    args: list[object] = [start_time, end_time]
    if keyword:
        args.append(like_pattern(keyword))
        where.append(f"lower(l.user_id) LIKE ${len(args)} ESCAPE '\\'")
    total, rows = yield from fetch_page(
        _LOG_SELECT, "client_logs l", f"WHERE {' AND '.join(where)}", args,
        "ORDER BY l.create_time DESC, l.log_id", limit, offset,
    )
    return total, [_client_log(r) for r in rows]

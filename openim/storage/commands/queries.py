"""Command lists as transaction bodies (see openim.storage.sql.txn).

Same rules as openim.storage.messages.queries: portable SQL (SQLite >= 3.38 and PostgreSQL), ``$n``
placeholders, record fields equal to columns.
"""

from __future__ import annotations

from openim.storage.commands.records import UserCommandPatch, UserCommandRecord
from openim.storage.sql.rows import columns_of, placeholders, set_clause
from openim.storage.sql.txn import Txn, execute, fetch

COMMAND_COLS, _ = columns_of(UserCommandRecord)
_SELECT = ", ".join(COMMAND_COLS)
_KEY = "user_id = $1 AND type = $2 AND uuid = $3"
_ORDER = "ORDER BY create_time, type, uuid"


def add_user_command(command: UserCommandRecord) -> Txn[None]:
    """A plain INSERT: an existing (user_id, type, uuid) fails on the primary key (AlreadyExists)."""
    yield from execute(
        f"INSERT INTO user_commands ({_SELECT}) VALUES ({placeholders(len(COMMAND_COLS))})",
        *(getattr(command, c) for c in COMMAND_COLS),
    )


def update_user_command(user_id: str, type_: int, uuid: str, patch: UserCommandPatch) -> Txn[bool]:
    if not patch.changed():
        rows = yield from fetch(f"SELECT 1 FROM user_commands WHERE {_KEY}", user_id, type_, uuid)
        return bool(rows)
    clause, values = set_clause(patch, 4)
    n = yield from execute(f"UPDATE user_commands SET {clause} WHERE {_KEY}", user_id, type_, uuid, *values)
    return n > 0


def delete_user_command(user_id: str, type_: int, uuid: str) -> Txn[bool]:
    return (yield from execute(f"DELETE FROM user_commands WHERE {_KEY}", user_id, type_, uuid)) > 0


def get_user_commands(user_id: str, type_: int | None = None) -> Txn[list[UserCommandRecord]]:
    if type_ is None:
        rows = yield from fetch(f"SELECT {_SELECT} FROM user_commands WHERE user_id = $1 {_ORDER}", user_id)
    else:
        rows = yield from fetch(
            f"SELECT {_SELECT} FROM user_commands WHERE user_id = $1 AND type = $2 {_ORDER}", user_id, type_
        )
    return [UserCommandRecord(*r) for r in rows]

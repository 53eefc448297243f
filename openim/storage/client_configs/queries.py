"""Client configuration as transaction bodies (see openim.storage.sql.txn; portable SQL, ``$n``
placeholders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openim.storage.client_configs.records import ClientConfigRecord
from openim.storage.sql.rows import fetch_page, upsert_one
from openim.storage.sql.txn import Txn, execute, fetch

_COLS = ("user_id", "key", "value")


def get_client_config(user_id: str) -> Txn[dict[str, str]]:
    rows = yield from fetch("SELECT key, value FROM client_configs WHERE user_id = $1 ORDER BY key", user_id)
    return {r[0]: r[1] for r in rows}


def set_client_config(user_id: str, values: Mapping[str, str]) -> Txn[None]:
    for key, value in values.items():
        yield from upsert_one("client_configs", _COLS, ("user_id", "key"), ClientConfigRecord(user_id, key, value))


def delete_client_config(user_id: str, keys: Sequence[str]) -> Txn[int]:
    distinct = list(dict.fromkeys(keys))
    marks = ", ".join(f"${i + 2}" for i in range(len(distinct)))
    sql = f"DELETE FROM client_configs WHERE user_id = $1 AND key IN ({marks})"
    return (yield from execute(sql, user_id, *distinct))


def page_client_config(
    *, user_id: str | None, key: str, offset: int, limit: int
) -> Txn[tuple[int, list[ClientConfigRecord]]]:
    where: list[str] = []
    args: list[Any] = []
    if user_id is not None:
        args.append(user_id)
        where.append(f"c.user_id = ${len(args)}")
    if key:
        args.append(key)
        where.append(f"c.key = ${len(args)}")
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    total, rows = yield from fetch_page(
        "c.user_id, c.key, c.value", "client_configs c", condition, args, "ORDER BY c.user_id, c.key", limit, offset
    )
    return total, [ClientConfigRecord(r[0], r[1], r[2]) for r in rows]

"""Records as rows, and the statement shapes the areas' transaction bodies share.

The records' field names equal their table's column names (openim.storage.schema), so a record converts
to a row with a plain attribute walk and back with ``Record(*row)``; :func:`columns_of` reads a record's
columns and their PostgreSQL types off its dataclass fields; a patch's attributes are its record's, so
:func:`patch_columns` reads the columns an update sets off the patch. The rest are the pieces every area's
queries.py builds statements from: a one-column :class:`RowSet` of keys, the ``SET`` clause of a patch, a
``LIKE`` pattern, one-row upserts, the records of listed keys or of one owner, and a counted page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from openim.storage.messages.records import Patch
from openim.storage.sql.txn import Row, RowSet, Txn, execute, fetch

R = TypeVar("R")

_PG_TYPES = {int: "bigint", str: "text", bool: "boolean", bytes: "bytea"}


def columns_of(record_type: type, pg_types: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], ...]:
    """(names, PostgreSQL types) of a record whose fields are exactly its table's columns."""
    overrides = pg_types or {}
    names = tuple(f.name for f in fields(record_type))
    hints = {f.name: f.type for f in fields(record_type)}
    types = tuple(overrides.get(n) or _PG_TYPES[_hint_type(str(hints[n]))] for n in names)
    return names, types


def _hint_type(hint: str) -> type:
    # Field annotations are strings under ``from __future__ import annotations``.
    return {"int": int, "str": str, "bool": bool, "bytes": bytes}[hint]


def key_rows(name: str, values: Sequence[Any], pg_type: str = "text") -> RowSet:
    return RowSet("k", (name,), (pg_type,), [(v,) for v in values])


def patch_columns(patch: Patch) -> list[tuple[str, object]]:
    """The (column, value) pairs ``patch`` sets, sorted by column: one SQL text per set of columns."""
    return sorted(patch.changed().items(), key=_column)


def _column(pair: tuple[str, object]) -> str:
    return pair[0]


def set_clause(patch: Patch, first: int) -> tuple[str, tuple[object, ...]]:
    """``a = $first, b = $first+1, ...`` for the columns ``patch`` sets, and their values in that order."""
    pairs = patch_columns(patch)
    clause = ", ".join(f"{name} = ${first + i}" for i, (name, _) in enumerate(pairs))
    return clause, tuple(value for _, value in pairs)


def like_pattern(keyword: str) -> str:
    escaped = keyword.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def placeholders(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


def upsert_one(table: str, cols: Sequence[str], keys: Sequence[str], record: Any) -> Txn[None]:
    """Insert ``record`` into ``table``, or overwrite every other column of the row holding its ``keys``."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    yield from execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders(len(cols))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
        *(getattr(record, c) for c in cols),
    )


def fetch_listed(
    select: str, source: str, key_column: str, keys: Sequence[Any], convert: Callable[[Row], R]
) -> Txn[list[R]]:
    """The records of ``source`` (a table and its alias, ``"users u"``) whose ``key_column`` is among
    ``keys``, in the order of ``keys`` (missing ones skipped; ``convert`` makes a record of a row)."""
    alias = source.split()[1]
    rows = yield from fetch(
        f"{{with}} SELECT {select} FROM k JOIN {source} ON {alias}.{key_column} = k.{key_column}",
        rows=key_rows(key_column, list(dict.fromkeys(keys))),
    )
    return _in_order(key_column, keys, [convert(r) for r in rows])


def fetch_owned(
    select: str,
    source: str,
    owner: tuple[str, str],
    key_column: str,
    keys: Sequence[str] | None,
    order: str,
    convert: Callable[[Row], R],
) -> Txn[list[R]]:
    """The records of ``source`` (a table and its alias, ``"friends f"``) that belong to ``owner`` (its column
    and value): all of them in ``order``, or, when ``keys`` are given, those whose ``key_column`` is listed,
    in the order of ``keys`` (missing ones skipped)."""
    alias = source.split()[1]
    owner_column, owner_value = owner
    if keys is None:
        rows = yield from fetch(f"SELECT {select} FROM {source} WHERE {alias}.{owner_column} = $1 {order}", owner_value)
        return [convert(r) for r in rows]
    rows = yield from fetch(
        f"{{with}} SELECT {select} FROM k JOIN {source} "
        f"ON {alias}.{owner_column} = $1 AND {alias}.{key_column} = k.{key_column}",
        owner_value,
        rows=key_rows(key_column, list(dict.fromkeys(keys))),
    )
    return _in_order(key_column, keys, [convert(r) for r in rows])


def _in_order(key_column: str, keys: Sequence[Any], records: list[R]) -> list[R]:
    found = {getattr(r, key_column): r for r in records}
    return [found[k] for k in keys if k in found]


def fetch_page(
    select: str, source: str, condition: str, args: Sequence[Any], order: str, limit: int, offset: int
) -> Txn[tuple[int, list[Row]]]:
    """(how many rows of ``source`` match ``condition``, at most ``limit`` of them from ``offset`` in ``order``);
    ``condition`` is a whole ``WHERE`` clause (or "") over the parameters ``args``."""
    (total,), *_ = yield from fetch(f"SELECT count(*) FROM {source} {condition}", *args)
    if limit <= 0:
        return int(total), []
    n = len(args)
    rows = yield from fetch(
        f"SELECT {select} FROM {source} {condition} {order} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        max(offset, 0),
    )
    return int(total), rows

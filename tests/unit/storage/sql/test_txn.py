"""The sans-I/O transaction protocol and the SQLite statement rendering, without a server."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from openim.storage.sql.sqlite import _numbered, _run_statement, _values
from openim.storage.sql.txn import RowSet, Stmt, Txn, drive, empty_result, execute, fetch


def body() -> Txn[tuple[list[Any], int]]:
    rows = yield from fetch("SELECT $1", 7)
    count = yield from execute("DELETE FROM t WHERE x = $1", rows[0][0])
    return rows, count


def test_drive_sends_each_result_back_and_returns_the_value() -> None:
    seen: list[Stmt] = []

    def run(stmt: Stmt) -> Any:
        seen.append(stmt)
        return [(7,)] if stmt.fetch else 3

    assert drive(body(), run) == ([(7,)], 3)
    assert [(s.sql, s.args, s.fetch) for s in seen] == [
        ("SELECT $1", (7,), True),
        ("DELETE FROM t WHERE x = $1", (7,), False),
    ]


def test_drive_closes_the_body_when_a_statement_fails() -> None:
    closed: list[bool] = []

    def guarded() -> Txn[None]:
        try:
            yield from execute("UPDATE t SET x = 1")
        finally:
            closed.append(True)

    def fail(stmt: Stmt) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        drive(guarded(), fail)
    assert closed == [True]


def test_empty_row_sets_never_reach_the_database() -> None:
    empty = RowSet("k", ("a",), ("text",), [])
    assert empty_result(Stmt("{with} SELECT a FROM k", rows=empty)) == []
    assert empty_result(Stmt("{with} DELETE FROM t", rows=empty, fetch=False)) == 0
    assert empty_result(Stmt("SELECT 1")) is None


def test_sqlite_placeholders_and_values() -> None:
    assert _numbered("a = $1 AND b = $12 OR c = $1") == "a = ?1 AND b = ?12 OR c = ?1"
    assert _values(3, 2, 2) == "(?3, ?4), (?5, ?6)"


def test_sqlite_row_sets_are_chunked_below_the_parameter_limit() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (owner TEXT, n INTEGER, PRIMARY KEY (owner, n))")
    rows = [(i,) for i in range(25)]
    # 1 scalar + 1 column per row with a limit of 8 parameters: 7 rows per statement, 4 statements.
    insert = "{with} INSERT INTO t (owner, n) SELECT $1, n FROM k WHERE true"
    inserted = _run_statement(conn, Stmt(insert, ("me",), RowSet("k", ("n",), ("bigint",), rows), False), 8)
    assert inserted == 25
    select = "{with} SELECT t.n FROM k JOIN t ON t.owner = $1 AND t.n = k.n"
    wanted = RowSet("k", ("n",), ("bigint",), [(3,), (30,), (24,)])
    fetched = _run_statement(conn, Stmt(select, ("me",), wanted), 8)
    assert sorted(fetched) == [(3,), (24,)]  # type: ignore[arg-type]

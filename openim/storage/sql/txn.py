"""Statements and the sans-I/O transaction protocol shared by both adapters.

Every Store operation is written once, in its area's queries.py (openim.storage.messages.queries, ...), as
a *generator* that yields :class:`Stmt` objects and receives each one's result: it never touches a
connection. An adapter drives the generator inside one transaction -- SQLite synchronously in its worker
thread (:func:`drive`), PostgreSQL as an asyncio coroutine on its bridge thread (:func:`drive_async`). So
the SQL and the logic around it exist once, a transaction costs one thread hop (SQLite) or one bridge hop
(PostgreSQL) however many statements it runs, and a whole transaction can be retried by calling its
factory again.

The SQL is the common subset of SQLite >= 3.38 and PostgreSQL: ``INSERT .. ON CONFLICT .. DO UPDATE ..
WHERE``, ``RETURNING``, CTEs. Two things differ and are left to the adapter:

* placeholders: statements use ``$1, $2, ...`` (asyncpg's style); SQLite runs them as ``?1, ?2, ...``;
* multi-row input, two forms:

  - a statement that reads many rows says ``{with}`` where a CTE ``name(columns)`` holding
    :attr:`Stmt.rows` belongs. PostgreSQL builds it from ``unnest()`` of one typed array per column (one
    round trip and one prepared statement, whatever the row count); SQLite from ``json_each()`` of one
    JSON text (one prepared statement too), or from ``VALUES`` lists when a column holds bytes. Scalar
    ``$n`` parameters are never used in a SELECT list (PostgreSQL could not infer their type there):
    per-row values travel in the rows.
  - a statement that writes many rows (:func:`execute_many`) is a single-row ``INSERT .. VALUES ($1, ..,
    $n) [ON CONFLICT ..]`` run for every row: SQLite runs it with ``executemany`` (prepared once, each row
    bound in C); PostgreSQL turns the ``VALUES`` tuple into ``SELECT * FROM unnest($1::t1[], ..)``, one
    statement per batch. One statement may then not touch a row twice, so callers pass unique keys,
    sorted (row locks are taken in that order: two batches cannot deadlock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RowSet:
    """Rows a statement reads as the CTE ``name(columns)``; ``types`` are PostgreSQL element types."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: Sequence[Row]


@dataclass(frozen=True, slots=True)
class Stmt:
    sql: str
    args: tuple[Any, ...] = ()
    rows: RowSet | None = None
    fetch: bool = True  # True: the result is the list of rows; False: the number of rows affected
    many: bool = False  # True: ``sql`` is a one-row write run for every row of ``rows`` (execute_many)


# What a transaction body is: yields statements, is sent their results, returns the operation's value.
Txn = Generator[Stmt, Any, T]
TxnFactory = Callable[[], Txn[T]]


def fetch(sql: str, *args: Any, rows: RowSet | None = None) -> Generator[Stmt, Any, list[Row]]:
    """Run a statement and get its rows (``yield from`` inside a transaction body)."""
    result: list[Row] = yield Stmt(sql, args, rows, True)
    return result


def execute(sql: str, *args: Any, rows: RowSet | None = None) -> Generator[Stmt, Any, int]:
    """Run a statement and get the number of rows it affected."""
    result: int = yield Stmt(sql, args, rows, False)
    return result


def execute_many(sql: str, rows: RowSet) -> Generator[Stmt, Any, int]:
    """Run a one-row ``INSERT .. VALUES ($1, .., $n)`` for every row (``$i`` is ``rows.columns[i-1]``)."""
    result: int = yield Stmt(sql, (), rows, False, True)
    return result


def empty_result(stmt: Stmt) -> list[Row] | int | None:
    """The result of a multi-row statement with no rows, without asking the database; None otherwise."""
    if stmt.rows is not None and not stmt.rows.rows:
        return [] if stmt.fetch else 0
    return None


def drive(body: Txn[T], run: Callable[[Stmt], Any]) -> T:
    """Run a transaction body to completion with a blocking statement runner."""
    try:
        stmt = next(body)
        while True:
            stmt = body.send(run(stmt))
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        body.close()


async def drive_async(body: Txn[T], run: Callable[[Stmt], Awaitable[Any]]) -> T:
    """Run a transaction body to completion with an awaitable statement runner."""
    try:
        stmt = next(body)
        while True:
            stmt = body.send(await run(stmt))
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        body.close()

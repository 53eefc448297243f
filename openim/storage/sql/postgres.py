"""The cluster Store: PostgreSQL through asyncpg, driven from trio over an asyncio thread.

* asyncpg needs asyncio; the store runs it on one :class:`AsyncioThread` and hands it whole transactions
  (openim.storage.sql.txn.drive_async over a body from an area's queries.py), so a 1,000-message batch is
  one bridge hop and four round trips. Multi-row statements send one typed array per column and
  ``unnest()`` them: the SQL text, and so asyncpg's prepared statement, is the same for every batch size.
* a connection pool (``storage.pool_size``) lets several trio tasks -- and several processes -- write
  concurrently. Gapless seqs then rest on row locks, not on serialisation: see openim.storage.messages.persist.
* concurrent persist_messages calls (the transfer partitions of this process) share one transaction
  (openim.storage.sql.group_commit): under load one bridge hop, four round trips and one WAL flush for
  all of them instead of one set per partition; a lone call commits at once.
* durability is PostgreSQL's: a COMMIT returns after the WAL flush unless the operator turned
  ``synchronous_commit`` off, which :meth:`open` reports as a warning because it breaks invariant 1.
* schema migrations run offline-rendered Alembic SQL in one transaction under an advisory lock, so
  several processes starting at once migrate exactly once (openim.storage.migrate).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import trio

from openim.storage import migrate
from openim.storage.messages.records import MessageToStore, PersistResult
from openim.storage.port import AlreadyExists, StoreUnavailable
from openim.storage.sql.asyncio_thread import AsyncioThread
from openim.storage.sql.group_commit import GroupCommit
from openim.storage.sql.store import SqlStore
from openim.storage.sql.txn import Row, Stmt, T, TxnFactory, drive_async, empty_result

log = logging.getLogger(__name__)

# Deadlocks and serialisation failures are transient by definition: the whole transaction is re-run.
TRANSIENT_ATTEMPTS = 3

_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # A pooled connection left in a broken protocol state by a server restart ("cannot switch to state
    # 15; another operation is in progress"): the pool replaces it; for the caller the store was unavailable.
    asyncpg.InternalClientError,
    OSError,  # includes ConnectionError and TimeoutError
)


@functools.lru_cache(maxsize=512)
def _with_unnest(sql: str, name: str, columns: tuple[str, ...], types: tuple[str, ...], first: int) -> str:
    arrays = ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(types))
    return sql.replace("{with}", f"WITH {name}({', '.join(columns)}) AS (SELECT * FROM unnest({arrays}))")


@functools.lru_cache(maxsize=512)
def _many_as_unnest(sql: str, types: tuple[str, ...]) -> str:
    """A one-row ``INSERT .. VALUES ($1, .., $n)`` as one ``INSERT .. SELECT * FROM unnest(..)``."""
    values = "VALUES (" + ", ".join(f"${i + 1}" for i in range(len(types))) + ")"
    if sql.count(values) != 1:
        raise ValueError(f"not a one-row INSERT .. {values}: {sql}")
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
    return sql.replace(values, f"SELECT * FROM unnest({arrays})")


def _affected(status: str) -> int:
    """Rows affected, from a command tag such as ``INSERT 0 5`` or ``UPDATE 2``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _run_statement(conn: Any, stmt: Stmt) -> list[Row] | int:
    empty = empty_result(stmt)
    if empty is not None:
        return empty
    sql, args = stmt.sql, stmt.args
    rowset = stmt.rows
    if rowset is not None and stmt.many:
        # One statement over column arrays: measured cheaper in sum than asyncpg's executemany (one
        # execution per row on the server) and on par with COPY (docs/architecture.md).
        sql = _many_as_unnest(sql, rowset.types)
        return _affected(await conn.execute(sql, *(list(column) for column in zip(*rowset.rows, strict=True))))
    if rowset is not None:
        sql = _with_unnest(sql, rowset.name, rowset.columns, rowset.types, len(args) + 1)
        args = (*args, *(list(column) for column in zip(*rowset.rows, strict=True)))
    if stmt.fetch:
        return [tuple(record) for record in await conn.fetch(sql, *args)]
    return _affected(await conn.execute(sql, *args))


async def _migrate(conn: Any) -> list[str]:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", migrate.POSTGRES_MIGRATION_LOCK)
        current: str | None = None
        if await conn.fetchval(f"SELECT to_regclass('{migrate.VERSION_TABLE}') IS NOT NULL"):
            current = await conn.fetchval(f"SELECT version_num FROM {migrate.VERSION_TABLE}")
        pending = migrate.pending_revisions(current)
        if pending:
            # Rendering blocks this loop for a moment; it happens once, at startup, before any traffic.
            await conn.execute(migrate.upgrade_sql(current))
        return pending


class PostgresStore(SqlStore):
    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        command_timeout: float = 30.0,
        bridge: AsyncioThread | None = None,
    ) -> None:
        self.dsn = dsn
        self._pool_size = pool_size
        self._command_timeout = command_timeout
        self._own_bridge = bridge is None
        self._bridge = bridge or AsyncioThread("openim-postgres")
        self._pool: Any = None
        self.applied_migrations: list[str] = []
        self._group_commit = GroupCommit(super().persist_messages)

    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        """Concurrent callers (the transfer partitions) share one transaction."""
        if not batch:
            return []
        return await self._group_commit.persist(batch, now_ms)

    # -- life cycle ---------------------------------------------------------------------------------------
    async def open(self) -> None:
        if self._own_bridge:
            self._bridge.start()
        try:
            self.applied_migrations = await self._bridge.run(self._open_async)
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailable(f"cannot open PostgreSQL: {exc}") from exc

    async def _open_async(self) -> list[str]:
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self._pool_size, command_timeout=self._command_timeout
        )
        try:
            async with pool.acquire() as conn:
                applied = await _migrate(conn)
                if await conn.fetchval("SHOW synchronous_commit") == "off":
                    log.warning("synchronous_commit is off: acknowledged messages may be lost in a crash")
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        return applied

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        try:
            if pool is not None:
                with trio.move_on_after(10) as scope:
                    await self._bridge.run(pool.close)
                if scope.cancelled_caught:
                    pool.terminate()
        finally:
            if self._own_bridge:
                await self._bridge.aclose()

    # -- transactions -------------------------------------------------------------------------------------
    async def _write(self, body: TxnFactory[T]) -> T:
        return await self._run(body, write=True)

    async def _read(self, body: TxnFactory[T]) -> T:
        return await self._run(body, write=False)

    async def _run(self, body: TxnFactory[T], *, write: bool) -> T:
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("the store is not open")

        async def transaction() -> T:
            async with pool.acquire() as conn:
                # Reads take one snapshot (e.g. a count and its page agree); writes use READ COMMITTED,
                # with row locks where it matters.
                options: dict[str, Any] = {} if write else {"isolation": "repeatable_read", "readonly": True}
                async with conn.transaction(**options):
                    return await drive_async(body(), lambda stmt: _run_statement(conn, stmt))

        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await self._bridge.run(transaction)
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                if attempt == TRANSIENT_ATTEMPTS:
                    raise StoreUnavailable(f"postgres: {exc}") from exc
            except asyncpg.UniqueViolationError as exc:
                raise AlreadyExists(str(exc)) from exc
            except _DRIVER_ERRORS as exc:
                raise StoreUnavailable(f"postgres: {exc}") from exc
            except trio.ClosedResourceError as exc:  # closed while this call was starting
                raise StoreUnavailable(f"postgres: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

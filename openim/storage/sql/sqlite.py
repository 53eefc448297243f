"""The embedded Store: one SQLite file, driven from worker threads so the trio loop never blocks.

Concurrency model:

* one writer connection; every write transaction runs on it in a worker thread, one at a time (a
  CapacityLimiter of 1). SQLite allows a single writer anyway, and serialising here makes gapless seqs
  trivial: no two persist_messages calls interleave.
* a few reader connections (WAL lets them read while the writer writes); each read transaction sees
  everything committed before it began.
* a whole transaction is one thread hop: the body from an area's queries.py runs synchronously on the
  connection (openim.storage.sql.txn.drive), so a 1,000-message batch costs one hop, not one per statement.

Durability ("acked means durable", docs/architecture.md, invariant 1): WAL with ``synchronous=FULL`` fsyncs the log
at every commit. ``NORMAL`` would survive a process crash but may lose the last commits on power loss,
i.e. lose messages whose sender already got an ack. One fsync per transaction is affordable because the
transfer stage commits batches (group commit), not single messages.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import trio

from openim.storage import migrate
from openim.storage.messages.records import MessageToStore, PersistResult
from openim.storage.port import AlreadyExists, StoreUnavailable
from openim.storage.sql.group_commit import GroupCommit
from openim.storage.sql.read_marks import READ_MARKS_FLUSH_S, ReadMarks
from openim.storage.sql.store import SqlStore
from openim.storage.sql.txn import Row, Stmt, T, TxnFactory, drive, empty_result

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\$(\d+)")
MIN_SQLITE = (3, 38, 0)  # RETURNING, UPSERT .. WHERE, MATERIALIZED CTEs and the ->> JSON operator
_MAX_ROWS_PER_STATEMENT = 1000  # beyond this, longer SQL texts only cost parse time


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """``$n`` (the shared statements' placeholders) as SQLite's equivalent ``?n``."""
    return _PLACEHOLDER.sub(r"?\1", sql)


@functools.lru_cache(maxsize=512)
def _values(first: int, width: int, count: int) -> str:
    """``(?first, ...), (...)``: ``count`` tuples of ``width`` numbered parameters."""
    numbers = iter(range(first, first + width * count))
    return ", ".join("(" + ", ".join(f"?{next(numbers)}" for _ in range(width)) + ")" for _ in range(count))


@functools.lru_cache(maxsize=512)
def _json_rows(name: str, columns: tuple[str, ...], number: int) -> str:
    """The CTE ``name(columns)`` over one JSON array of row arrays bound as ``?number``.

    MATERIALIZED: the planner has no row count for json_each and may otherwise scan the joined table
    (e.g. every message of a conversation) once per CTE row; a materialized CTE is looped over, and the
    other side is searched by its index.
    """
    values = ", ".join(f"value ->> {i}" for i in range(len(columns)))
    return f"WITH {name}({', '.join(columns)}) AS MATERIALIZED (SELECT {values} FROM json_each(?{number}))"


def _run_statement(conn: sqlite3.Connection, stmt: Stmt, max_variables: int) -> list[Row] | int:
    empty = empty_result(stmt)
    if empty is not None:
        return empty
    sql = _numbered(stmt.sql)
    rowset = stmt.rows
    # Counted by total_changes: the module's rowcount is -1 for statements that start with WITH.
    changes_before = conn.total_changes
    if rowset is None:
        cursor = conn.execute(sql, stmt.args)
        return cursor.fetchall() if stmt.fetch else conn.total_changes - changes_before
    if stmt.many:
        conn.executemany(sql, rowset.rows)
        return conn.total_changes - changes_before
    base = len(stmt.args)
    if "bytea" not in rowset.types:
        # One JSON text instead of a parameter per value: the SQL text is the same for every row count,
        # so the module's statement cache prepares it once (a long VALUES list is re-parsed every time,
        # and SQLite's planning of a compound VALUES of hundreds of rows is costly).
        text = sql.replace("{with}", _json_rows(rowset.name, rowset.columns, base + 1))
        cursor = conn.execute(text, (*stmt.args, json.dumps(rowset.rows, separators=(",", ":"))))
        return cursor.fetchall() if stmt.fetch else conn.total_changes - changes_before
    width = len(rowset.columns)
    per_statement = max(1, min(_MAX_ROWS_PER_STATEMENT, (max_variables - base) // width))
    head = f"WITH {rowset.name}({', '.join(rowset.columns)}) AS (VALUES "
    fetched: list[Row] = []
    for start in range(0, len(rowset.rows), per_statement):
        chunk = rowset.rows[start : start + per_statement]
        text = sql.replace("{with}", head + _values(base + 1, width, len(chunk)) + ")")
        cursor = conn.execute(text, (*stmt.args, *itertools.chain.from_iterable(chunk)))
        if stmt.fetch:
            fetched.extend(cursor.fetchall())
    return fetched if stmt.fetch else conn.total_changes - changes_before


def _transaction(conn: sqlite3.Connection, body: TxnFactory[T], write: bool) -> T:
    """Run one transaction body on ``conn`` (in a worker thread)."""
    max_variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    # IMMEDIATE takes the write lock up front: a read-then-write body can never fail half-way with
    # SQLITE_BUSY on lock upgrade.
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        result = drive(body(), lambda stmt: _run_statement(conn, stmt, max_variables))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper():
        return AlreadyExists(str(exc))
    return StoreUnavailable(f"sqlite: {exc}")


# Per connection: pages kept in memory (KiB), and how much of the file is read through a memory map
# instead of one pread per page (the send path's lookups touch index pages all over the file).
CACHE_KIB = 65536
MMAP_BYTES = 1 << 30
# The page size of a NEW database file (an existing file keeps its own: in WAL mode only an offline
# VACUUM can change it, see docs/operations.md). A commit writes every page it dirtied to the log, one
# frame each, and what costs CPU is the frame, not its bytes: a batch of one-to-one messages touches
# the message index, the seq rows and the owners' conversation rows at as many places as it has
# conversations, so fewer, larger pages mean fewer frames. Measured on the send path (docs/performance.md
# section 8): 16 KiB pages cost about a third less CPU per commit than SQLite's default 4 KiB, 1 KiB
# pages twice as much.
PAGE_SIZE = 16384


class SqliteStore(SqlStore):
    def __init__(self, path: Path | str, *, readers: int = 4, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._reader_count = readers
        self._busy_timeout = busy_timeout
        self._writer: sqlite3.Connection | None = None
        self._readers: list[sqlite3.Connection] = []
        self._write_slot = trio.CapacityLimiter(1)
        self._reader_slots = trio.Semaphore(readers)
        self._reader_threads = trio.CapacityLimiter(readers)
        self.applied_migrations: list[str] = []  # what the last open() applied (tests, startup log)
        self._group_commit = GroupCommit(super().persist_messages)
        # Every reader is in this process: senders' read marks are written behind (sql.read_marks).
        self._read_marks = ReadMarks()
        self._flusher = trio.CancelScope()

    async def persist_messages(self, batch: Sequence[MessageToStore], now_ms: int) -> list[PersistResult]:
        """Concurrent callers (the transfer partitions) share one transaction and one fsync."""
        if not batch:
            return []
        return await self._group_commit.persist(batch, now_ms)

    # -- life cycle ---------------------------------------------------------------------------------------
    def _connect(self, *, reader: bool) -> sqlite3.Connection:
        # isolation_level=None: the module's implicit transactions off; _transaction says BEGIN itself.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        if reader:
            conn.execute("PRAGMA query_only=ON")
        return conn

    def _open_blocking(self) -> list[str]:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise sqlite3.NotSupportedError(f"SQLite {sqlite3.sqlite_version} is too old: 3.38 or newer is needed")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = self._connect(reader=False)
        try:
            writer.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before the first write creates the file
            mode = writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (journal mode is {mode})")
            url = sa.engine.URL.create("sqlite", database=str(self.path))
            engine = sa.create_engine(url, poolclass=sa.NullPool)
            try:
                with engine.connect() as connection:
                    applied = migrate.upgrade_online(connection)
                    connection.commit()
            finally:
                engine.dispose()
            readers = [self._connect(reader=True) for _ in range(self._reader_count)]
        except BaseException:
            writer.close()
            raise
        self._writer, self._readers = writer, readers
        return applied

    async def open(self) -> None:
        try:
            self.applied_migrations = await trio.to_thread.run_sync(self._open_blocking, limiter=self._write_slot)
        except (sqlite3.Error, sa.exc.SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
        self._flusher = trio.CancelScope()
        # A system task: the store has no nursery of its own; aclose() cancels it (and a run's end does).
        trio.lowlevel.spawn_system_task(self._flush_read_marks_loop, name=f"read marks of {self.path.name}")

    async def _flush_read_marks_loop(self) -> None:
        with self._flusher:
            while True:
                await trio.sleep(READ_MARKS_FLUSH_S)
                try:
                    await self.flush_read_marks()
                except StoreUnavailable as exc:  # kept pending (restored) and tried again next time
                    log.warning("read_marks.flush_failed: %s", exc.__cause__ or exc)
                except Exception:  # a system task must never raise: it would end the whole process
                    log.exception("read_marks.flush_failed")

    async def aclose(self) -> None:
        self._flusher.cancel()
        if self._writer is not None:
            try:
                await self.flush_read_marks()
            except StoreUnavailable as exc:
                log.warning("read_marks.flush_failed at close: %s", exc.__cause__ or exc)
        writer, self._writer = self._writer, None
        # Wait for in-flight work: the write slot, then every reader slot.
        if writer is not None:
            await trio.to_thread.run_sync(writer.close, limiter=self._write_slot)
        for _ in range(self._reader_count):
            await self._reader_slots.acquire()
        readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        for _ in range(self._reader_count):
            self._reader_slots.release()

    # -- transactions -------------------------------------------------------------------------------------
    async def _write(self, body: TxnFactory[T]) -> T:
        conn = self._writer
        if conn is None:
            raise StoreUnavailable("the store is not open")
        try:
            # Not abandoned on cancellation: a transaction always finishes (commit or rollback) before
            # the connection is used again.
            return await trio.to_thread.run_sync(_transaction, conn, body, True, limiter=self._write_slot)
        except (sqlite3.Error, OSError) as exc:
            raise _translate(exc) from exc

    async def _read(self, body: TxnFactory[T]) -> T:
        async with self._reader_slots:
            if not self._readers:
                raise StoreUnavailable("the store is not open")
            conn = self._readers.pop()
            try:
                return await trio.to_thread.run_sync(_transaction, conn, body, False, limiter=self._reader_threads)
            except (sqlite3.Error, OSError) as exc:
                raise _translate(exc) from exc
            finally:
                self._readers.append(conn)


def online_backup(source: Path, target: Path, *, busy_timeout: float = 10.0) -> None:
    """Copy the database at ``source`` to a new file ``target`` while a server may be writing to it.

    SQLite's backup API copies every page in one step over a read-only connection, i.e. inside one read
    transaction: under WAL that is a snapshot of the last commit before it began (writers go on meanwhile),
    never half a batch. The copy is a plain database (journal mode DELETE), checked before it is kept.
    """
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise sqlite3.DatabaseError(f"the copy failed its integrity check: {result}")
        finally:
            dst.close()
    finally:
        src.close()

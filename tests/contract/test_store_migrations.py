"""Schema migrations on both backends: empty database -> head, reopening is a no-op, and the migrated
schema is exactly openim.storage.schema (Alembic's autogenerate comparison finds nothing)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from openim.storage import migrate
from openim.storage.schema import metadata
from openim.storage.sql.postgres import PostgresStore
from openim.storage.sql.sqlite import PAGE_SIZE, SqliteStore

EXPECTED_TABLES = {table.name for table in metadata.sorted_tables} | {migrate.VERSION_TABLE}


def assert_no_difference(connection: sa.Connection) -> None:
    context = MigrationContext.configure(connection)
    assert context.get_current_revision() == migrate.head_revision()
    assert compare_metadata(context, metadata) == []


async def test_sqlite_upgrades_an_empty_file_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "openim.db"
    first = SqliteStore(path)
    await first.open()
    assert first.applied_migrations == migrate.pending_revisions(None)
    assert first.applied_migrations[-1] == migrate.head_revision()
    await first.aclose()

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) == EXPECTED_TABLES
            assert_no_difference(connection)
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            assert journal == "wal"
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == PAGE_SIZE
    finally:
        engine.dispose()

    again = SqliteStore(path)
    await again.open()
    assert again.applied_migrations == []
    await again.aclose()


async def test_sqlite_file_made_with_another_page_size_keeps_it_and_opens(tmp_path: Path) -> None:
    """A database created before 16 KiB pages (SQLite's default 4 KiB) is opened as it is: in WAL mode
    the page size can only change through an offline VACUUM (docs/operations.md)."""
    path = tmp_path / "openim.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE older (x INTEGER)")
    store = SqliteStore(path)
    await store.open()
    assert store.applied_migrations[-1] == migrate.head_revision()
    await store.aclose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096


async def _postgres_state(dsn: str) -> tuple[set[str], list[Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        versions = [r[0] for r in await conn.fetch(f"SELECT version_num FROM {migrate.VERSION_TABLE}")]
        return tables, versions
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_postgres_upgrades_an_empty_database_and_reopening_is_a_no_op(fresh_postgres_dsn: str) -> None:
    first = PostgresStore(fresh_postgres_dsn, pool_size=2)
    await first.open()
    assert first.applied_migrations == migrate.pending_revisions(None)
    await first.aclose()

    tables, versions = await _postgres_async(_postgres_state(fresh_postgres_dsn))
    assert tables == EXPECTED_TABLES
    assert versions == [migrate.head_revision()]

    again = PostgresStore(fresh_postgres_dsn, pool_size=2)
    await again.open()
    assert again.applied_migrations == []
    await again.aclose()


@pytest.mark.postgres
async def test_postgres_concurrent_first_starts_migrate_once(fresh_postgres_dsn: str) -> None:
    import trio

    stores = [PostgresStore(fresh_postgres_dsn, pool_size=1) for _ in range(3)]
    async with trio.open_nursery() as nursery:
        for store in stores:
            nursery.start_soon(store.open)
    assert sorted(len(s.applied_migrations) for s in stores) == [0, 0, len(migrate.pending_revisions(None))]
    for store in stores:
        await store.aclose()


@pytest.mark.postgres
async def test_postgres_schema_matches_schema_py(fresh_postgres_dsn: str) -> None:
    """Reflection needs a synchronous driver; psycopg is a test-only dependency (skipped without it)."""
    pytest.importorskip("psycopg")
    store = PostgresStore(fresh_postgres_dsn, pool_size=1)
    await store.open()
    await store.aclose()

    import trio

    def compare() -> None:
        engine = sa.create_engine(fresh_postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                assert_no_difference(connection)
        finally:
            engine.dispose()

    await trio.to_thread.run_sync(compare)


def test_rendered_postgres_sql_carries_its_own_version_bookkeeping() -> None:
    sql = migrate.upgrade_sql(None)
    assert "CREATE TABLE alembic_version" in sql
    first, *_ = migrate.pending_revisions(None)
    assert f"INSERT INTO alembic_version (version_num) VALUES ('{first}')" in sql
    assert f"version_num='{migrate.head_revision()}'" in sql or f"VALUES ('{migrate.head_revision()}')" in sql
    assert "BEGIN" not in sql and "COMMIT" not in sql  # the caller's transaction wraps it
    assert migrate.pending_revisions(migrate.head_revision()) == []


async def _postgres_async(work: Any) -> Any:
    """Run an asyncio coroutine (asyncpg) from a trio test."""
    import trio

    return await trio.to_thread.run_sync(asyncio.run, work)


async def _reloptions(dsn: str) -> dict[str, list[str] | None]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('conversation_seqs', 'user_conversations', "
            "'messages')"
        )
        return {r[0]: r[1] for r in rows}
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_postgres_rows_updated_by_every_send_leave_room_for_hot_updates(fresh_postgres_dsn: str) -> None:
    store = PostgresStore(fresh_postgres_dsn, pool_size=1)
    await store.open()
    await store.aclose()
    options = await _postgres_async(_reloptions(fresh_postgres_dsn))
    assert options == {
        "conversation_seqs": ["fillfactor=85"],
        "user_conversations": ["fillfactor=85"],
        "messages": None,  # inserted, then updated at most twice (revoke, read flag): full pages
    }


async def test_sqlite_too_old_for_our_sql_is_refused_at_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openim.storage.sql.sqlite as sqlite_adapter
    from openim.storage.port import StoreUnavailable

    monkeypatch.setattr(sqlite_adapter, "MIN_SQLITE", (99, 0, 0))
    store = SqliteStore(tmp_path / "openim.db")
    with pytest.raises(StoreUnavailable, match="too old"):
        await store.open()
    assert not (tmp_path / "openim.db").exists()  # refused before anything was created


# -- 0009: the per-message read flag, backfilled from the recorded read marks ------------------------------


def _revised_by(revision: str) -> str:
    """The revision ``revision`` follows in the chain (what the database is at just before it)."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


_BEFORE_READ_FLAG = _revised_by("0009")
# A single chat alice<->bob (bob read up to 2, alice up to 4: her own send raised it) and a group whose
# marks are high: only single-chat messages below the *other* participant's mark count as read.
_PRE_0009_ROWS = [
    "INSERT INTO messages (conversation_id, seq, send_id, client_msg_id, session_type, payload) VALUES "
    "('si_alice_bob', 1, 'alice', 'c1', 1, ''), ('si_alice_bob', 2, 'alice', 'c2', 1, ''), "
    "('si_alice_bob', 3, 'alice', 'c3', 1, ''), ('si_alice_bob', 4, 'bob', 'c4', 1, ''), "
    "('sg_g', 1, 'alice', 'c5', 3, '')",
    "INSERT INTO user_conversations (owner_user_id, conversation_id, conversation_type, has_read_seq) VALUES "
    "('alice', 'si_alice_bob', 1, 4), ('bob', 'si_alice_bob', 1, 2), ('bob', 'sg_g', 3, 9)",
]
_READ_FLAGS = "SELECT conversation_id, seq FROM messages WHERE is_read ORDER BY conversation_id, seq"
_EXPECTED_READ = [("si_alice_bob", 1), ("si_alice_bob", 2), ("si_alice_bob", 4)]


def test_sqlite_0009_flags_the_messages_the_peer_had_read(tmp_path: Path) -> None:
    from alembic import command

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'openim.db'}")
    try:
        with engine.begin() as connection:
            config = migrate.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, _BEFORE_READ_FLAG)
            for statement in _PRE_0009_ROWS:
                connection.exec_driver_sql(statement)
            assert "0009" in migrate.upgrade_online(connection)
            assert [tuple(r) for r in connection.exec_driver_sql(_READ_FLAGS)] == _EXPECTED_READ
    finally:
        engine.dispose()


async def _upgrade_postgres_in_two_steps(dsn: str) -> list[tuple[str, int]]:
    import io

    from alembic import command

    output = io.StringIO()
    config = migrate.alembic_config(output)
    config.attributes["dialect_name"] = "postgresql"
    command.upgrade(config, _BEFORE_READ_FLAG, sql=True)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(output.getvalue())
        for statement in _PRE_0009_ROWS:
            await conn.execute(statement.replace("''", "''::bytea"))
        await conn.execute(migrate.upgrade_sql(_BEFORE_READ_FLAG))
        return [tuple(r) for r in await conn.fetch(_READ_FLAGS)]
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_postgres_0009_flags_the_messages_the_peer_had_read(fresh_postgres_dsn: str) -> None:
    assert await _postgres_async(_upgrade_postgres_in_two_steps(fresh_postgres_dsn)) == _EXPECTED_READ

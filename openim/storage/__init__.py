"""Durable storage: the Store port (openim.storage.port), its records, and the two adapters.

One folder per area -- messages/, relations/, groups/, objects/ -- each with the same files: port.py (its
part of the port), records.py (what crosses it), queries.py (its operations as transaction bodies, the SQL
both backends run) and store.py (the SqlStore methods that run them). schema/ holds the tables, migrations/
the Alembic scripts, sql/ the machinery both backends share and the adapters themselves (sqlite.py,
postgres.py).

The domain depends on the port only; :func:`make_store` picks the adapter the config asks for, importing
it lazily so the embedded mode never loads asyncpg and the cluster mode never opens a SQLite file.
"""

from __future__ import annotations

from openim.config import Config
from openim.storage.port import AlreadyExists, Store, StoreError, StoreUnavailable

__all__ = ["AlreadyExists", "Store", "StoreError", "StoreUnavailable", "make_store"]


def make_store(config: Config) -> Store:
    """An unopened Store for ``config.storage`` (call ``await store.open()`` before use)."""
    if config.storage.backend == "postgres":
        from openim.storage.sql.postgres import PostgresStore

        return PostgresStore(config.storage.postgres_dsn, pool_size=config.storage.pool_size)
    from openim.storage.sql.sqlite import SqliteStore

    return SqliteStore(config.sqlite_file)

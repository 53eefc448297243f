"""Durable storage: the Store port (openim.storage.port), its records, and the two adapters.

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
        from openim.storage.postgres import PostgresStore

        return PostgresStore(config.storage.postgres_dsn, pool_size=config.storage.pool_size)
    from openim.storage.sqlite import SqliteStore

    return SqliteStore(config.sqlite_file)

"""make_store picks the adapter the config names, unopened, with the configured location."""

from __future__ import annotations

from pathlib import Path

from openim.config import Config
from openim.storage import make_store
from openim.storage.sql.postgres import PostgresStore
from openim.storage.sql.sqlite import SqliteStore


def test_embedded_default_is_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    store = make_store(Config(data_dir=str(tmp_path / "data")))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "data" / "openim.db"
    assert not store.path.parent.exists()  # nothing touched before open()

    explicit = make_store(Config.model_validate({"storage": {"sqlite_path": str(tmp_path / "x.db")}}))
    assert isinstance(explicit, SqliteStore) and explicit.path == tmp_path / "x.db"


def test_cluster_backend_is_postgres_with_the_configured_pool() -> None:
    config = Config.model_validate(
        {"storage": {"backend": "postgres", "postgres_dsn": "postgresql://db:5432/im", "pool_size": 3}}
    )
    store = make_store(config)
    assert isinstance(store, PostgresStore)
    assert store.dsn == "postgresql://db:5432/im"
    assert store._pool_size == 3

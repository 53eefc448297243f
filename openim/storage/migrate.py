"""Bring a database to the newest schema, programmatically, with the Alembic scripts shipped in the package.

No alembic.ini and no working directory are involved: the script directory is found next to this module
through importlib.resources, which also resolves inside a PyInstaller bundle (whose data files are unpacked
to a real directory; see docs/architecture.md, "Migrations", for the hidden imports and data files the spec needs).

Two ways to run the same scripts:

* SQLite is migrated *online* through a SQLAlchemy connection (the standard library's sqlite3 driver), so
  batch mode can rebuild tables for the ALTERs SQLite lacks.
* PostgreSQL is migrated *offline*: Alembic renders the SQL for "current revision -> head" and the adapter
  runs it through asyncpg in one transaction under an advisory lock. That spares shipping a second,
  synchronous PostgreSQL driver only for migrations, and makes concurrent starts of several processes safe.
  The price: migration scripts may not read the database (see script.py.mako).
"""

from __future__ import annotations

import importlib.resources
import io
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

VERSION_TABLE = "alembic_version"

# Any constant is fine: it only has to be the same in every openim process sharing one database.
POSTGRES_MIGRATION_LOCK = 0x6F70656E696D  # "openim"


def migrations_path() -> Path:
    """The directory holding env.py and versions/, as a real path (Alembic imports the scripts from files)."""
    found = importlib.resources.files("openim.storage") / "migrations"
    if not isinstance(found, Path) or not (found / "env.py").is_file():
        raise RuntimeError(
            f"openim's migration scripts are not on disk at {found}; install the package unzipped "
            "(or, for PyInstaller, collect openim/storage/migrations as data files)"
        )
    return found


def alembic_config(output: io.StringIO | None = None) -> Config:
    """An in-memory Alembic config for our script directory (nothing read from disk but the scripts)."""
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(migrations_path()))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its initial revision
        raise RuntimeError("no migration scripts found")
    return head


def pending_revisions(current: str | None) -> list[str]:
    """Revisions that upgrading from ``current`` (None: an empty database) applies, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    steps = script.iterate_revisions("heads", current or "base")
    return [rev.revision for rev in reversed(list(steps)) if rev.revision != current]


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_online(connection: sa.Connection) -> list[str]:
    """Upgrade through an open SQLAlchemy connection (SQLite); returns the applied revisions, [] if none.

    At head already, nothing at all is executed besides reading the version table, so opening an existing
    database costs one query.
    """
    pending = pending_revisions(current_revision(connection))
    if pending:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return pending


def upgrade_sql(current: str | None, dialect_name: str = "postgresql") -> str:
    """The SQL that takes a database from ``current`` to head, including the version-table bookkeeping.

    It contains no BEGIN/COMMIT: the caller runs it inside its own transaction.
    """
    output = io.StringIO()
    config = alembic_config(output)
    config.attributes["dialect_name"] = dialect_name
    target = f"{current}:head" if current else "head"
    command.upgrade(config, target, sql=True)
    return output.getvalue()

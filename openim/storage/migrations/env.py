"""Alembic environment for openim's schema migrations.

openim never reads an alembic.ini: :mod:`openim.storage.migrate` builds the Alembic config in memory and
hands this script what it needs through ``config.attributes``:

* online (SQLite, and tests): ``connection`` -- an open SQLAlchemy connection to migrate in place;
* offline (PostgreSQL at run time): ``dialect_name`` -- Alembic renders the SQL, which the server then
  runs through asyncpg inside its own transaction (no second, synchronous PostgreSQL driver is shipped).

A developer may still run the Alembic command line against this directory (``alembic -x
url=sqlite:///dev.db ...`` with a scratch alembic.ini that points ``script_location`` here), e.g. to
autogenerate the next revision from openim.storage.schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from openim.storage.schema import metadata

config = context.config


def _run_online(connection: sa.Connection) -> None:
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead, transparently.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    # No BEGIN/COMMIT in the script: the caller wraps it in its own transaction (with an advisory lock).
    context.configure(
        dialect_name=config.attributes.get("dialect_name", "postgresql"),
        target_metadata=metadata,
        literal_binds=True,
        transactional_ddl=False,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run_online(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with -x url=... (or sqlalchemy.url in your alembic.ini)")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            _run_online(connection)
            connection.commit()
    finally:
        engine.dispose()

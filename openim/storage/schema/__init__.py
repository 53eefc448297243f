"""The one SQLAlchemy Core schema both backends share (SQLite embedded, PostgreSQL cluster).

One module per area (messages, relations, groups, objects, client_configs, commands, hooks: the areas
of openim.storage), all on the one ``metadata`` of openim.storage.schema.columns, which importing this
package fills. Migrations (openim/storage/migrations) create exactly these tables; a contract test runs
Alembic's autogenerate comparison against both backends so the two can never drift apart.

Choices that hold for every table:

* Identifiers and free text are unbounded ``VARCHAR``/``TEXT``: OpenIM does not bound them tightly, and a
  length limit here would turn an over-long id into a database error instead of a 1001 from the edge.
* Times are Unix milliseconds and seqs are counters, both ``BIGINT``.
* Every non-key column is NOT NULL with a server default, so adding a column in a later migration never
  needs a data backfill and raw SQL inserts may omit columns; only ``messages.revoke`` is nullable,
  because "not revoked" is a state of its own.
* Constraint and index names come from one naming convention, so Alembic scripts can refer to them on both
  backends without reflection.
"""

from __future__ import annotations

# each adds its tables
from openim.storage.schema import client_configs, commands, groups, hooks, messages, objects, relations  # noqa: F401
from openim.storage.schema.columns import NAMING_CONVENTION, metadata

__all__ = ["NAMING_CONVENTION", "metadata"]

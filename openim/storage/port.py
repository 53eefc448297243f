"""The Store port: everything the domain asks of durable storage, composed of one port per area.

Each area of the package (messages/, relations/, groups/, objects/, client_configs/, commands/, reports/,
hooks/) holds its part of the port (port.py), the records that cross it (records.py), its operations as
transaction bodies (queries.py) and the SqlStore methods that run them (store.py). Two adapters implement the whole
(openim.storage.sql.sqlite for the embedded mode, openim.storage.sql.postgres for the cluster), both over
the one SQLAlchemy Core schema in openim.storage.schema. The domain imports the ports and the records
only; it never imports a driver.

Conventions: every method is async and safe to call from trio; lists keep the caller's order unless a
docstring says otherwise; "missing" ids are skipped silently unless a docstring says otherwise. Failures of
the database itself raise :class:`StoreUnavailable` (the edges turn it into a clear error for the client).
"""

from __future__ import annotations

from typing import Protocol

from openim.storage.client_configs.port import ClientConfigStore
from openim.storage.commands.port import CommandStore
from openim.storage.groups.port import GroupStore
from openim.storage.hooks.port import HookStore
from openim.storage.messages.port import MessageStore
from openim.storage.objects.port import ObjectStore
from openim.storage.relations.port import RelationStore
from openim.storage.reports.port import ReportStore


class StoreError(Exception):
    """Base of the store's own failures."""


class StoreUnavailable(StoreError):
    """The database could not be reached or failed; the cause is in ``__cause__``. Retry later."""


class AlreadyExists(StoreError):
    """An insert hit a unique key (e.g. a user id that is registered already)."""


class Store(
    MessageStore,
    RelationStore,
    GroupStore,
    ObjectStore,
    ClientConfigStore,
    CommandStore,
    ReportStore,
    HookStore,
    Protocol,
):
    """The areas' ports and the store's life cycle."""

    # -- life cycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and bring the schema to the newest migration (in place, idempotent)."""

    async def aclose(self) -> None:
        """Finish in-flight work and close connections."""

    async def ping(self) -> None:
        """Raise StoreUnavailable unless a trivial query succeeds now (used by /readyz)."""

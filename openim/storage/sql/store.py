"""The Store implementation both adapters share; they only supply how a transaction runs.

SqlStore is composed of one mixin per area (messages/, relations/, groups/, objects/, client_configs/,
commands/, reports/, hooks/: their store.py). A subclass implements :meth:`SqlStore._read` and :meth:`SqlStore._write`
(openim.storage.sql.base: run one transaction body of an area's queries.py on a reader or the writer,
mapping driver failures to StoreUnavailable and unique violations to AlreadyExists) plus the life cycle.
Everything else -- the SQL, the retry policy of the send path -- lives in the areas once, so the two
backends cannot disagree on semantics.
"""

from __future__ import annotations

import abc

from openim.storage.client_configs.store import SqlClientConfigStore
from openim.storage.commands.store import SqlCommandStore
from openim.storage.groups.store import SqlGroupStore
from openim.storage.hooks.store import SqlHookStore
from openim.storage.messages.store import SqlMessageStore
from openim.storage.objects.store import SqlObjectStore
from openim.storage.relations.store import SqlRelationStore
from openim.storage.reports.store import SqlReportStore
from openim.storage.sql.txn import Row, Txn, fetch


def _ping() -> Txn[list[Row]]:
    return (yield from fetch("SELECT 1"))


class SqlStore(
    SqlMessageStore,
    SqlRelationStore,
    SqlGroupStore,
    SqlObjectStore,
    SqlClientConfigStore,
    SqlCommandStore,
    SqlReportStore,
    SqlHookStore,
):
    """Implements openim.storage.port.Store over :meth:`_read` / :meth:`_write`."""

    # -- what an adapter provides (and _read / _write, openim.storage.sql.base) --------------------------
    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    async def ping(self) -> None:
        await self._read(_ping)

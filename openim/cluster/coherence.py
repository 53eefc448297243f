"""Cluster-wide invalidation of the read caches of the send path (users, receive options, relation lists,
groups).

Each process caches hot reads of the send path for a few seconds (openim.ttl_cache). A change made
through one process (a blacklist entry, a mute, a new group member) invalidates its own cache at once;
without this module the other processes would keep the old value until it expires, so a user blocked
through node B could still send through node A for seconds, or a member just invited would miss the
pushes fanned out by a push stage elsewhere.

How: the caches that must be coherent are made through the process's ``CacheRegistry`` (openim.assembly
builds it once and passes it to the readers), each under the name of the read it holds
(``users_by_id``), the same in every process of one version. This task sets the registry's invalidation
hook, which queues ``(cache name, key)``; a task sends what is queued in one payload per other live
process (node inbox, kind ``I``), which drops the entries in its cache of that name
(``invalidate_local``, no echo). A cache outside the registry is process-local by design. Delivery is
best effort like every node-addressed message: a lost invalidation costs at most the cache's TTL of
staleness.
"""

from __future__ import annotations

import trio

from openim.bus.port import Bus
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_INVALIDATE, Invalidations
from openim.internode.peers import Peers
from openim.ops.logging import get_log
from openim.ttl_cache import CacheRegistry

__all__ = ["CacheCoherence"]

log = get_log("coherence")

MAX_BATCH = 2000  # entries per payload


class CacheCoherence:
    """The ``cache-coherence`` task of a cluster process (every process, whatever its modules)."""

    name = "cache-coherence"

    def __init__(self, bus: Bus, node_id: str, inbox: NodeInbox, caches: CacheRegistry) -> None:
        self._bus = bus
        self._node_id = node_id
        self._caches = caches
        self._queued: dict[tuple[str, str], None] = {}  # ordered set
        self._wakeup = trio.Event()
        self._peers = Peers(bus, node_id, log)  # every other process
        inbox.register(KIND_INVALIDATE, self._on_invalidations)
        caches.on_invalidate(self._queue)

    @property
    def cache_names(self) -> list[str]:
        """The caches kept coherent: every cache of the registry."""
        return self._caches.names

    # -- queueing (the registry's hook) -----------------------------------------------------------------
    def _queue(self, name: str, key: object) -> None:
        self._queued[(name, str(key))] = None
        self._wakeup.set()

    # -- receiving --------------------------------------------------------------------------------------
    def _on_invalidations(self, body: bytes) -> None:
        for name, key in Invalidations.decode(body).entries:
            cache = self._caches.named(name)
            if cache is not None:  # unknown name: another version's cache; its TTL bounds it there
                cache.invalidate_local(key)

    # -- sending ----------------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
            while self._queued:
                batch = list(self._queued)[:MAX_BATCH]
                for entry in batch:
                    del self._queued[entry]
                await self._peers.publish([Invalidations(tuple(batch)).encode()])

    async def drain(self) -> None:
        return None  # what is queued goes out while the other modules drain; the TTL covers the rest

"""Cluster-wide invalidation of the services' read caches (users, relations, groups, receive options).

Each process caches hot reads of the send path for a few seconds (openim.ttl_cache.TtlCache). A
change made through one process (a blacklist entry, a mute, a new group member) invalidates its own
cache at once; without this module the other processes would keep the old value until it expires, so a
user blocked through node B could still send through node A for seconds, or a member just invited would
miss the pushes fanned out by a push stage elsewhere.

How: every TtlCache found on the watched services gets an ``on_invalidate`` hook that queues
``(cache name, key)``; a task sends what is queued in one payload per other live process (node inbox,
kind ``I``), which drops the entries locally (``invalidate_local``, no echo). Names are
``<ServiceClass>.<attribute>``, the same in every process of one version. Delivery is best effort like
every node-addressed message: a lost invalidation costs at most the cache's TTL of staleness.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import trio

from openim.bus.port import Bus
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_INVALIDATE, Invalidations
from openim.internode.peers import Peers
from openim.ops.logging import get_log
from openim.ttl_cache import TtlCache

__all__ = ["CacheCoherence"]

log = get_log("coherence")

MAX_BATCH = 2000  # entries per payload


def _attributes(obj: object) -> dict[str, object]:
    """An object's instance attributes: its ``__dict__``, or, for a class without one (``__slots__``, or a
    class compiled by mypyc in the binary, whose attributes are descriptors on the type), every slot that
    is set. Properties are not evaluated."""
    try:
        return dict(vars(obj))
    except TypeError:
        pass
    found: dict[str, object] = {}
    for name in dir(obj):
        kind = inspect.getattr_static(type(obj), name, None)
        if isinstance(kind, (types.GetSetDescriptorType, types.MemberDescriptorType)) and not name.startswith("__"):
            try:
                found[name] = getattr(obj, name)
            except AttributeError:  # a slot never assigned
                continue
    return found


class CacheCoherence:
    """The ``cache-coherence`` task of a cluster process (every process, whatever its modules)."""

    name = "cache-coherence"

    def __init__(self, bus: Bus, node_id: str, inbox: NodeInbox) -> None:
        self._bus = bus
        self._node_id = node_id
        self._caches: dict[str, TtlCache[Any, Any]] = {}
        self._queued: dict[tuple[str, str], None] = {}  # ordered set
        self._wakeup = trio.Event()
        self._peers = Peers(bus, node_id, log)  # every other process
        inbox.register(KIND_INVALIDATE, self._on_invalidations)

    # -- wiring -----------------------------------------------------------------------------------------
    def watch(self, *services: object) -> None:
        """Make every TtlCache attribute of these services coherent across the cluster."""
        for service in services:
            for attr, value in _attributes(service).items():
                if isinstance(value, TtlCache):
                    self._track(f"{type(service).__name__}.{attr}", value)

    def _track(self, name: str, cache: TtlCache[Any, Any]) -> None:
        self._caches[name] = cache

        def queue(key: object) -> None:
            self._queued[(name, str(key))] = None
            self._wakeup.set()

        cache.on_invalidate = queue

    @property
    def cache_names(self) -> list[str]:
        return sorted(self._caches)

    # -- receiving --------------------------------------------------------------------------------------
    def _on_invalidations(self, body: bytes) -> None:
        for name, key in Invalidations.decode(body).entries:
            cache = self._caches.get(name)
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

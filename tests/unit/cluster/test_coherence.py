"""CacheCoherence with the registry: what one process invalidates in a named cache is dropped from the
cache of that name in the other processes (an ``I`` payload through their node inbox), and nowhere else."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import NodeInfo
from openim.cluster.coherence import CacheCoherence
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_INVALIDATE
from openim.ttl_cache import CacheRegistry, TtlCache

pytestmark = pytest.mark.trio


class CountingBus(MemoryBus):
    """The memory bus, counting the invalidation payloads published to each node."""

    def __init__(self) -> None:
        super().__init__()
        self.invalidations: dict[str, int] = {}

    async def publish(self, node_id: str, payloads: Sequence[bytes]) -> None:
        for payload in payloads:
            if payload[:1] == KIND_INVALIDATE:
                self.invalidations[node_id] = self.invalidations.get(node_id, 0) + 1
        await super().publish(node_id, payloads)


def process(caches: CacheRegistry) -> tuple[TtlCache[str, int], TtlCache[str, int]]:
    users: TtlCache[str, int] = caches.cache("users_by_id", 60)
    groups: TtlCache[str, int] = caches.cache("groups_by_id", 60)
    for cache in (users, groups):
        cache.put("alice", 1)
        cache.put("bob", 2)
    return users, groups


async def start(nursery: trio.Nursery, bus: MemoryBus, node_id: str, caches: CacheRegistry) -> CacheCoherence:
    """One process's inbox and coherence task, registered as a live node."""
    inbox = NodeInbox(bus, node_id)
    coherence = CacheCoherence(bus, node_id, inbox, caches)
    await nursery.start(inbox.serve)
    await nursery.start(coherence.serve)
    await bus.register_node(NodeInfo(node_id, ("api",)), 30)
    return coherence


async def until_gone(cache: TtlCache[str, int], key: str) -> None:
    with trio.fail_after(5):
        while cache.get(key) is not None:
            await trio.sleep(0.01)


async def test_an_invalidation_reaches_the_cache_of_that_name_in_the_other_process() -> None:
    bus = CountingBus()
    await bus.open()
    n1, n2 = CacheRegistry(), CacheRegistry()
    (n1_users, _), (n2_users, n2_groups) = process(n1), process(n2)
    async with trio.open_nursery() as nursery:
        for node_id, caches in (("n1", n1), ("n2", n2)):
            coherence = await start(nursery, bus, node_id, caches)
            assert coherence.cache_names == ["groups_by_id", "users_by_id"]
        n1_users.invalidate("alice")
        await until_gone(n2_users, "alice")
        await trio.sleep(0.05)  # time for an echo, were there one
        assert n2_users.get("bob") == 2  # only that key
        assert n2_groups.get("alice") == 1  # only that cache
        assert bus.invalidations == {"n2": 1}  # to the other process only, and n2 sent nothing back
        nursery.cancel_scope.cancel()
    await bus.aclose()


async def test_a_name_the_process_does_not_have_is_left_to_its_ttl() -> None:
    """A payload naming a cache this process does not have (another version's) applies the rest."""
    bus = CountingBus()
    await bus.open()
    old, new = CacheRegistry(), CacheRegistry()
    old_users: TtlCache[str, int] = old.cache("users_by_uid", 60)  # the same read, named by another version
    old_groups: TtlCache[str, int] = old.cache("groups_by_id", 60)
    new_users, new_groups = process(new)
    async with trio.open_nursery() as nursery:
        await start(nursery, bus, "old", old)
        await start(nursery, bus, "new", new)
        old_users.invalidate("alice")
        old_groups.invalidate("alice")
        await until_gone(new_groups, "alice")
        assert new_users.get("alice") == 1
        assert bus.invalidations == {"new": 1}  # both entries in one payload
        nursery.cancel_scope.cancel()
    await bus.aclose()

"""Run one consumer per owned queue partition, with a lease so a partition has one owner at a time.

A stage (transfer, push) owns a partition while it holds the lease ``<topic>:<n>``; it renews the lease
every third of its TTL and stops consuming the moment a renewal fails. A partition whose owner died is
taken by another process when the lease expires, and that process continues from the SQL state
(docs/architecture.md, invariant 6). In one process (memory bus) every lease is simply ours.

Balance: the partitions are spread over the live processes running the stage (the node registry says
which). A process holding more than its fair share, ``ceil(partitions / processes)``, hands the excess
back after finishing the batch in hand (it stops taking, then releases the lease), and waits a lease
period before it competes for a free partition again; a process under its share tries every third of a
lease period, so it is the one that picks up what was handed back. A free partition is taken by anyone
eventually, so the partitions of a dead process move even while the registry still lists it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence

import trio

from openim.bus.port import Bus, BusUnavailable, QueueItem
from openim.internode.peers import module_nodes
from openim.ops.logging import get_log

log = get_log("partitions")

LEASE_TTL_S = 10.0
TAKE_TIMEOUT_S = 1.0
RETRY_S = 1.0

BatchHandler = Callable[[int, Sequence[QueueItem]], Awaitable[None]]


class PartitionConsumers:
    def __init__(
        self,
        *,
        bus: Bus,
        topic: str,
        partitions: int,
        owner: str,
        max_items: int,
        handle: BatchHandler,
        lease_ttl_s: float = LEASE_TTL_S,
        module: str = "",
    ) -> None:
        self._bus = bus
        self._lease_ttl = lease_ttl_s
        self._topic = topic
        self._module = module or topic  # the registry module whose processes share the partitions
        self._partitions = partitions
        self._owner = owner
        self._max_items = max_items
        self._handle = handle
        self._stopping = False
        self._acquiring = trio.Lock()  # one acquisition at a time, so the share check is not raced
        self._share = partitions
        self._share_expires = -math.inf
        self._handing_back: set[int] = set()
        self.owned: set[int] = set()

    def stop(self) -> None:
        """Finish the batch in hand and stop taking new ones."""
        self._stopping = True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for partition in range(self._partitions):
                nursery.start_soon(self._own, partition)
            task_status.started()

    async def fair_share(self) -> int:
        """``ceil(partitions / live processes of the module)``, re-read every third of a lease period."""
        now = trio.current_time()
        if now >= self._share_expires:
            self._share_expires = now + self._lease_ttl / 3
            try:
                peers = set(await module_nodes(self._bus, self._module)) | {self._owner}
            except BusUnavailable:
                return self._share  # keep the last known share through a bus outage
            self._share = math.ceil(self._partitions / len(peers))
        return self._share

    async def _try_acquire(self, lease: str) -> bool:
        async with self._acquiring:
            if len(self.owned) >= await self.fair_share():
                return False
            return await self._bus.lease_acquire(lease, self._owner, self._lease_ttl)

    async def _own(self, partition: int) -> None:
        lease = f"{self._topic}:{partition}"
        patience = 0  # failed attempts while at our share
        while not self._stopping:
            try:
                acquired = await self._try_acquire(lease)
                if not acquired and patience >= 3:
                    # At our share for a whole lease period and the partition may still be free (its owner
                    # died and the registry lists it still): take it; balance hands it on later.
                    acquired = await self._bus.lease_acquire(lease, self._owner, self._lease_ttl)
            except BusUnavailable as exc:
                log.warning("lease.unavailable", lease=lease, error=str(exc.__cause__ or exc))
                await trio.sleep(RETRY_S)
                continue
            if not acquired:
                patience += 1
                await trio.sleep(self._lease_ttl / 3)
                continue
            patience = 0
            log.info("partition.owned", topic=self._topic, partition=partition)
            self.owned.add(partition)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._renew, lease, partition, nursery.cancel_scope)
                    await self._consume(partition)
                    nursery.cancel_scope.cancel()
            finally:
                self.owned.discard(partition)
            handed_back = partition in self._handing_back
            if self._stopping or handed_back:
                # A lease we cannot release expires by itself.
                with trio.CancelScope(shield=True), contextlib.suppress(BusUnavailable):
                    await self._bus.lease_release(lease, self._owner)
            if handed_back:
                self._handing_back.discard(partition)
                log.info("partition.handed_back", topic=self._topic, partition=partition)
                await trio.sleep(self._lease_ttl)  # let a process under its share take it

    async def _renew(self, lease: str, partition: int, scope: trio.CancelScope) -> None:
        while True:
            await trio.sleep(self._lease_ttl / 3)
            try:
                still_ours = await self._bus.lease_acquire(lease, self._owner, self._lease_ttl)
            except BusUnavailable:
                still_ours = False
            if not still_ours:
                log.warning("partition.lost", lease=lease)
                scope.cancel()
                return
            share = await self.fair_share()
            if partition in sorted(self.owned)[share:]:
                # More than our share: stop taking (the consumer finishes its batch), then release.
                self._handing_back.add(partition)
                return

    async def _consume(self, partition: int) -> None:
        while not self._stopping and partition not in self._handing_back:
            try:
                items = await self._bus.queue_take(
                    self._topic, partition, self._owner, max_items=self._max_items, timeout_s=TAKE_TIMEOUT_S
                )
            except BusUnavailable as exc:
                log.warning("queue.unavailable", topic=self._topic, error=str(exc.__cause__ or exc))
                await trio.sleep(RETRY_S)
                continue
            if items:
                # A batch in hand is always finished, even when the lease was just lost or the process is
                # shutting down: its senders are waiting for acks, and a second owner working on the same
                # conversation at the same moment is safe (seqs are allocated under SQL row locks, sends
                # are deduplicated).
                with trio.CancelScope(shield=True):
                    await self._handle(partition, items)

"""Run one consumer per owned queue partition, with a lease so a partition has one owner at a time.

A stage (transfer, push) owns a partition while it holds the lease ``<topic>:<n>``; it renews the lease
every third of its TTL and stops consuming the moment a renewal fails. A partition whose owner died is
taken by another process when the lease expires, and that process continues from the SQL state
(DESIGN.md invariant 6). In one process (memory bus) every lease is simply ours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence

import trio

from openim.bus.port import Bus, BusUnavailable, QueueItem
from openim.ops.logging import get_log

log = get_log("partitions")

LEASE_TTL_S = 10.0
TAKE_TIMEOUT_S = 1.0
RETRY_S = 1.0

BatchHandler = Callable[[int, Sequence[QueueItem]], Awaitable[None]]


class PartitionConsumers:
    def __init__(
        self, *, bus: Bus, topic: str, partitions: int, owner: str, max_items: int, handle: BatchHandler
    ) -> None:
        self._bus = bus
        self._topic = topic
        self._partitions = partitions
        self._owner = owner
        self._max_items = max_items
        self._handle = handle
        self._stopping = False
        self.owned: set[int] = set()

    def stop(self) -> None:
        """Finish the batch in hand and stop taking new ones."""
        self._stopping = True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for partition in range(self._partitions):
                nursery.start_soon(self._own, partition)
            task_status.started()

    async def _own(self, partition: int) -> None:
        lease = f"{self._topic}:{partition}"
        while not self._stopping:
            try:
                acquired = await self._bus.lease_acquire(lease, self._owner, LEASE_TTL_S)
            except BusUnavailable as exc:
                log.warning("lease.unavailable", lease=lease, error=str(exc.__cause__ or exc))
                await trio.sleep(RETRY_S)
                continue
            if not acquired:
                await trio.sleep(LEASE_TTL_S / 3)
                continue
            log.info("partition.owned", topic=self._topic, partition=partition)
            self.owned.add(partition)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._renew, lease, nursery.cancel_scope)
                    await self._consume(partition)
                    nursery.cancel_scope.cancel()
            finally:
                self.owned.discard(partition)
            if self._stopping:
                # A lease we cannot release expires by itself.
                with trio.CancelScope(shield=True), contextlib.suppress(BusUnavailable):
                    await self._bus.lease_release(lease, self._owner)

    async def _renew(self, lease: str, scope: trio.CancelScope) -> None:
        while True:
            await trio.sleep(LEASE_TTL_S / 3)
            try:
                still_ours = await self._bus.lease_acquire(lease, self._owner, LEASE_TTL_S)
            except BusUnavailable:
                still_ours = False
            if not still_ours:
                log.warning("partition.lost", lease=lease)
                scope.cancel()
                return

    async def _consume(self, partition: int) -> None:
        while not self._stopping:
            try:
                items = await self._bus.queue_take(
                    self._topic, partition, self._owner, max_items=self._max_items, timeout_s=TAKE_TIMEOUT_S
                )
            except BusUnavailable as exc:
                log.warning("queue.unavailable", topic=self._topic, error=str(exc.__cause__ or exc))
                await trio.sleep(RETRY_S)
                continue
            if items:
                # A batch in hand is finished even during shutdown: its senders are waiting for acks.
                with trio.CancelScope(shield=self._stopping):
                    await self._handle(partition, items)

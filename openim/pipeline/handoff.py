"""The hand-off between two pipeline stages: a port with two adapters, like Store and Bus.

- :class:`MemoryHandoff` (one process): a list per partition. ``put`` appends the objects themselves,
  the consumer takes everything queued (up to ``max_items``) as one batch: nothing is encoded or copied.
  When the consumer falls far behind, ``put`` waits, which stops the connection readers that feed it
  (TCP backpressure) instead of growing memory.
- :class:`BusHandoff` (a cluster): the Bus's partitioned queues (Redis streams), one protobuf per item;
  the items every caller puts in one scheduler tick (the gateway's readers each put one message) go out
  together, one stream entry per partition (:data:`BATCH_MARK` + ItemBatch), in one pipeline; each
  partition is consumed by one process at a time under a lease (openim.pipeline.partitions), and a
  batch is acknowledged once its handler returned, so a consumer that dies mid-batch leaves it to the
  next owner (at least once; the store dedupes).

The stage code sees only :class:`Handoff`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import trio

from openim.bus.port import Bus, BusUnavailable, QueueItem
from openim.ops.logging import get_log
from openim.pipeline.partitions import LEASE_TTL_S, PartitionConsumers
from openim.wire.pb import pipeline_pb2

__all__ = ["BATCH_MARK", "BatchHandler", "BusHandoff", "Handoff", "MemoryHandoff"]

log = get_log("pipeline")

T = TypeVar("T")
BatchHandler = Callable[[int, list[T]], Awaitable[None]]

# A memory hand-off holding this many batches' worth of items makes put() wait.
_BACKLOG_BATCHES = 8

# First byte of a stream entry holding an ItemBatch; no encoded item starts with it (field numbers >= 1).
BATCH_MARK = b"\x00"


class _Tick:
    """The items put during one scheduler tick, per partition, and how their write went."""

    __slots__ = ("done", "errors", "parts")

    def __init__(self) -> None:
        self.parts: dict[int, list[bytes]] = {}
        self.errors: dict[int, Exception] = {}
        self.done = trio.Event()


class Handoff(Protocol[T]):
    @property
    def partitions(self) -> int:
        """How many partitions items are spread over (by conversation)."""

    async def put(self, partition: int, items: Sequence[T]) -> None:
        """Queue ``items`` for the consumer of ``partition``, in order."""

    def put_nowait(self, partition: int, items: Sequence[T]) -> bool:
        """Queue ``items`` now if that needs no waiting and no I/O; False (nothing queued) otherwise."""

    async def consume(
        self, handle: BatchHandler[T], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run ``handle(partition, batch)`` for every batch of every partition this process owns, one
        batch at a time per partition, until cancelled or stopped."""

    def stop(self) -> None:
        """Finish the batches in hand and take no more."""


class MemoryHandoff(Generic[T]):
    """One process: objects by reference, one partition (one consumer task)."""

    def __init__(self, *, max_items: int) -> None:
        self._max = max_items
        self._items: list[T] = []
        self._ready = trio.lowlevel.ParkingLot()  # the consumer waits here for items
        self._room = trio.lowlevel.ParkingLot()  # producers wait here while the backlog is too long
        self._stopping = False

    @property
    def partitions(self) -> int:
        return 1

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, partition: int, items: Sequence[T]) -> None:
        while not self.put_nowait(partition, items):
            await self._room.park()

    def put_nowait(self, partition: int, items: Sequence[T]) -> bool:
        if len(self._items) >= self._max * _BACKLOG_BATCHES and not self._stopping:
            return False
        self._items.extend(items)
        if len(self._ready):
            self._ready.unpark_all()
        return True

    async def consume(
        self, handle: BatchHandler[T], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        while True:
            if not self._items:
                if self._stopping:
                    return  # stopped and drained: everything queued before stop() was handled
                await self._ready.park()
                continue
            if len(self._items) <= self._max:
                batch, self._items = self._items, []
            else:
                batch, self._items = self._items[: self._max], self._items[self._max :]
            if len(self._room):
                self._room.unpark_all()
            # A batch in hand is always finished: its senders wait for their acks.
            with trio.CancelScope(shield=True):
                await handle(0, batch)

    def stop(self) -> None:
        """Take no more than what is queued now: the consumer finishes it, then returns."""
        self._stopping = True
        self._ready.unpark_all()
        self._room.unpark_all()


class BusHandoff(Generic[T]):
    """A cluster: the Bus's queue ``topic``, one protobuf per item, leases per partition."""

    def __init__(
        self,
        *,
        bus: Bus,
        topic: str,
        partitions: int,
        owner: str,
        max_items: int,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self._bus = bus
        self._topic = topic
        self._partitions = partitions
        self._owner = owner
        self._max = max_items
        self._encode = encode
        self._decode = decode
        self._lease_ttl = lease_ttl_s
        self._consumers: PartitionConsumers | None = None
        self._tick: _Tick | None = None  # the items being gathered in this scheduler tick

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def owned(self) -> set[int]:
        return self._consumers.owned if self._consumers is not None else set()

    def put_nowait(self, partition: int, items: Sequence[T]) -> bool:
        return False  # a write to the bus is I/O

    async def put(self, partition: int, items: Sequence[T]) -> None:
        """Queue ``items``; returns once they are on the bus, raises BusUnavailable if they may not be.

        The first caller of a scheduler tick lets the others add theirs, then writes every partition's
        items of the tick as one entry (the bus sends them all in one pipeline); each caller waits for
        its partition's outcome. Items of one partition keep the order of the put calls.
        """
        if not items:
            return
        encode = self._encode
        encoded = [encode(i) for i in items]
        tick = self._tick
        if tick is not None:
            tick.parts.setdefault(partition, []).extend(encoded)
            await tick.done.wait()
        else:
            tick = self._tick = _Tick()
            tick.parts[partition] = encoded
            # Not cancellable: the callers that join this tick rely on this task to write their items.
            await trio.lowlevel.cancel_shielded_checkpoint()
            self._tick = None
            with trio.CancelScope(shield=True):
                await self._write(tick)
        error = tick.errors.get(partition)
        if error is not None:
            raise error

    async def _write(self, tick: _Tick) -> None:
        async def write(partition: int, payloads: list[bytes]) -> None:
            if len(payloads) > 1:
                payloads = [BATCH_MARK + pipeline_pb2.ItemBatch(items=payloads).SerializeToString()]
            try:
                await self._bus.queue_put(self._topic, partition, payloads)
            except Exception as exc:  # BusUnavailable, or a bug: either way its callers must hear of it
                tick.errors[partition] = exc

        try:
            if len(tick.parts) == 1:
                [(partition, payloads)] = tick.parts.items()
                await write(partition, payloads)
            else:
                async with trio.open_nursery() as nursery:
                    for partition, payloads in tick.parts.items():
                        nursery.start_soon(write, partition, payloads)
        finally:
            tick.done.set()

    async def consume(
        self, handle: BatchHandler[T], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        decode = self._decode

        async def handle_items(partition: int, items: Sequence[QueueItem]) -> None:
            batch: list[T] = []
            for item in items:
                payloads: Sequence[bytes] = (item.payload,)
                try:
                    if item.payload[:1] == BATCH_MARK:
                        payloads = pipeline_pb2.ItemBatch.FromString(item.payload[1:]).items
                    for payload in payloads:
                        try:
                            batch.append(decode(payload))
                        except Exception:  # a payload we cannot read would block the partition forever
                            log.error("handoff.bad_item", topic=self._topic, item_id=item.item_id, exc_info=True)
                except Exception:
                    log.error("handoff.bad_batch", topic=self._topic, item_id=item.item_id, exc_info=True)
            try:
                if batch:
                    await handle(partition, batch)
            finally:
                await self._ack(partition, [i.item_id for i in items])

        self._consumers = PartitionConsumers(
            bus=self._bus, topic=self._topic, partitions=self._partitions, owner=self._owner,
            max_items=self._max, handle=handle_items, lease_ttl_s=self._lease_ttl,
        )
        await self._consumers.run(task_status=task_status)

    async def _ack(self, partition: int, item_ids: list[str]) -> None:
        """An ack lost to a short outage only means a redelivery (deduplicated): retry a little."""
        for attempt in range(5):
            try:
                await self._bus.queue_ack(self._topic, partition, item_ids)
                return
            except BusUnavailable as exc:
                log.warning("handoff.ack_retry", topic=self._topic, attempt=attempt, error=str(exc.__cause__ or exc))
                await trio.sleep(0.2 * (attempt + 1))
        log.error("handoff.ack_gave_up", topic=self._topic, count=len(item_ids))

    def stop(self) -> None:
        if self._consumers is not None:
            self._consumers.stop()

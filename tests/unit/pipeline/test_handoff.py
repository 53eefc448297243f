"""The hand-off between stages: MemoryHandoff (one process: batches of the objects themselves, puts that
wait when the consumer falls behind) and BusHandoff (protobuf items on the bus's partitioned queues,
acknowledged after the handler, unreadable items skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing

from openim.bus.memory import MemoryBus
from openim.bus.port import BusUnavailable
from openim.pipeline.handoff import BATCH_MARK, BusHandoff, MemoryHandoff

pytestmark = pytest.mark.trio


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[int, list[Any]]] = []
        self.gate: trio.Event | None = None

    async def handle(self, partition: int, batch: list[Any]) -> None:
        self.batches.append((partition, batch))
        if self.gate is not None:
            await self.gate.wait()

    @property
    def items(self) -> list[Any]:
        return [i for _p, b in self.batches for i in b]


# -- MemoryHandoff ------------------------------------------------------------------------------------------


async def test_memory_hands_over_everything_queued_as_one_batch_of_the_same_objects() -> None:
    handoff: MemoryHandoff[object] = MemoryHandoff(max_items=10)
    things = [object() for _ in range(4)]
    await handoff.put(0, things[:3])
    await handoff.put(0, things[3:])
    assert len(handoff) == 4
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(handoff.consume, rec.handle)
        await settle()
        assert len(rec.batches) == 1
        partition, batch = rec.batches[0]
        assert partition == 0 and all(a is b for a, b in zip(batch, things, strict=True))
        await handoff.put(0, ["late"])  # the consumer was waiting: it wakes for the next item
        await settle()
        assert rec.batches[-1] == (0, ["late"])
        nursery.cancel_scope.cancel()
    assert handoff.partitions == 1


async def test_memory_batches_are_at_most_max_items_in_order() -> None:
    handoff: MemoryHandoff[int] = MemoryHandoff(max_items=3)
    await handoff.put(0, list(range(8)))
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(handoff.consume, rec.handle)
        await settle()
        nursery.cancel_scope.cancel()
    assert [b for _p, b in rec.batches] == [[0, 1, 2], [3, 4, 5], [6, 7]]


async def test_memory_put_waits_while_the_backlog_is_eight_batches_long() -> None:
    handoff: MemoryHandoff[int] = MemoryHandoff(max_items=2)  # room for 16 waiting items
    await handoff.put(0, list(range(16)))
    put_done = trio.Event()

    async def late_put() -> None:
        await handoff.put(0, [16])
        put_done.set()

    rec = Recorder()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(late_put)
        await settle()
        assert not put_done.is_set() and len(handoff) == 16  # the producer (a connection reader) waits
        rec.gate = trio.Event()  # the consumer takes one batch and works on it
        await nursery.start(handoff.consume, rec.handle)
        await settle()
        assert put_done.is_set()  # a batch taken made room
        assert len(handoff) == 15
        rec.gate.set()
        rec.gate = None
        await settle()
        assert rec.items == list(range(17))
        nursery.cancel_scope.cancel()


async def test_memory_batch_in_hand_is_finished_even_when_cancelled() -> None:
    handoff: MemoryHandoff[str] = MemoryHandoff(max_items=5)
    await handoff.put(0, ["a"])
    finished: list[str] = []
    gate = trio.Event()

    async def handle(partition: int, batch: list[str]) -> None:
        await gate.wait()  # e.g. the COMMIT the senders wait for
        finished.extend(batch)

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(handoff.consume, handle)
            await settle()
            scope.cancel()
            with trio.CancelScope(shield=True):
                await settle()
                assert finished == []
                gate.set()
    assert finished == ["a"]


async def test_memory_stop_drains_what_is_queued_then_ends_the_consumer() -> None:
    handoff: MemoryHandoff[int] = MemoryHandoff(max_items=1)
    await handoff.put(0, list(range(8)))
    put_done = trio.Event()

    async def blocked_put() -> None:
        await handoff.put(0, [8])
        put_done.set()

    consumer_done = trio.Event()
    rec = Recorder()

    async def consume() -> None:
        rec.gate = trio.Event()
        await handoff.consume(rec.handle)
        consumer_done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocked_put)
        nursery.start_soon(consume)
        await settle()
        handoff.stop()
        assert rec.gate is not None
        assert not consumer_done.is_set()
        rec.gate.set()  # the batch in hand finishes, then everything queued before and at stop()
        await settle()
        assert consumer_done.is_set() and put_done.is_set()
        assert rec.items == list(range(9))  # their senders get answers: nothing queued is dropped


# -- BusHandoff ----------------------------------------------------------------------------------------------


def bus_handoff(bus: MemoryBus, partitions: int = 2) -> BusHandoff[str]:
    def decode(data: bytes) -> str:
        if data == b"\xff":
            raise ValueError("unreadable")
        return data.decode()

    return BusHandoff(
        bus=bus, topic="t", partitions=partitions, owner="n1", max_items=100, encode=str.encode, decode=decode,
    )


async def test_bus_items_arrive_per_partition_in_order_and_are_acked_after_the_handler() -> None:
    bus = MemoryBus(redeliver_after_s=0.3)  # an unacked item would come back after 0.3 s
    await bus.open()
    handoff = bus_handoff(bus)
    await handoff.put(0, ["a", "b"])
    await handoff.put(1, ["c"])
    await handoff.put(0, [])
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(handoff.consume, rec.handle)
        with trio.fail_after(5):
            while len(rec.items) < 3:
                await trio.sleep(0.01)
        assert handoff.owned == {0, 1}
        await handoff.put(0, ["d"])
        await trio.sleep(0.8)
        handoff.stop()
        nursery.cancel_scope.cancel()
    per_partition = {p: [i for q, b in rec.batches if q == p for i in b] for p in (0, 1)}
    assert per_partition == {0: ["a", "b", "d"], 1: ["c"]}  # nothing redelivered: every batch was acked
    assert handoff.partitions == 2
    await bus.aclose()


async def test_bus_an_unreadable_item_is_skipped_and_acked_with_its_batch() -> None:
    bus = MemoryBus(redeliver_after_s=0.3)
    await bus.open()
    handoff = bus_handoff(bus, partitions=1)
    await bus.queue_put("t", 0, [b"ok-1", b"\xff", b"ok-2"])
    rec = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(handoff.consume, rec.handle)
        await trio.sleep(0.8)
        handoff.stop()
        nursery.cancel_scope.cancel()
    assert rec.batches == [(0, ["ok-1", "ok-2"])]  # once: the bad item does not block the partition
    await bus.aclose()


async def test_bus_puts_of_one_tick_become_one_entry_per_partition_in_call_order() -> None:
    bus = MemoryBus(redeliver_after_s=30)
    await bus.open()
    handoff = bus_handoff(bus, partitions=3)
    async with trio.open_nursery() as nursery:
        for n in range(30):
            nursery.start_soon(handoff.put, n % 3, [f"{n}-a", f"{n}-b"])
    entries = {p: await bus.queue_take("t", p, "c", max_items=100, timeout_s=0.1) for p in range(3)}
    assert {p: len(e) for p, e in entries.items()} == {0: 1, 1: 1, 2: 1}  # one entry per partition
    assert all(e[0].payload[:1] == BATCH_MARK for e in entries.values())
    rec = Recorder()
    for p, e in entries.items():
        await bus.queue_put("t", p, [i.payload for i in e])  # back on the queue, for the consumer
    async with trio.open_nursery() as nursery:
        await nursery.start(handoff.consume, rec.handle)
        with trio.fail_after(5):
            while len(rec.items) < 60:
                await trio.sleep(0.01)
        handoff.stop()
        nursery.cancel_scope.cancel()
    for p in range(3):
        got = [i for q, b in rec.batches if q == p for i in b]
        assert sorted(got) == sorted(f"{n}-{s}" for n in range(p, 30, 3) for s in "ab")
        for n in range(p, 30, 3):
            assert got.index(f"{n}-a") + 1 == got.index(f"{n}-b")  # one put's items stay together, in order
    await bus.aclose()


class FailingPartitionBus(MemoryBus):
    """Refuses queue_put on partition 1 only."""

    async def queue_put(self, topic: str, partition: int, payloads: Sequence[bytes]) -> None:
        if partition == 1:
            raise BusUnavailable("partition 1 is down")
        await super().queue_put(topic, partition, payloads)


async def test_bus_a_failed_write_fails_the_callers_of_that_partition_only() -> None:
    bus = FailingPartitionBus()
    await bus.open()
    handoff = bus_handoff(bus, partitions=2)
    outcomes: dict[str, object] = {}

    async def put(name: str, partition: int) -> None:
        try:
            await handoff.put(partition, [name])
            outcomes[name] = "ok"
        except BusUnavailable as exc:
            outcomes[name] = exc

    async with trio.open_nursery() as nursery:
        for name, partition in (("x", 0), ("y", 1), ("z", 1), ("w", 0)):
            nursery.start_soon(put, name, partition)
    assert outcomes["x"] == outcomes["w"] == "ok"
    assert isinstance(outcomes["y"], BusUnavailable) and isinstance(outcomes["z"], BusUnavailable)
    entries = await bus.queue_take("t", 0, "c", max_items=10, timeout_s=0.1)
    assert len(entries) == 1
    await bus.aclose()

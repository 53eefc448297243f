"""Dense logic of the in-process bus, on trio's virtual clock: drop-oldest push, redelivery timing, close."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from openim.bus.memory import MemoryBus

pytestmark = pytest.mark.trio


async def test_slow_subscriber_loses_the_oldest_and_the_loss_is_counted() -> None:
    bus = MemoryBus(subscriber_buffer=3)
    async with bus.subscribe("gw") as sub:
        await bus.publish("gw", [b"1", b"2"])
        await bus.publish("gw", [b"3", b"4", b"5"])  # the publisher never waits
        assert bus.dropped_payloads == 2
        got = [await sub.__anext__() for _ in range(3)]
    assert got == [b"3", b"4", b"5"]


async def test_publish_to_a_node_nobody_listens_for_is_counted() -> None:
    bus = MemoryBus()
    await bus.publish("gone", [b"x", b"y"])
    assert bus.undeliverable_payloads == 2


async def test_every_subscriber_of_a_node_gets_a_copy() -> None:
    bus = MemoryBus()
    async with bus.subscribe("gw") as one, bus.subscribe("gw") as two:
        await bus.publish("gw", [b"x"])
        assert await one.__anext__() == b"x"
        assert await two.__anext__() == b"x"


async def test_subscription_ends_when_the_bus_closes() -> None:
    bus = MemoryBus()
    seen: list[bytes] = []
    async with bus.subscribe("gw") as sub, trio.open_nursery() as nursery:

        async def drain() -> None:
            async for payload in sub:
                seen.append(payload)

        nursery.start_soon(drain)
        await bus.publish("gw", [b"a"])
        await trio.testing.wait_all_tasks_blocked()
        await bus.aclose()
    assert seen == [b"a"]


async def test_long_bursts_still_yield_to_other_tasks() -> None:
    bus = MemoryBus()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with bus.subscribe("gw") as sub, trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.lowlevel.checkpoint()
        await bus.publish("gw", [b"x"] * 1000)
        before = ticks
        for _ in range(1000):
            await sub.__anext__()
        assert ticks > before  # the consumer checkpointed during the burst
        nursery.cancel_scope.cancel()


async def test_unacked_item_comes_back_exactly_at_the_redelivery_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = MemoryBus(redeliver_after_s=30)
    await bus.queue_put("t", 0, [b"m"])
    (item,) = await bus.queue_take("t", 0, "dead", max_items=10, timeout_s=0)
    start = trio.current_time()

    # A taker already waiting is woken when the item becomes redeliverable, not at its own timeout.
    again = await bus.queue_take("t", 0, "heir", max_items=10, timeout_s=300)
    assert again == [item]
    assert trio.current_time() - start == pytest.approx(30)


async def test_redelivered_items_come_before_new_ones_and_respect_max_items(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bus = MemoryBus(redeliver_after_s=5)
    await bus.queue_put("t", 0, [b"1", b"2", b"3"])
    await bus.queue_take("t", 0, "dead", max_items=2, timeout_s=0)
    await trio.sleep(6)
    await bus.queue_put("t", 0, [b"4"])
    first = await bus.queue_take("t", 0, "heir", max_items=1, timeout_s=0)
    rest = await bus.queue_take("t", 0, "heir", max_items=10, timeout_s=0)
    assert [i.payload for i in first] == [b"1"]
    assert [i.payload for i in rest] == [b"2", b"3", b"4"]


async def test_cancelled_take_loses_nothing(autojump_clock: trio.testing.MockClock) -> None:
    bus = MemoryBus()
    with trio.move_on_after(1):
        await bus.queue_take("t", 0, "c", max_items=10, timeout_s=100)
    await bus.queue_put("t", 0, [b"m"])
    assert [i.payload for i in await bus.queue_take("t", 0, "c", max_items=10, timeout_s=0)] == [b"m"]


async def test_ttls_follow_the_trio_clock(autojump_clock: trio.testing.MockClock) -> None:
    from openim.bus.port import NodeInfo, PresenceEntry

    bus = MemoryBus()
    await bus.presence_add([PresenceEntry("u", "n", 1, "c")], ttl_s=60)
    await bus.register_node(NodeInfo("n", ("gateway",)), ttl_s=60)
    assert await bus.lease_acquire("l", "a", ttl_s=60)
    await trio.sleep(59.9)
    assert await bus.presence_get(["u"])
    assert await bus.list_nodes()
    assert not await bus.lease_acquire("l", "b", ttl_s=60)
    await trio.sleep(0.2)
    assert await bus.presence_get(["u"]) == {}
    assert await bus.list_nodes() == []
    assert await bus.lease_acquire("l", "b", ttl_s=60)

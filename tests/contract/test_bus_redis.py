"""What only the Redis bus can suffer: its connections killed under it, the server unreachable.

Connections are killed with CLIENT KILL ID, and only ours: the bus names each connection
``openim-<node_id>-<role>`` and the node id is random per test.
"""

from __future__ import annotations

import os

import pytest
import trio

from openim.bus.port import BusUnavailable
from openim.bus.redis import RedisBus
from openim.bus.resp import ConnectionBroken, RedisAddress, RespConnection

BUS_REDIS_URL = os.environ.get("OPENIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # as conftest.py

pytestmark = [pytest.mark.trio, pytest.mark.redis]


async def kill_own(bus: RedisBus, role: str) -> int:
    """CLIENT KILL every connection of this bus with the given role; how many were killed."""
    name = f"openim-{bus.node_id}-{role}"
    admin = await RespConnection.connect(RedisAddress.from_url(BUS_REDIS_URL))
    try:
        listing = (await admin.execute("CLIENT", "LIST")).decode()
        ids = []
        for line in listing.splitlines():
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if fields.get("name") == name:
                ids.append(fields["id"])
        for client_id in ids:
            await admin.execute("CLIENT", "KILL", "ID", client_id)
    finally:
        admin.close()
    await trio.sleep(0.05)  # let the server close them before we look
    return len(ids)


async def test_commands_recover_after_their_connections_are_killed(redis_bus: RedisBus) -> None:
    assert await redis_bus.incr("c") == 1
    assert await kill_own(redis_bus, "cmd") >= 1

    # INCR is never retried (it may have been applied), so this passes only because the dead idle
    # connection is noticed before use and replaced.
    assert await redis_bus.incr("c") == 2
    await redis_bus.ping()


async def test_blocked_take_recovers_after_its_connection_is_killed(redis_bus: RedisBus) -> None:
    got: list[bytes] = []

    async def take() -> None:
        items = await redis_bus.queue_take("msg", 0, "c1", max_items=10, timeout_s=4)
        got.extend(i.payload for i in items)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(take)
        await trio.sleep(0.2)
        assert await kill_own(redis_bus, "take") == 1
        await trio.sleep(0.1)
        await redis_bus.queue_put("msg", 0, [b"after-kill"])
    assert got == [b"after-kill"]


async def test_subscription_resubscribes_after_its_connection_is_killed(redis_bus: RedisBus) -> None:
    async with redis_bus.subscribe("gw") as sub:
        await redis_bus.publish("gw", [b"before"])
        with trio.fail_after(2):
            assert await sub.__anext__() == b"before"

        assert await kill_own(redis_bus, "sub") == 1

        # What is published while the subscriber reconnects is lost (push is best effort); keep
        # publishing until one arrives.
        received: list[bytes] = []

        async def listen(cancel: trio.CancelScope) -> None:
            received.append(await sub.__anext__())
            cancel.cancel()

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen, nursery.cancel_scope)
                for i in range(1000):
                    await redis_bus.publish("gw", [b"after-%d" % i])
                    await trio.sleep(0.02)
        assert received and received[0].startswith(b"after-")


async def test_unreachable_redis_is_bus_unavailable_with_cause() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    bus = RedisBus("redis://127.0.0.1:1/0", node_id="nowhere", command_timeout_s=1)
    with pytest.raises(BusUnavailable) as caught:
        await bus.open()
    assert isinstance(caught.value.__cause__, ConnectionBroken)
    assert isinstance(caught.value.__cause__.__cause__, OSError)
    with pytest.raises(BusUnavailable):
        await bus.presence_get(["u1"])
    with pytest.raises(BusUnavailable):
        async with bus.subscribe("gw"):
            pass
    await bus.aclose()


async def own_connections(bus: RedisBus, role: str) -> int:
    """How many connections of this bus with the given role the server holds."""
    name = f"openim-{bus.node_id}-{role}"
    admin = await RespConnection.connect(RedisAddress.from_url(BUS_REDIS_URL))
    try:
        listing = (await admin.execute("CLIENT", "LIST")).decode()
    finally:
        admin.close()
    return sum(1 for line in listing.splitlines() if f" name={name} " in f" {line} ")


async def test_calls_of_one_tick_share_one_round_trip_and_each_gets_its_own_replies(redis_bus: RedisBus) -> None:
    counts: dict[int, int] = {}

    async def sender(n: int) -> None:
        # Sequential puts of one task keep their order; concurrent tasks' calls share the pipeline.
        await redis_bus.queue_put("tick", n % 4, [b"%d-a" % n])
        await redis_bus.queue_put("tick", n % 4, [b"%d-b" % n, b"%d-c" % n])
        counts[n] = await redis_bus.incr(f"k{n % 3}", n)

    async with trio.open_nursery() as nursery:
        for n in range(60):
            nursery.start_soon(sender, n)
    # 60 tasks in the same ticks: a couple of command connections sufficed (the pool would open one per
    # caller in flight, up to its size, 32, if each call were a round trip of its own).
    assert await own_connections(redis_bus, "cmd") <= 3
    for key in range(3):
        assert await redis_bus.get_counter(f"k{key}") == sum(n for n in range(60) if n % 3 == key)
        assert max(counts[n] for n in range(60) if n % 3 == key) == await redis_bus.get_counter(f"k{key}")
    for partition in range(4):
        items = await redis_bus.queue_take("tick", partition, "c", max_items=1000, timeout_s=0.5)
        payloads = [i.payload for i in items]
        assert len(payloads) == 15 * 3
        for n in range(partition, 60, 4):
            a, b, c = (payloads.index(b"%d-%s" % (n, s)) for s in (b"a", b"b", b"c"))
            assert a < b < c


async def test_an_error_reply_in_a_shared_pipeline_fails_only_its_own_caller(redis_bus: RedisBus) -> None:
    await redis_bus.token_state_set("u1", 5, {"t": 1}, 60)
    bad_key = f"{redis_bus._prefix}counter:bad"  # a hash where a counter is expected: WRONGTYPE
    admin = await RespConnection.connect(RedisAddress.from_url(BUS_REDIS_URL))
    try:
        await admin.execute("HSET", bad_key, "f", "v")
    finally:
        admin.close()
    outcomes: dict[str, object] = {}

    async def call(name: str, fn: object) -> None:
        try:
            outcomes[name] = await fn()  # type: ignore[operator]
        except BusUnavailable as exc:
            outcomes[name] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "good", lambda: redis_bus.incr("good"))
        nursery.start_soon(call, "bad", lambda: redis_bus.incr("bad"))
        nursery.start_soon(call, "token", lambda: redis_bus.token_state_get("u1", 5, "t"))
    assert outcomes["good"] == 1
    assert outcomes["token"] == 1
    assert isinstance(outcomes["bad"], BusUnavailable) and "WRONGTYPE" in str(outcomes["bad"])


async def test_callers_sharing_a_pipeline_recover_or_fail_cleanly_when_its_connection_is_killed(
    redis_bus: RedisBus,
) -> None:
    assert await redis_bus.get_counter("x") == 0
    assert await kill_own(redis_bus, "cmd") == 1
    got: dict[str, object] = {}

    async def reader(n: int) -> None:
        got[f"r{n}"] = await redis_bus.get_counter("x")  # safe to repeat: retried on a fresh connection

    async with trio.open_nursery() as nursery:
        for n in range(5):
            nursery.start_soon(reader, n)
    assert got == {f"r{n}": 0 for n in range(5)}

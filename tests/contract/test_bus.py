"""The Bus contract: what the domain may rely on, checked on the memory AND the Redis adapter.

The ``bus`` fixture (tests/contract/conftest.py) runs each test once per adapter. TTLs are short (0.2 s) and
the waits real, because the Redis adapter's expiry is Redis' and the wall clock's, not trio's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from openim.bus.port import Bus, NodeInfo, PresenceEntry

pytestmark = pytest.mark.trio

TTL = 0.2
PAST_TTL = 0.35


def entry(user: str, node: str = "n1", platform: int = 1, conn: str = "c1") -> PresenceEntry:
    return PresenceEntry(user_id=user, node_id=node, platform_id=platform, conn_id=conn)


def as_set(found: dict[str, list[PresenceEntry]]) -> dict[str, set[PresenceEntry]]:
    return {user: set(entries) for user, entries in found.items()}


# -- life cycle --------------------------------------------------------------------------------------------


async def test_ping_answers(bus: Bus) -> None:
    await bus.ping()


# -- presence ------------------------------------------------------------------------------------------------


async def test_presence_add_get_remove(bus: Bus) -> None:
    phone, pc = entry("u1", "n1", 1, "c1"), entry("u1", "n2", 3, "c2")
    other = entry("u2", "n1", 2, "c3")
    await bus.presence_add([phone, pc, other], ttl_s=30)

    assert as_set(await bus.presence_get(["u1", "u2", "nobody"])) == {"u1": {phone, pc}, "u2": {other}}

    await bus.presence_remove([pc, other])
    assert as_set(await bus.presence_get(["u1", "u2"])) == {"u1": {phone}}
    await bus.presence_remove([phone])
    assert await bus.presence_get(["u1"]) == {}


async def test_presence_get_of_a_batch_in_one_call(bus: Bus) -> None:
    entries = [entry(f"user{i}", f"node{i % 3}", 1 + i % 5, f"conn{i}") for i in range(300)]
    await bus.presence_add(entries, ttl_s=30)

    found = await bus.presence_get([f"user{i}" for i in range(0, 400, 2)])

    assert set(found) == {f"user{i}" for i in range(0, 300, 2)}
    assert found["user42"] == [entry("user42", "node0", 3, "conn42")]


async def test_presence_same_connection_added_twice_is_one_entry(bus: Bus) -> None:
    await bus.presence_add([entry("u1")], ttl_s=30)
    await bus.presence_add([entry("u1")], ttl_s=30)
    assert await bus.presence_get(["u1"]) == {"u1": [entry("u1")]}


async def test_presence_expires_without_refresh(bus: Bus) -> None:
    await bus.presence_add([entry("u1", conn="short")], ttl_s=TTL)
    await bus.presence_add([entry("u1", conn="long")], ttl_s=30)
    await trio.sleep(PAST_TTL)
    assert await bus.presence_get(["u1"]) == {"u1": [entry("u1", conn="long")]}


async def test_presence_refresh_extends_ttl(bus: Bus) -> None:
    live, dying = entry("u1", conn="live"), entry("u2", conn="dying")
    await bus.presence_add([live, dying], ttl_s=TTL)
    await trio.sleep(TTL / 2)
    await bus.presence_refresh([live], ttl_s=1.0)
    await trio.sleep(PAST_TTL - TTL / 2)
    assert await bus.presence_get(["u1", "u2"]) == {"u1": [live]}


async def test_presence_shorter_entry_does_not_shorten_a_longer_one(bus: Bus) -> None:
    # Redis keeps one key per user: a later, shorter TTL must not cut the earlier, longer entry's life.
    await bus.presence_add([entry("u1", conn="long")], ttl_s=1.0)
    await bus.presence_add([entry("u1", conn="short")], ttl_s=TTL)
    await trio.sleep(PAST_TTL)
    assert await bus.presence_get(["u1"]) == {"u1": [entry("u1", conn="long")]}


# -- node-addressed messages -------------------------------------------------------------------------------


async def receive(sub: AsyncIterator[bytes], n: int) -> list[bytes]:
    out: list[bytes] = []
    with trio.fail_after(5):
        async for payload in sub:
            out.append(payload)
            if len(out) == n:
                break
    return out


async def test_publish_reaches_only_the_addressed_node_in_order(bus: Bus) -> None:
    async with bus.subscribe("gw-a") as sub_a, bus.subscribe("gw-b") as sub_b:
        await bus.publish("gw-a", [b"a1", b"a2"])
        await bus.publish("gw-b", [b"b1"])
        await bus.publish("gw-a", [b"a3"])
        await bus.publish("gw-nobody", [b"lost"])  # nobody listens: dropped, not an error

        assert await receive(sub_a, 3) == [b"a1", b"a2", b"a3"]
        assert await receive(sub_b, 1) == [b"b1"]
        await bus.publish("gw-b", [b"b2"])
        assert await receive(sub_b, 1) == [b"b2"]


async def test_publish_many_payloads_in_one_call(bus: Bus) -> None:
    payloads = [b"frame-%05d" % i + bytes(i % 50) for i in range(2000)]
    async with bus.subscribe("gw") as sub:
        await bus.publish("gw", payloads)
        assert await receive(sub, len(payloads)) == payloads


async def test_publish_after_unsubscribe_is_not_received(bus: Bus) -> None:
    async with bus.subscribe("gw") as sub:
        await bus.publish("gw", [b"one"])
        assert await receive(sub, 1) == [b"one"]
    await bus.publish("gw", [b"gone"])
    async with bus.subscribe("gw") as sub:
        await bus.publish("gw", [b"two"])
        assert await receive(sub, 1) == [b"two"]


# -- partitioned queues ------------------------------------------------------------------------------------


async def test_queue_put_take_ack_in_order(bus: Bus) -> None:
    await bus.queue_put("msg", 0, [b"m1", b"m2", b"m3", b"m4", b"m5"])

    first = await bus.queue_take("msg", 0, "c1", max_items=3, timeout_s=1)
    assert [i.payload for i in first] == [b"m1", b"m2", b"m3"]
    second = await bus.queue_take("msg", 0, "c1", max_items=10, timeout_s=1)
    assert [i.payload for i in second] == [b"m4", b"m5"]
    assert len({i.item_id for i in first + second}) == 5
    await bus.queue_ack("msg", 0, [i.item_id for i in first + second])

    assert await bus.queue_take("msg", 0, "c1", max_items=10, timeout_s=0) == []


async def test_queue_partitions_and_topics_are_separate(bus: Bus) -> None:
    await bus.queue_put("msg", 0, [b"p0"])
    await bus.queue_put("msg", 1, [b"p1"])
    await bus.queue_put("other", 0, [b"o0"])
    assert [i.payload for i in await bus.queue_take("msg", 1, "c", max_items=10, timeout_s=1)] == [b"p1"]
    assert [i.payload for i in await bus.queue_take("other", 0, "c", max_items=10, timeout_s=1)] == [b"o0"]
    assert [i.payload for i in await bus.queue_take("msg", 0, "c", max_items=10, timeout_s=1)] == [b"p0"]


async def test_queue_take_times_out_empty(bus: Bus) -> None:
    start = trio.current_time()
    assert await bus.queue_take("msg", 0, "c1", max_items=10, timeout_s=0.15) == []
    assert trio.current_time() - start >= 0.14


async def test_queue_take_wakes_when_an_item_arrives(bus: Bus) -> None:
    got: list[bytes] = []

    async def take() -> None:
        items = await bus.queue_take("msg", 3, "c1", max_items=10, timeout_s=5)
        got.extend(i.payload for i in items)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(take)
        await trio.sleep(0.05)
        await bus.queue_put("msg", 3, [b"late"])
    assert got == [b"late"]
    assert trio.current_time() - start < 2


async def test_queue_unacked_items_are_redelivered_to_another_consumer(bus: Bus) -> None:
    await bus.queue_put("msg", 0, [b"m1", b"m2", b"m3"])
    taken = await bus.queue_take("msg", 0, "dead", max_items=2, timeout_s=1)
    assert [i.payload for i in taken] == [b"m1", b"m2"]

    # Not yet idle long enough: the other consumer gets only what nobody took.
    fresh = await bus.queue_take("msg", 0, "heir", max_items=10, timeout_s=0)
    assert [i.payload for i in fresh] == [b"m3"]
    await bus.queue_ack("msg", 0, [i.item_id for i in fresh])

    # "dead" never acks; after the redelivery period its items go to the next consumer that takes.
    again = await bus.queue_take("msg", 0, "heir", max_items=10, timeout_s=2)
    assert sorted(i.payload for i in again) == [b"m1", b"m2"]
    await bus.queue_ack("msg", 0, [i.item_id for i in again])

    await trio.sleep(0.4)
    assert await bus.queue_take("msg", 0, "heir", max_items=10, timeout_s=0) == []


async def test_queue_acked_items_are_not_redelivered(bus: Bus) -> None:
    await bus.queue_put("msg", 0, [b"m1"])
    items = await bus.queue_take("msg", 0, "c1", max_items=10, timeout_s=1)
    await bus.queue_ack("msg", 0, [i.item_id for i in items])
    await trio.sleep(0.4)
    assert await bus.queue_take("msg", 0, "c2", max_items=10, timeout_s=0) == []


# -- counters ----------------------------------------------------------------------------------------------


async def test_counters(bus: Bus) -> None:
    assert await bus.get_counter("seq:x") == 0
    assert await bus.incr("seq:x") == 1
    assert await bus.incr("seq:x", 5) == 6
    assert await bus.incr("seq:x", -2) == 4
    assert await bus.get_counter("seq:x") == 4
    assert await bus.get_counter("seq:y") == 0


# -- token status cache ------------------------------------------------------------------------------------


async def test_token_state_set_get_drop(bus: Bus) -> None:
    await bus.token_state_set("u1", 1, {"tokA": 0, "tokB": 2}, ttl_s=30)
    await bus.token_state_set("u1", 1, {"tokC": 0}, ttl_s=30)  # adds, does not replace
    await bus.token_state_set("u1", 2, {"tokA": 1}, ttl_s=30)

    assert await bus.token_state_get("u1", 1, "tokA") == 0
    assert await bus.token_state_get("u1", 1, "tokB") == 2
    assert await bus.token_state_get("u1", 1, "tokC") == 0
    assert await bus.token_state_get("u1", 1, "unknown") is None
    assert await bus.token_state_get("u1", 2, "tokA") == 1

    await bus.token_state_drop("u1", 1)
    assert await bus.token_state_get("u1", 1, "tokA") is None
    assert await bus.token_state_get("u1", 2, "tokA") == 1


async def test_token_state_expires(bus: Bus) -> None:
    await bus.token_state_set("u1", 1, {"tok": 0}, ttl_s=TTL)
    await trio.sleep(PAST_TTL)
    assert await bus.token_state_get("u1", 1, "tok") is None


# -- node registry -----------------------------------------------------------------------------------------


async def test_node_register_heartbeat_list_unregister(bus: Bus) -> None:
    gw = NodeInfo("gw-1", ("gateway", "push"), {"gateway": "10.0.0.5:10001"}, started_at=1000, connections=3)
    api = NodeInfo("api-1", ("api",), {"api": "10.0.0.6:10002"}, started_at=2000)
    await bus.register_node(gw, ttl_s=30)
    await bus.register_node(api, ttl_s=30)

    nodes = {n.node_id: n for n in await bus.list_nodes()}
    assert set(nodes) == {"gw-1", "api-1"}
    assert nodes["gw-1"].modules == ("gateway", "push")
    assert dict(nodes["gw-1"].addresses) == {"gateway": "10.0.0.5:10001"}
    assert nodes["gw-1"].started_at == 1000
    assert nodes["gw-1"].connections == 3
    first_beat = nodes["gw-1"].heartbeat_at
    assert first_beat > 0

    await trio.sleep(0.01)
    await bus.register_node(NodeInfo("gw-1", ("gateway", "push"), {}, 1000, connections=7), ttl_s=30)
    beat = {n.node_id: n for n in await bus.list_nodes()}["gw-1"]
    assert beat.connections == 7
    assert beat.heartbeat_at >= first_beat

    await bus.unregister_node("api-1")
    assert [n.node_id for n in await bus.list_nodes()] == ["gw-1"]


async def test_node_expires_without_heartbeat(bus: Bus) -> None:
    await bus.register_node(NodeInfo("dying", ("push",)), ttl_s=TTL)
    await bus.register_node(NodeInfo("alive", ("push",)), ttl_s=TTL)
    await trio.sleep(TTL / 2)
    await bus.register_node(NodeInfo("alive", ("push",)), ttl_s=1.0)
    await trio.sleep(PAST_TTL - TTL / 2)
    assert [n.node_id for n in await bus.list_nodes()] == ["alive"]


# -- leases ------------------------------------------------------------------------------------------------


async def test_lease_is_exclusive_and_extended_by_its_owner(bus: Bus) -> None:
    assert await bus.lease_acquire("transfer:0", "node-a", ttl_s=TTL)
    assert not await bus.lease_acquire("transfer:0", "node-b", ttl_s=30)
    assert await bus.lease_acquire("transfer:1", "node-b", ttl_s=30)  # another name, another lease

    await trio.sleep(TTL / 2)
    assert await bus.lease_acquire("transfer:0", "node-a", ttl_s=1.0)  # extend
    await trio.sleep(PAST_TTL - TTL / 2)
    assert not await bus.lease_acquire("transfer:0", "node-b", ttl_s=30)  # still node-a's


async def test_lease_expires(bus: Bus) -> None:
    assert await bus.lease_acquire("transfer:0", "node-a", ttl_s=TTL)
    await trio.sleep(PAST_TTL)
    assert await bus.lease_acquire("transfer:0", "node-b", ttl_s=30)
    assert not await bus.lease_acquire("transfer:0", "node-a", ttl_s=30)


async def test_lease_release_only_by_owner(bus: Bus) -> None:
    assert await bus.lease_acquire("transfer:0", "node-a", ttl_s=30)
    await bus.lease_release("transfer:0", "node-b")  # not the owner: no effect
    assert not await bus.lease_acquire("transfer:0", "node-b", ttl_s=30)
    await bus.lease_release("transfer:0", "node-a")
    assert await bus.lease_acquire("transfer:0", "node-b", ttl_s=30)

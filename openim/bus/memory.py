"""The in-process Bus: every module in one trio process (the embedded mode, no Redis).

Plain dicts and deques owned by one trio thread, so no locks and no encoding: a payload published here is
the very ``bytes`` object the subscriber receives. Expiry uses trio's clock (``trio.current_time()``), which
is monotonic and lets tests run TTLs instantly under ``trio.testing.MockClock``; expired entries are pruned
when read, so there is no sweeper task and nothing sleeps.

Checkpoints: calls that never wait (presence, publish, counters...) return without a checkpoint, because they
sit on the hot path and a scheduler round trip would cost more than the work. The calls that wait
(``queue_take``, iterating a subscription) checkpoint, so a consumer loop cannot starve the others.

Node-addressed messages (``publish``/``subscribe``): each subscription owns a bounded buffer. When a
subscriber falls ``subscriber_buffer`` payloads behind, the OLDEST are dropped and counted
(``dropped_payloads``). Publishers never wait: push is best effort and sync is the guarantee (docs/architecture.md,
invariant 4). Oldest-first because the newest push carries the highest seq, which is what tells a
client it is behind and makes it pull the gap; dropping the newest would hide the loss until the next message.
A deque with a parking lot is used rather than a trio memory channel because it gives drop-oldest for free
and wakes the subscriber once per published batch instead of once per payload.

Queues: at-least-once. An item taken and not acked within ``redeliver_after_s`` goes back to the front of
the line for the next ``queue_take`` by any consumer, the same rule the Redis adapter implements with
XAUTOCLAIM. In one process a consumer is "gone" only when its task died; the idle rule covers that without
the bus having to track tasks.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Final

import trio

from openim.bus.port import NodeInfo, PresenceEntry, QueueItem
from openim.clock import now_ms

_CHECKPOINT_EVERY: Final = 64  # subscription items handed out between forced checkpoints


class _Subscription:
    """One subscriber of one node id: a bounded buffer the publisher fills and the subscriber drains."""

    __slots__ = ("_buffer", "_closed", "_lot", "_owner", "_streak")

    def __init__(self, owner: MemoryBus, size: int) -> None:
        self._buffer: deque[bytes] = deque(maxlen=size)
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._owner = owner
        self._streak = 0

    def push(self, payloads: Sequence[bytes]) -> None:
        buffer = self._buffer
        maxlen = buffer.maxlen or 0
        overflow = len(buffer) + len(payloads) - maxlen
        if overflow > 0:
            self._owner.dropped_payloads += overflow
        buffer.extend(payloads)  # a full deque discards from the left: drop-oldest
        if self._lot:
            self._lot.unpark_all()

    def close(self) -> None:
        self._closed = True
        self._lot.unpark_all()

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> bytes:
        buffer = self._buffer
        if self._closed:
            raise StopAsyncIteration
        if buffer:
            # Hand out a burst without a scheduler round trip per item, but yield now and then.
            self._streak += 1
            if self._streak < _CHECKPOINT_EVERY:
                return buffer.popleft()
            await trio.lowlevel.checkpoint()
        self._streak = 0
        while not buffer:
            if self._closed:
                raise StopAsyncIteration
            await self._lot.park()
        if self._closed:
            raise StopAsyncIteration
        return buffer.popleft()


class _Queue:
    """One topic-partition: items waiting, items taken and not yet acked (oldest take first)."""

    __slots__ = ("lot", "next_id", "pending", "taken")

    def __init__(self) -> None:
        self.pending: deque[QueueItem] = deque()
        # item_id -> (taken_at, item). Insertion order is take order, because a redelivered item is removed
        # and re-inserted; so the first entries are always the oldest and the redelivery scan stops early.
        self.taken: dict[str, tuple[float, QueueItem]] = {}
        self.next_id = 1
        self.lot = trio.lowlevel.ParkingLot()

    def take(self, max_items: int, now: float, redeliver_after: float) -> list[QueueItem]:
        out: list[QueueItem] = []
        taken = self.taken
        if taken:
            limit = now - redeliver_after
            for taken_at, item in taken.values():
                if taken_at > limit or len(out) >= max_items:
                    break
                out.append(item)
            for item in out:
                del taken[item.item_id]
        pending = self.pending
        while pending and len(out) < max_items:
            out.append(pending.popleft())
        for item in out:
            taken[item.item_id] = (now, item)
        return out

    def next_redelivery(self, redeliver_after: float) -> float:
        for taken_at, _ in self.taken.values():
            return taken_at + redeliver_after
        return math.inf


class MemoryBus:
    """The Bus for one process. All state lives in this object and dies with it."""

    def __init__(self, *, redeliver_after_s: float = 30.0, subscriber_buffer: int = 65_536) -> None:
        if subscriber_buffer < 1:
            raise ValueError("subscriber_buffer must be at least 1")
        self._redeliver_after = redeliver_after_s
        self._subscriber_buffer = subscriber_buffer
        # user_id -> {entry: expires_at}. The entry itself is the key, so a read returns stored objects.
        self._presence: dict[str, dict[PresenceEntry, float]] = {}
        self._subscribers: dict[str, list[_Subscription]] = {}
        self._queues: dict[tuple[str, int], _Queue] = {}
        self._counters: dict[str, int] = {}
        self._tokens: dict[tuple[str, int], tuple[dict[str, int], float]] = {}
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._closed = False
        # Observability: payloads a slow subscriber lost, payloads addressed to a node nobody listens for.
        self.dropped_payloads = 0
        self.undeliverable_payloads = 0

    # -- life cycle -------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._closed = False

    async def aclose(self) -> None:
        """Stop every subscription (their iterators end) and wake every waiting taker."""
        self._closed = True
        for subs in self._subscribers.values():
            for sub in subs:
                sub.close()
        self._subscribers.clear()
        for queue in self._queues.values():
            queue.lot.unpark_all()

    async def ping(self) -> None:
        return None

    # -- presence ---------------------------------------------------------------------------------------

    async def presence_add(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        expires = trio.current_time() + ttl_s
        presence = self._presence
        for entry in entries:
            conns = presence.get(entry.user_id)
            if conns is None:
                conns = presence[entry.user_id] = {}
            conns[entry] = expires

    async def presence_refresh(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        # Same as add: the gateway holding a connection is its only writer, so a refresh of an entry that
        # expired in between simply puts it back, which is the truth.
        await self.presence_add(entries, ttl_s)

    async def presence_remove(self, entries: Sequence[PresenceEntry]) -> None:
        presence = self._presence
        for entry in entries:
            conns = presence.get(entry.user_id)
            if conns is not None:
                conns.pop(entry, None)
                if not conns:
                    del presence[entry.user_id]

    async def presence_get(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        now = trio.current_time()
        presence = self._presence
        out: dict[str, list[PresenceEntry]] = {}
        for user_id in user_ids:
            conns = presence.get(user_id)
            if not conns:
                continue
            live = [entry for entry, expires in conns.items() if expires > now]
            if len(live) != len(conns):
                for entry in [e for e, expires in conns.items() if expires <= now]:
                    del conns[entry]
                if not conns:
                    del presence[user_id]
            if live:
                out[user_id] = live
        return out

    # -- node-addressed messages ------------------------------------------------------------------------

    async def publish(self, node_id: str, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        subs = self._subscribers.get(node_id)
        if not subs:
            self.undeliverable_payloads += len(payloads)
            return
        for sub in subs:
            sub.push(payloads)

    @asynccontextmanager
    async def subscribe(self, node_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        if self._closed:
            raise trio.ClosedResourceError("bus closed")
        sub = _Subscription(self, self._subscriber_buffer)
        self._subscribers.setdefault(node_id, []).append(sub)
        try:
            yield sub
        finally:
            sub.close()
            subs = self._subscribers.get(node_id)
            if subs is not None and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subscribers[node_id]

    # -- partitioned queues -----------------------------------------------------------------------------

    def _queue(self, topic: str, partition: int) -> _Queue:
        key = (topic, partition)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
        return queue

    async def queue_put(self, topic: str, partition: int, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        queue = self._queue(topic, partition)
        next_id = queue.next_id
        queue.pending.extend(QueueItem(str(next_id + i), p) for i, p in enumerate(payloads))
        queue.next_id = next_id + len(payloads)
        if queue.lot:
            queue.lot.unpark_all()

    async def queue_take(
        self, topic: str, partition: int, consumer: str, *, max_items: int, timeout_s: float
    ) -> list[QueueItem]:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        queue = self._queue(topic, partition)
        # Checkpoint before taking, never after: a cancellation must not strand items just handed out.
        await trio.lowlevel.checkpoint()
        deadline = trio.current_time() + timeout_s
        while True:
            now = trio.current_time()
            items = queue.take(max_items, now, self._redeliver_after)
            if items or now >= deadline or self._closed:
                return items
            # Wake on a put, at the deadline, or when the oldest unacked item becomes redeliverable.
            with trio.move_on_at(min(deadline, queue.next_redelivery(self._redeliver_after))):
                await queue.lot.park()

    async def queue_ack(self, topic: str, partition: int, item_ids: Sequence[str]) -> None:
        queue = self._queues.get((topic, partition))
        if queue is None:
            return
        taken = queue.taken
        for item_id in item_ids:
            taken.pop(item_id, None)

    # -- counters ---------------------------------------------------------------------------------------

    async def incr(self, key: str, amount: int = 1) -> int:
        value = self._counters.get(key, 0) + amount
        self._counters[key] = value
        return value

    async def get_counter(self, key: str) -> int:
        return self._counters.get(key, 0)

    # -- token status cache -----------------------------------------------------------------------------

    async def token_state_set(self, user_id: str, platform_id: int, states: Mapping[str, int], ttl_s: float) -> None:
        key = (user_id, platform_id)
        now = trio.current_time()
        current = self._tokens.get(key)
        merged = dict(current[0]) if current is not None and current[1] > now else {}
        merged.update(states)
        self._tokens[key] = (merged, now + ttl_s)

    async def token_state_get(self, user_id: str, platform_id: int, token: str) -> int | None:
        key = (user_id, platform_id)
        current = self._tokens.get(key)
        if current is None:
            return None
        if current[1] <= trio.current_time():
            del self._tokens[key]
            return None
        return current[0].get(token)

    async def token_state_drop(self, user_id: str, platform_id: int) -> None:
        self._tokens.pop((user_id, platform_id), None)

    # -- node registry ----------------------------------------------------------------------------------

    async def register_node(self, info: NodeInfo, ttl_s: float) -> None:
        stamped = dataclasses.replace(info, heartbeat_at=now_ms(), addresses=dict(info.addresses))
        self._nodes[info.node_id] = (stamped, trio.current_time() + ttl_s)

    async def unregister_node(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def list_nodes(self) -> list[NodeInfo]:
        now = trio.current_time()
        for node_id in [n for n, (_, expires) in self._nodes.items() if expires <= now]:
            del self._nodes[node_id]
        return [info for _, (info, _) in sorted(self._nodes.items())]

    # -- leases -----------------------------------------------------------------------------------------

    async def lease_acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        now = trio.current_time()
        held = self._leases.get(name)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[name] = (owner, now + ttl_s)
        return True

    async def lease_release(self, name: str, owner: str) -> None:
        held = self._leases.get(name)
        if held is not None and held[0] == owner:
            del self._leases[name]

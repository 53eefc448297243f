"""The partitioned queues of the Redis bus: one stream per topic and partition (``P queue:{topic}:{partition}``),
read through the consumer group ``openim``.

An item is one stream entry with the payload in field ``p``. A take claims first what another consumer took
and never acknowledged for ``redeliver_after_s`` (XAUTOCLAIM, checked every half of that period, not on every
take: it costs a round trip), then reads new entries, without BLOCK first so that under load the read shares
its tick's pipeline, and blocking (on the blocking pool) only when the stream is empty. An acknowledged entry
is deleted: one group per stream, so it is of no further use and the stream holds only what is in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import trio

from openim.bus.port import BusUnavailable, QueueItem
from openim.bus.redis_calls import RedisCalls, hash_fields, text, ttl_ms
from openim.bus.resp import RedisError

_GROUP: Final = "openim"
_FIELD: Final = b"p"


def _entries(raw: Any) -> list[QueueItem]:
    """Stream entries ``[[id, [field, value, ...]], ...]`` as QueueItems (deleted entries arrive as nil)."""
    items: list[QueueItem] = []
    for entry in raw or ():
        if not entry or entry[1] is None:
            continue
        item_id, fields = entry
        payload = b""
        for name, value in hash_fields(fields):
            if name == _FIELD:
                payload = value
                break
        items.append(QueueItem(text(item_id), payload))
    return items


def _read_entries(reply: Any) -> list[QueueItem]:
    """XREADGROUP's reply (nil on timeout; ``[[key, entries]]`` in RESP2, ``{key: entries}`` in RESP3)."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    items: list[QueueItem] = []
    for entries in streams:
        items.extend(_entries(entries))
    return items


class StreamQueues:
    """``queue_put``, ``queue_take`` and ``queue_ack`` of the Bus, over streams."""

    def __init__(self, calls: RedisCalls, *, key_prefix: str, redeliver_after_s: float) -> None:
        self._calls = calls
        self._prefix = f"{key_prefix}queue:"
        self._redeliver_after = redeliver_after_s
        self._groups: set[str] = set()  # stream keys whose consumer group we know exists
        # (stream, consumer) -> trio time of that consumer's next XAUTOCLAIM
        self._next_claim: dict[tuple[str, str], float] = {}

    def _key(self, topic: str, partition: int) -> str:
        return f"{self._prefix}{topic}:{partition}"

    async def put(self, topic: str, partition: int, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        key = self._key(topic, partition)
        await self._calls.run([("XADD", key, "*", _FIELD, payload) for payload in payloads], retry=False)

    async def _ensure_group(self, key: str) -> None:
        if key in self._groups:
            return
        # From id 0: whatever was queued before the first consumer came is still delivered.
        (reply,) = await self._calls.run([("XGROUP", "CREATE", key, _GROUP, "0", "MKSTREAM")], check=False)
        if isinstance(reply, RedisError) and reply.code != "BUSYGROUP":
            raise BusUnavailable(f"cannot create consumer group on {key}: {reply}") from reply
        self._groups.add(key)

    async def take(
        self, topic: str, partition: int, consumer: str, *, max_items: int, timeout_s: float
    ) -> list[QueueItem]:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        key = self._key(topic, partition)
        deadline = trio.current_time() + timeout_s
        claim_every = self._redeliver_after / 2
        first = True
        for _ in range(2):  # a second pass only if the group vanished (FLUSHALL, key deleted)
            await self._ensure_group(key)
            try:
                while True:
                    now = trio.current_time()
                    # Items another consumer took and never acked come first. Checked at the first take of
                    # each consumer and then every half redelivery period, not on every take: it costs a
                    # round trip.
                    if now >= self._next_claim.get((key, consumer), 0.0):
                        self._next_claim[(key, consumer)] = now + claim_every
                        claimed = await self._claim(key, consumer, max_items)
                        if claimed:
                            return claimed
                    if first:
                        # Under load the items are there already: a read without BLOCK shares its round trip
                        # with the other partitions' calls of this tick; only an empty stream blocks.
                        first = False
                        fast = ("XREADGROUP", "GROUP", _GROUP, consumer, "COUNT", max_items, "STREAMS", key, ">")
                        (reply,) = await self._calls.run([fast], check=False)
                        if isinstance(reply, RedisError):
                            raise reply
                        items = _read_entries(reply)
                        if items:
                            return items
                        continue
                    # Block no longer than the next claim check, so a long wait still picks up orphans.
                    wait_s = min(deadline, self._next_claim[(key, consumer)]) - now
                    command: list[Any] = ["XREADGROUP", "GROUP", _GROUP, consumer, "COUNT", max_items]
                    if wait_s > 0:
                        command += ["BLOCK", ttl_ms(wait_s)]
                    command += ["STREAMS", key, ">"]
                    (reply,) = await self._calls.run([command], check=False, blocking_s=max(wait_s, 0.0))
                    if isinstance(reply, RedisError):
                        raise reply
                    items = _read_entries(reply)
                    if items or trio.current_time() >= deadline:
                        return items
            except RedisError as exc:
                if exc.code != "NOGROUP":
                    raise BusUnavailable(f"Redis refused XREADGROUP on {key}: {exc}") from exc
                self._groups.discard(key)
        raise BusUnavailable(f"consumer group on {key} keeps disappearing")

    async def _claim(self, key: str, consumer: str, max_items: int) -> list[QueueItem]:
        idle_ms = ttl_ms(self._redeliver_after)
        (reply,) = await self._calls.run(
            [("XAUTOCLAIM", key, _GROUP, consumer, idle_ms, "0-0", "COUNT", max_items)], check=False
        )
        if isinstance(reply, RedisError):
            raise reply
        items = _entries(reply[1])
        if reply[0] not in (b"0-0", "0-0"):
            # More idle entries remain: check again on the next take instead of waiting a period.
            self._next_claim[(key, consumer)] = 0.0
        return items

    async def ack(self, topic: str, partition: int, item_ids: Sequence[str]) -> None:
        if not item_ids:
            return
        key = self._key(topic, partition)
        # One group per stream, so an acked entry is of no further use: delete it and the stream stays small.
        replies = await self._calls.run([("XACK", key, _GROUP, *item_ids), ("XDEL", key, *item_ids)], check=False)
        if isinstance(replies[0], RedisError) and replies[0].code != "NOGROUP":
            raise BusUnavailable(f"Redis refused XACK on {key}: {replies[0]}") from replies[0]

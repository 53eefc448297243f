"""The Redis Bus: processes on many hosts joined through one Redis (7.0 or later), driven natively from trio.

:class:`RedisBus` holds the key layout below and the parts that are a few commands each (presence, node
channels, counters, the token cache, the node registry, leases); it stands on three modules of one job each:
openim.bus.redis_calls (the pools, one pipeline per call, the calls of one tick sharing a round trip, errors as
:class:`BusUnavailable`), openim.bus.redis_subscription (a node channel's subscriber) and
openim.bus.redis_streams (the partitioned queues).

Key layout (``P`` is ``bus.key_prefix``, ``openim:`` by default; all of it is soft state or in transit):

    P presence:{user_id}          hash  "{node_id}|{platform_id}|{conn_id}" -> expiry (ms since epoch; node ids
                                        must not contain "|", conn ids may);
                                        expired fields pruned on read; the key expires with its last field
    P node:{node_id}              pub/sub channel (not a key): payloads addressed to that process
    P queue:{topic}:{partition}   stream, field "p" = payload; consumer group "openim"; acked entries deleted
    P counter:{key}               string integer (INCRBY / GET)
    P token:{user_id}:{platform}  hash  token -> state, with a TTL
    P nodeinfo:{node_id}          hash  modules, addresses (JSON), started_at, heartbeat_at, connections; TTL
    P nodes:index                 zset  node_id scored by expiry (ms); pruned by list_nodes
    P lease:{name}                string owner id, PX TTL; extended / deleted only by its owner (Lua)
    P hooks, P hooks:delayed, P hooks:dead   the after-callback queue (openim.bus.redis_hooks): data, not
                                        soft state

Expiry times stored inside values (presence fields, the node index) use this host's wall clock, so hosts
need NTP; a skew of a second matters little against TTLs of a minute. Key TTLs use Redis' own clock.
``PEXPIRE ... NX`` / ``GT`` (Redis 7.0) keep a presence key alive as long as its longest-lived field.

Redis Cluster is not supported: a pipeline goes to one server and the Lua scripts touch one key each, so
moving to Cluster means routing pipelines by slot, which this adapter does not do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from openim.bus.port import BusUnavailable, NodeInfo, PresenceEntry, QueueItem
from openim.bus.redis_calls import RedisCalls, hash_fields, text, ttl_ms
from openim.bus.redis_hooks import RedisHookQueue
from openim.bus.redis_streams import StreamQueues
from openim.bus.redis_subscription import Subscription
from openim.bus.resp import Command, ConnectionBroken, RedisAddress, RedisError
from openim.clock import now_ms
from openim.ops.logging import get_log

log = get_log("bus")

# Take the lease when free, or extend it when it is already ours; 1 when the caller holds it afterwards.
_LEASE_ACQUIRE: Final = """
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# Delete the lease only if the caller still holds it (it may have expired and gone to someone else).
_LEASE_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisBus:
    """The Bus over Redis; see the module docstring for the key layout."""

    def __init__(
        self,
        url: str,
        *,
        node_id: str,
        key_prefix: str = "openim:",
        redeliver_after_s: float = 30.0,
        command_timeout_s: float = 5.0,
        pool_size: int = 32,
    ) -> None:
        self._prefix = key_prefix
        self._node_id = node_id
        self._calls = RedisCalls(
            RedisAddress.from_url(url), node_id=node_id, command_timeout_s=command_timeout_s, pool_size=pool_size
        )
        self._queues = StreamQueues(self._calls, key_prefix=key_prefix, redeliver_after_s=redeliver_after_s)
        self._subscriptions: set[Subscription] = set()
        self._scripts = {
            "acquire": (hashlib.sha1(_LEASE_ACQUIRE.encode()).hexdigest(), _LEASE_ACQUIRE),
            "release": (hashlib.sha1(_LEASE_RELEASE.encode()).hexdigest(), _LEASE_RELEASE),
        }

    @property
    def node_id(self) -> str:
        """The process this bus speaks for; its connections are named ``openim-<node_id>-<role>``."""
        return self._node_id

    def hook_queue(self) -> RedisHookQueue:
        """The durable after-callback queue on this bus's connections (openim.bus.redis_hooks)."""
        return RedisHookQueue(self._calls, key_prefix=self._prefix)

    def _k(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    # -- life cycle -------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Check that Redis answers, so a wrong URL fails at start rather than on the first message."""
        await self.ping()

    async def aclose(self) -> None:
        for sub in list(self._subscriptions):
            sub.close()
        self._subscriptions.clear()
        self._calls.close()

    async def ping(self) -> None:
        await self._calls.run([("PING",)])

    # -- presence ---------------------------------------------------------------------------------------

    @staticmethod
    def _presence_field(entry: PresenceEntry) -> str:
        return f"{entry.node_id}|{entry.platform_id}|{entry.conn_id}"

    async def presence_add(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        if not entries:
            return
        ttl = ttl_ms(ttl_s)
        expires = now_ms() + ttl
        fields: dict[str, list[str | int]] = {}
        for entry in entries:
            fields.setdefault(self._k("presence", entry.user_id), []).extend((self._presence_field(entry), expires))
        commands: list[Command] = []
        for key, pairs in fields.items():
            commands.append(("HSET", key, *pairs))
            # NX sets a TTL on a new key, GT only lengthens it: the key lives as long as its longest field.
            commands.append(("PEXPIRE", key, ttl, "NX"))
            commands.append(("PEXPIRE", key, ttl, "GT"))
        await self._calls.run(commands)

    async def presence_refresh(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        # The gateway holding a connection is its only writer: refreshing is re-adding with a later expiry.
        await self.presence_add(entries, ttl_s)

    async def presence_remove(self, entries: Sequence[PresenceEntry]) -> None:
        if not entries:
            return
        fields: dict[str, list[str]] = {}
        for entry in entries:
            fields.setdefault(self._k("presence", entry.user_id), []).append(self._presence_field(entry))
        await self._calls.run([("HDEL", key, *names) for key, names in fields.items()])

    async def presence_get(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        if not user_ids:
            return {}
        keys = [self._k("presence", user_id) for user_id in user_ids]
        replies = await self._calls.run([("HGETALL", key) for key in keys])
        now = now_ms()
        out: dict[str, list[PresenceEntry]] = {}
        stale: list[Command] = []
        for user_id, key, reply in zip(user_ids, keys, replies, strict=True):
            live: list[PresenceEntry] = []
            dead: list[bytes] = []
            for field, expires in hash_fields(reply):
                if int(expires) <= now:
                    dead.append(field)
                    continue
                node_id, platform, conn_id = field.decode().split("|", 2)
                live.append(PresenceEntry(user_id, node_id, int(platform), conn_id))
            if live:
                out[user_id] = live
            if dead:
                stale.append(("HDEL", key, *dead))
        if stale:
            # Only after a node died without cleaning up; a failure here changes nothing the caller sees.
            try:
                await self._calls.run(stale)
            except BusUnavailable as exc:
                log.warning("bus.presence.prune_failed", error=repr(exc.__cause__))
        return out

    # -- node-addressed messages ------------------------------------------------------------------------

    async def publish(self, node_id: str, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        channel = self._k("node", node_id)
        await self._calls.run([("PUBLISH", channel, payload) for payload in payloads], retry=False)

    @asynccontextmanager
    async def subscribe(self, node_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        sub = Subscription(
            self._calls.pool, self._k("node", node_id), f"openim-{self._node_id}-sub", self._calls.command_timeout
        )
        try:
            await sub.connect()
        except (ConnectionBroken, RedisError, trio.TooSlowError) as exc:
            raise BusUnavailable(f"cannot subscribe for node {node_id}: {exc}") from exc
        self._subscriptions.add(sub)
        try:
            yield sub
        finally:
            sub.close()
            self._subscriptions.discard(sub)

    # -- partitioned queues -----------------------------------------------------------------------------

    async def queue_put(self, topic: str, partition: int, payloads: Sequence[bytes]) -> None:
        await self._queues.put(topic, partition, payloads)

    async def queue_take(
        self, topic: str, partition: int, consumer: str, *, max_items: int, timeout_s: float
    ) -> list[QueueItem]:
        return await self._queues.take(topic, partition, consumer, max_items=max_items, timeout_s=timeout_s)

    async def queue_ack(self, topic: str, partition: int, item_ids: Sequence[str]) -> None:
        await self._queues.ack(topic, partition, item_ids)

    # -- counters ---------------------------------------------------------------------------------------

    async def incr(self, key: str, amount: int = 1) -> int:
        (value,) = await self._calls.run([("INCRBY", self._k("counter", key), amount)], retry=False)
        return int(value)

    async def get_counter(self, key: str) -> int:
        (value,) = await self._calls.run([("GET", self._k("counter", key))])
        return int(value) if value is not None else 0

    # -- token status cache -----------------------------------------------------------------------------

    async def token_state_set(self, user_id: str, platform_id: int, states: Mapping[str, int], ttl_s: float) -> None:
        if not states:
            return
        key = self._k("token", f"{user_id}:{platform_id}")
        pairs: list[str | int] = []
        for token, state in states.items():
            pairs += (token, state)
        await self._calls.run([("HSET", key, *pairs), ("PEXPIRE", key, ttl_ms(ttl_s))])

    async def token_state_get(self, user_id: str, platform_id: int, token: str) -> int | None:
        (value,) = await self._calls.run([("HGET", self._k("token", f"{user_id}:{platform_id}"), token)])
        return int(value) if value is not None else None

    async def token_state_drop(self, user_id: str, platform_id: int) -> None:
        await self._calls.run([("DEL", self._k("token", f"{user_id}:{platform_id}"))])

    # -- node registry ----------------------------------------------------------------------------------

    async def register_node(self, info: NodeInfo, ttl_s: float) -> None:
        ttl = ttl_ms(ttl_s)
        now = now_ms()
        key = self._k("nodeinfo", info.node_id)
        await self._calls.run(
            [
                (
                    "HSET", key,
                    "modules", ",".join(info.modules),
                    "addresses", json.dumps(dict(info.addresses), separators=(",", ":")),
                    "started_at", info.started_at,
                    "heartbeat_at", now,
                    "connections", info.connections,
                ),
                ("PEXPIRE", key, ttl),
                ("ZADD", self._k("nodes", "index"), now + ttl, info.node_id),
            ]
        )  # fmt: skip

    async def unregister_node(self, node_id: str) -> None:
        await self._calls.run([("DEL", self._k("nodeinfo", node_id)), ("ZREM", self._k("nodes", "index"), node_id)])

    async def list_nodes(self) -> list[NodeInfo]:
        index = self._k("nodes", "index")
        _, ids = await self._calls.run([("ZREMRANGEBYSCORE", index, "-inf", now_ms()), ("ZRANGE", index, 0, -1)])
        if not ids:
            return []
        replies = await self._calls.run([("HGETALL", self._k("nodeinfo", text(i))) for i in ids])
        nodes: list[NodeInfo] = []
        for node_id, reply in zip(ids, replies, strict=True):
            fields = {text(k): text(v) for k, v in hash_fields(reply)}
            if not fields:
                continue  # the hash expired before its index entry was pruned
            nodes.append(
                NodeInfo(
                    node_id=text(node_id),
                    modules=tuple(m for m in fields.get("modules", "").split(",") if m),
                    addresses=json.loads(fields.get("addresses") or "{}"),
                    started_at=int(fields.get("started_at", 0)),
                    heartbeat_at=int(fields.get("heartbeat_at", 0)),
                    connections=int(fields.get("connections", 0)),
                )
            )
        return sorted(nodes, key=lambda n: n.node_id)

    # -- leases -----------------------------------------------------------------------------------------

    async def _script(self, name: str, key: str, *args: str | int) -> Any:
        sha, source = self._scripts[name]
        (reply,) = await self._calls.run([("EVALSHA", sha, 1, key, *args)], check=False)
        if isinstance(reply, RedisError) and reply.code == "NOSCRIPT":
            # First use on this server (or after a restart): send the source once; Redis caches it.
            (reply,) = await self._calls.run([("EVAL", source, 1, key, *args)], check=False)
        if isinstance(reply, RedisError):
            raise BusUnavailable(f"Redis refused the {name} script: {reply}") from reply
        return reply

    async def lease_acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        return bool(await self._script("acquire", self._k("lease", name), owner, ttl_ms(ttl_s)))

    async def lease_release(self, name: str, owner: str) -> None:
        await self._script("release", self._k("lease", name), owner)

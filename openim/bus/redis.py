"""The Redis Bus: processes on many hosts joined through one Redis (7.0 or later), driven natively from trio.

Every call is one pipeline on a pooled connection (openim.bus.resp), so a batch costs one round trip. Failures
of the connection or the server become :class:`BusUnavailable` with the cause attached; the broken connection
is dropped and the next call opens a fresh one. Calls that are safe to repeat are retried once on a fresh
connection first; INCR, XADD and PUBLISH are not, because the first attempt may have been applied.

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

Expiry times stored inside values (presence fields, the node index) use this host's wall clock, so hosts
need NTP; a skew of a second matters little against TTLs of a minute. Key TTLs use Redis' own clock.
``PEXPIRE ... NX`` / ``GT`` (Redis 7.0) keep a presence key alive as long as its longest-lived field.

Redis Cluster is not supported: a pipeline goes to one server and the Lua scripts touch one key each, so
moving to Cluster means routing pipelines by slot, which this adapter does not do.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from openim.bus.port import BusUnavailable, NodeInfo, PresenceEntry, QueueItem
from openim.bus.resp import Command, ConnectionBroken, RedisAddress, RedisError, RespConnection, RespPool
from openim.clock import now_ms
from openim.ops.logging import get_log

log = get_log("bus")

_GROUP: Final = "openim"
_FIELD: Final = b"p"

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


def _ttl_ms(ttl_s: float) -> int:
    return max(1, math.ceil(ttl_s * 1000))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> Iterable[tuple[Any, Any]]:
    """Field/value pairs of a hash reply: a flat list in RESP2, a map in RESP3."""
    if not reply:
        return ()
    if isinstance(reply, dict):
        return reply.items()
    pairs = iter(reply)
    return zip(pairs, pairs, strict=True)  # (reply[0], reply[1]), (reply[2], reply[3]), ...


def _entries(raw: Any) -> list[QueueItem]:
    """Stream entries ``[[id, [field, value, ...]], ...]`` as QueueItems (deleted entries arrive as nil)."""
    items: list[QueueItem] = []
    for entry in raw or ():
        if not entry or entry[1] is None:
            continue
        item_id, fields = entry
        payload = b""
        for name, value in _pairs(fields):
            if name == _FIELD:
                payload = value
                break
        items.append(QueueItem(_text(item_id), payload))
    return items


class _Subscription:
    """Iterates what is published to one channel, on a connection of its own.

    If that connection drops, the iterator reconnects and resubscribes by itself (with backoff) and goes on:
    what was published meanwhile is lost, which push tolerates (sync is the guarantee).
    """

    def __init__(self, bus: RedisBus, channel: str, name: str) -> None:
        self._bus = bus
        self._channel = channel
        self._name = name
        self._conn: RespConnection | None = None
        self._closed = False

    async def connect(self) -> None:
        """Connect and wait for the server's confirmation, so nothing published after this is missed."""
        conn = await self._bus._pool.new_connection(name=self._name)
        try:
            with trio.fail_after(self._bus._command_timeout):
                await conn.send([("SUBSCRIBE", self._channel)])
                while True:
                    reply = await conn.read_reply()
                    if isinstance(reply, RedisError):
                        raise reply
                    if isinstance(reply, list) and reply and reply[0] == b"subscribe":
                        break
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _reconnect(self) -> None:
        delay = 0.05
        while not self._closed:
            try:
                await self.connect()
            except (ConnectionBroken, RedisError, trio.TooSlowError) as exc:
                log.warning("bus.subscribe.retry", channel=self._channel, error=repr(exc), delay_s=delay)
                await trio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                log.info("bus.subscribe.resumed", channel=self._channel)
                return

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> bytes:
        while True:
            conn = self._conn
            if self._closed:
                raise StopAsyncIteration
            if conn is None:
                await self._reconnect()
                continue
            try:
                reply = await conn.read_reply()
            except ConnectionBroken as exc:
                if self._closed:
                    raise StopAsyncIteration from None
                log.warning("bus.subscribe.lost", channel=self._channel, error=repr(exc.__cause__ or exc))
                conn.close()
                self._conn = None
                continue
            # ["message", channel, payload]; confirmations and pongs are skipped.
            if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                payload: bytes = reply[2]
                return payload


class _Call:
    """One caller's commands in a shared pipeline, and what came back for it."""

    __slots__ = ("commands", "done", "error", "replies", "retry")

    def __init__(self, commands: Sequence[Command], retry: bool) -> None:
        self.commands = commands
        self.retry = retry
        self.replies: list[Any] = []
        self.error: BusUnavailable | None = None
        self.done = trio.Event()


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
        self._address = RedisAddress.from_url(url)
        self._prefix = key_prefix
        self._node_id = node_id
        self._redeliver_after = redeliver_after_s
        self._command_timeout = command_timeout_s
        self._pool = RespPool(
            self._address, max_size=pool_size, connect_timeout=command_timeout_s, name=f"openim-{node_id}-cmd"
        )
        # Blocking reads (XREADGROUP BLOCK) hold a connection for their whole wait: a pool of their own, so
        # they never starve ordinary commands.
        self._blocking_pool = RespPool(
            self._address,
            max_size=pool_size,
            connect_timeout=command_timeout_s,
            name=f"openim-{node_id}-take",
        )
        self._subscriptions: set[_Subscription] = set()
        self._queued: list[_Call] = []  # calls of this tick waiting for their shared round trip
        self._flush_pending = False  # a caller of this tick will send them
        self._groups: set[str] = set()  # stream keys whose consumer group we know exists
        # (stream, consumer) -> trio time of that consumer's next XAUTOCLAIM
        self._next_claim: dict[tuple[str, str], float] = {}
        self._scripts = {
            "acquire": (hashlib.sha1(_LEASE_ACQUIRE.encode()).hexdigest(), _LEASE_ACQUIRE),
            "release": (hashlib.sha1(_LEASE_RELEASE.encode()).hexdigest(), _LEASE_RELEASE),
        }

    @property
    def node_id(self) -> str:
        """The process this bus speaks for; its connections are named ``openim-<node_id>-<role>``."""
        return self._node_id

    # -- plumbing ---------------------------------------------------------------------------------------

    async def _run(
        self, commands: Sequence[Command], *, retry: bool = True, check: bool = True, blocking_s: float = 0.0
    ) -> list[Any]:
        """One pipeline, one round trip. ``check`` raises on any error reply, else errors stay in place.

        Non-blocking calls made by different tasks in the same scheduler tick share the round trip: the
        first caller of a tick lets the others queue theirs, then sends them all in one write on one
        connection and hands each caller its own replies (see :class:`_Call`). Under load this turns the
        gateway's one ``XADD`` per message, or the transfer and push partitions' acks, replies and
        publishes, into one pipeline per tick.
        """
        if blocking_s:
            replies = await self._roundtrip(self._blocking_pool, commands, retry, blocking_s)
        else:
            call = _Call(commands, retry)
            self._queued.append(call)
            if self._flush_pending:
                await call.done.wait()
            else:
                self._flush_pending = True
                # Let the other tasks that run in this tick queue their calls (not cancellable: the calls
                # queued behind ours rely on this task to send them).
                await trio.lowlevel.cancel_shielded_checkpoint()
                batch, self._queued = self._queued, []
                self._flush_pending = False
                with trio.CancelScope(shield=True):
                    await self._flush(batch)
            if call.error is not None:
                raise call.error
            replies = call.replies
        if check:
            for reply in replies:
                if isinstance(reply, RedisError):
                    raise BusUnavailable(f"Redis refused a command: {reply}") from reply
        return replies

    async def _roundtrip(
        self, pool: RespPool, commands: Sequence[Command], retry: bool, blocking_s: float
    ) -> list[Any]:
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                with trio.fail_after(self._command_timeout + blocking_s):
                    async with pool.connection() as conn:
                        return await conn.pipeline(commands)
            except (ConnectionBroken, trio.TooSlowError) as exc:
                if attempt + 1 < attempts:
                    continue
                raise BusUnavailable(f"Redis at {self._address.host}:{self._address.port}: {exc}") from exc
        raise AssertionError("unreachable")

    async def _flush(self, batch: list[_Call]) -> None:
        """Send the calls of one tick in one pipeline; wake every caller, whatever happens.

        If the connection breaks, the calls that may be repeated are retried together on a fresh one, the
        others (XADD, PUBLISH, INCR: the first attempt may have been applied) fail with BusUnavailable.
        """
        try:
            if len(batch) == 1:
                call = batch[0]
                try:
                    call.replies = await self._roundtrip(self._pool, call.commands, call.retry, 0.0)
                except BusUnavailable as exc:
                    call.error = exc
                return
            commands = [c for call in batch for c in call.commands]
            try:
                replies = await self._roundtrip(self._pool, commands, False, 0.0)
            except BusUnavailable as exc:
                again = [call for call in batch if call.retry]
                for call in batch:
                    if not call.retry:
                        call.error = exc
                if again:
                    try:
                        replies = await self._roundtrip(
                            self._pool, [c for call in again for c in call.commands], False, 0.0
                        )
                    except BusUnavailable as exc2:
                        for call in again:
                            call.error = exc2
                        return
                    batch = again
                else:
                    return
            start = 0
            for call in batch:
                end = start + len(call.commands)
                call.replies = replies[start:end]
                start = end
        except Exception as exc:  # never leave a caller waiting
            for call in batch:
                if call.error is None and not call.replies:
                    call.error = BusUnavailable(f"Redis call failed: {exc!r}")
                    call.error.__cause__ = exc
        finally:
            for call in batch:
                call.done.set()

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
        self._pool.close()
        self._blocking_pool.close()

    async def ping(self) -> None:
        await self._run([("PING",)])

    # -- presence ---------------------------------------------------------------------------------------

    @staticmethod
    def _presence_field(entry: PresenceEntry) -> str:
        return f"{entry.node_id}|{entry.platform_id}|{entry.conn_id}"

    async def presence_add(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        if not entries:
            return
        ttl = _ttl_ms(ttl_s)
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
        await self._run(commands)

    async def presence_refresh(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        # The gateway holding a connection is its only writer: refreshing is re-adding with a later expiry.
        await self.presence_add(entries, ttl_s)

    async def presence_remove(self, entries: Sequence[PresenceEntry]) -> None:
        if not entries:
            return
        fields: dict[str, list[str]] = {}
        for entry in entries:
            fields.setdefault(self._k("presence", entry.user_id), []).append(self._presence_field(entry))
        await self._run([("HDEL", key, *names) for key, names in fields.items()])

    async def presence_get(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        if not user_ids:
            return {}
        keys = [self._k("presence", user_id) for user_id in user_ids]
        replies = await self._run([("HGETALL", key) for key in keys])
        now = now_ms()
        out: dict[str, list[PresenceEntry]] = {}
        stale: list[Command] = []
        for user_id, key, reply in zip(user_ids, keys, replies, strict=True):
            live: list[PresenceEntry] = []
            dead: list[bytes] = []
            for field, expires in _pairs(reply):
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
                await self._run(stale)
            except BusUnavailable as exc:
                log.warning("bus.presence.prune_failed", error=repr(exc.__cause__))
        return out

    # -- node-addressed messages ------------------------------------------------------------------------

    async def publish(self, node_id: str, payloads: Sequence[bytes]) -> None:
        if not payloads:
            return
        channel = self._k("node", node_id)
        await self._run([("PUBLISH", channel, payload) for payload in payloads], retry=False)

    @asynccontextmanager
    async def subscribe(self, node_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        sub = _Subscription(self, self._k("node", node_id), f"openim-{self._node_id}-sub")
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
        if not payloads:
            return
        key = self._k("queue", f"{topic}:{partition}")
        await self._run([("XADD", key, "*", _FIELD, payload) for payload in payloads], retry=False)

    async def _ensure_group(self, key: str) -> None:
        if key in self._groups:
            return
        # From id 0: whatever was queued before the first consumer came is still delivered.
        (reply,) = await self._run([("XGROUP", "CREATE", key, _GROUP, "0", "MKSTREAM")], check=False)
        if isinstance(reply, RedisError) and reply.code != "BUSYGROUP":
            raise BusUnavailable(f"cannot create consumer group on {key}: {reply}") from reply
        self._groups.add(key)

    async def queue_take(
        self, topic: str, partition: int, consumer: str, *, max_items: int, timeout_s: float
    ) -> list[QueueItem]:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        key = self._k("queue", f"{topic}:{partition}")
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
                        (reply,) = await self._run([fast], check=False)
                        if isinstance(reply, RedisError):
                            raise reply
                        items = self._read_entries(reply)
                        if items:
                            return items
                        continue
                    # Block no longer than the next claim check, so a long wait still picks up orphans.
                    wait_s = min(deadline, self._next_claim[(key, consumer)]) - now
                    command: list[Any] = ["XREADGROUP", "GROUP", _GROUP, consumer, "COUNT", max_items]
                    if wait_s > 0:
                        command += ["BLOCK", _ttl_ms(wait_s)]
                    command += ["STREAMS", key, ">"]
                    (reply,) = await self._run([command], check=False, blocking_s=max(wait_s, 0.0))
                    if isinstance(reply, RedisError):
                        raise reply
                    items = self._read_entries(reply)
                    if items or trio.current_time() >= deadline:
                        return items
            except RedisError as exc:
                if exc.code != "NOGROUP":
                    raise BusUnavailable(f"Redis refused XREADGROUP on {key}: {exc}") from exc
                self._groups.discard(key)
        raise BusUnavailable(f"consumer group on {key} keeps disappearing")

    async def _claim(self, key: str, consumer: str, max_items: int) -> list[QueueItem]:
        idle_ms = _ttl_ms(self._redeliver_after)
        (reply,) = await self._run(
            [("XAUTOCLAIM", key, _GROUP, consumer, idle_ms, "0-0", "COUNT", max_items)], check=False
        )
        if isinstance(reply, RedisError):
            raise reply
        items = _entries(reply[1])
        if reply[0] not in (b"0-0", "0-0"):
            # More idle entries remain: check again on the next take instead of waiting a period.
            self._next_claim[(key, consumer)] = 0.0
        return items

    @staticmethod
    def _read_entries(reply: Any) -> list[QueueItem]:
        """XREADGROUP's reply (nil on timeout; ``[[key, entries]]`` in RESP2, ``{key: entries}`` in RESP3)."""
        if not reply:
            return []
        streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
        items: list[QueueItem] = []
        for entries in streams:
            items.extend(_entries(entries))
        return items

    async def queue_ack(self, topic: str, partition: int, item_ids: Sequence[str]) -> None:
        if not item_ids:
            return
        key = self._k("queue", f"{topic}:{partition}")
        # One group per stream, so an acked entry is of no further use: delete it and the stream stays small.
        replies = await self._run([("XACK", key, _GROUP, *item_ids), ("XDEL", key, *item_ids)], check=False)
        if isinstance(replies[0], RedisError) and replies[0].code != "NOGROUP":
            raise BusUnavailable(f"Redis refused XACK on {key}: {replies[0]}") from replies[0]

    # -- counters ---------------------------------------------------------------------------------------

    async def incr(self, key: str, amount: int = 1) -> int:
        (value,) = await self._run([("INCRBY", self._k("counter", key), amount)], retry=False)
        return int(value)

    async def get_counter(self, key: str) -> int:
        (value,) = await self._run([("GET", self._k("counter", key))])
        return int(value) if value is not None else 0

    # -- token status cache -----------------------------------------------------------------------------

    async def token_state_set(self, user_id: str, platform_id: int, states: Mapping[str, int], ttl_s: float) -> None:
        if not states:
            return
        key = self._k("token", f"{user_id}:{platform_id}")
        pairs: list[str | int] = []
        for token, state in states.items():
            pairs += (token, state)
        await self._run([("HSET", key, *pairs), ("PEXPIRE", key, _ttl_ms(ttl_s))])

    async def token_state_get(self, user_id: str, platform_id: int, token: str) -> int | None:
        (value,) = await self._run([("HGET", self._k("token", f"{user_id}:{platform_id}"), token)])
        return int(value) if value is not None else None

    async def token_state_drop(self, user_id: str, platform_id: int) -> None:
        await self._run([("DEL", self._k("token", f"{user_id}:{platform_id}"))])

    # -- node registry ----------------------------------------------------------------------------------

    async def register_node(self, info: NodeInfo, ttl_s: float) -> None:
        ttl = _ttl_ms(ttl_s)
        now = now_ms()
        key = self._k("nodeinfo", info.node_id)
        await self._run(
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
        await self._run([("DEL", self._k("nodeinfo", node_id)), ("ZREM", self._k("nodes", "index"), node_id)])

    async def list_nodes(self) -> list[NodeInfo]:
        index = self._k("nodes", "index")
        _, ids = await self._run([("ZREMRANGEBYSCORE", index, "-inf", now_ms()), ("ZRANGE", index, 0, -1)])
        if not ids:
            return []
        replies = await self._run([("HGETALL", self._k("nodeinfo", _text(i))) for i in ids])
        nodes: list[NodeInfo] = []
        for node_id, reply in zip(ids, replies, strict=True):
            fields = {_text(k): _text(v) for k, v in _pairs(reply)}
            if not fields:
                continue  # the hash expired before its index entry was pruned
            nodes.append(
                NodeInfo(
                    node_id=_text(node_id),
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
        (reply,) = await self._run([("EVALSHA", sha, 1, key, *args)], check=False)
        if isinstance(reply, RedisError) and reply.code == "NOSCRIPT":
            # First use on this server (or after a restart): send the source once; Redis caches it.
            (reply,) = await self._run([("EVAL", source, 1, key, *args)], check=False)
        if isinstance(reply, RedisError):
            raise BusUnavailable(f"Redis refused the {name} script: {reply}") from reply
        return reply

    async def lease_acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        return bool(await self._script("acquire", self._k("lease", name), owner, _ttl_ms(ttl_s)))

    async def lease_release(self, name: str, owner: str) -> None:
        await self._script("release", self._k("lease", name), owner)

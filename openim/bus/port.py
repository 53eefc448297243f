"""The Bus port: what processes (or modules in one process) tell each other.

Two adapters implement it: openim.bus.memory (one process, the embedded default) and openim.bus.redis
(many processes and hosts). The bus holds nothing that must survive: durable truth (seqs, messages, token
status) lives in the Store. Everything here is either soft state with a TTL (presence, node registry,
leases) or in transit (queues, node-addressed messages).

Payloads are bytes: the sender encodes, the receiver decodes; the bus never looks inside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol


class BusUnavailable(Exception):
    """The bus backend could not be reached; the cause is in ``__cause__``."""


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One live connection of a user: which node holds it, on which platform."""

    user_id: str
    node_id: str
    platform_id: int
    conn_id: str


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A process's registration: who it is, what it runs, where it listens."""

    node_id: str
    modules: tuple[str, ...]
    addresses: Mapping[str, str] = field(default_factory=dict)  # e.g. {"api": "10.0.0.5:10002"}
    started_at: int = 0  # ms
    heartbeat_at: int = 0  # ms, set by the bus on register/heartbeat
    connections: int = 0  # gateway connections held


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A queued payload and the id needed to acknowledge it."""

    item_id: str
    payload: bytes


class Bus(Protocol):
    # -- life cycle -------------------------------------------------------------------------------
    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def ping(self) -> None:
        """Raise BusUnavailable unless the backend answers now (used by /readyz)."""

    # -- presence: user -> live connections ---------------------------------------------------------
    async def presence_add(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        """Record connections; they expire after ``ttl_s`` unless refreshed (a dead node leaves by TTL)."""

    async def presence_remove(self, entries: Sequence[PresenceEntry]) -> None: ...

    async def presence_refresh(self, entries: Sequence[PresenceEntry], ttl_s: float) -> None:
        """Extend the TTL of live connections (called periodically by the gateway holding them)."""

    async def presence_get(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        """Live connections of each user (users without any are absent). One round trip for the batch."""

    # -- node-addressed messages --------------------------------------------------------------------
    async def publish(self, node_id: str, payloads: Sequence[bytes]) -> None:
        """Deliver to the process registered as ``node_id``, best effort, in order. One call per batch."""

    def subscribe(self, node_id: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Receive what is published to ``node_id`` while the context is open."""

    # -- partitioned queues (at-least-once; unacked items are redelivered to the next consumer) -----
    async def queue_put(self, topic: str, partition: int, payloads: Sequence[bytes]) -> None: ...

    async def queue_take(
        self, topic: str, partition: int, consumer: str, *, max_items: int, timeout_s: float
    ) -> list[QueueItem]:
        """Up to ``max_items`` items, waiting at most ``timeout_s`` for the first one ([] on timeout).
        Items taken but not acked by a consumer that is gone are redelivered (after ``claim`` in redis)."""

    async def queue_ack(self, topic: str, partition: int, item_ids: Sequence[str]) -> None: ...

    # -- counters -----------------------------------------------------------------------------------
    async def incr(self, key: str, amount: int = 1) -> int: ...

    async def get_counter(self, key: str) -> int: ...

    # -- token status cache (the Store holds the truth) ---------------------------------------------
    async def token_state_set(self, user_id: str, platform_id: int, states: Mapping[str, int], ttl_s: float) -> None:
        """Set token -> state entries of (user, platform)."""

    async def token_state_get(self, user_id: str, platform_id: int, token: str) -> int | None:
        """The cached state, or None when not cached (the caller falls back to the Store)."""

    async def token_state_drop(self, user_id: str, platform_id: int) -> None: ...

    # -- node registry ------------------------------------------------------------------------------
    async def register_node(self, info: NodeInfo, ttl_s: float) -> None:
        """Register or heartbeat (same call); the entry expires after ``ttl_s`` without a heartbeat."""

    async def unregister_node(self, node_id: str) -> None: ...

    async def list_nodes(self) -> list[NodeInfo]:
        """Live (unexpired) nodes."""

    # -- leases (one owner per transfer partition) --------------------------------------------------
    async def lease_acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the lease if free or already ours (then extend it); False if another owner holds it."""

    async def lease_release(self, name: str, owner: str) -> None: ...

"""The HookQueue port: the durable queue of after-callbacks (openim.webhooks.dispatcher), and its records.

Two adapters implement it: the Store (a table, ``webhook_queue``; openim.storage.hooks) in the embedded mode,
and the Redis bus (a stream read through a consumer group; openim.bus.redis_hooks) in a cluster;
openim.assembly picks one. Both give at-least-once delivery: an entry stays queued until the dispatcher
reports it delivered or dead, and an entry taken by a process that died is taken again once its lease
(``lease_ms``) has run out.

Every write of one dispatcher flush is one :class:`HookWrites` (new entries, deliveries, retries, dead
letters), written in one transaction (Store) or one pipeline (Redis), so the per-callback cost stays low.

Lives beside config.py (like webhook_catalog.py) because both the adapters (storage, bus) and the
dispatcher import it, and neither may import the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol


@dataclass(frozen=True, slots=True)
class HookEntry:
    """One after-callback: what is posted (``body``, the JSON text made when it was accepted, and its
    ``operation_id``) and its delivery state."""

    entry_id: str  # the queue's key: chosen by the dispatcher for a new entry (Store), or the stream id (Redis)
    hook: str  # the config name (afterSendSingleMsg, ...): the URL path is its callbackCommand
    operation_id: str
    body: str
    attempts: int = 0  # attempts made so far
    last_error: str = ""  # why the last attempt failed ("" before the first)
    created_at: int = 0  # ms, when after() accepted it

    def failed(self, error: str) -> HookEntry:
        """This entry after one more failed attempt."""
        return replace(self, attempts=self.attempts + 1, last_error=error)


@dataclass(frozen=True, slots=True)
class HookRetry:
    """An entry (attempts and error already counted) to be taken again at ``due_at`` (ms)."""

    entry: HookEntry
    due_at: int


@dataclass(slots=True)
class HookWrites:
    """What one flush of the dispatcher writes, in one transaction or pipeline."""

    new: list[HookEntry] = field(default_factory=list)
    delivered: list[HookEntry] = field(default_factory=list)
    retries: list[HookRetry] = field(default_factory=list)
    dead: list[HookEntry] = field(default_factory=list)  # attempts exhausted: kept with their last error

    def __bool__(self) -> bool:
        return bool(self.new or self.delivered or self.retries or self.dead)


@dataclass(frozen=True, slots=True)
class HookCounts:
    queued: int  # waiting, being sent, or waiting for a retry
    dead: int  # dead letters


class HookQueue(Protocol):
    """The durable queue of after-callbacks. ``consumer`` names the taking process (its node id)."""

    async def hook_write(self, writes: HookWrites, *, now_ms: int) -> None:
        """Queue the new entries (due at once), delete the delivered ones, requeue the retries (released,
        due at their time) and move the dead ones to the dead letters, all in one step."""

    async def hook_take(self, consumer: str, *, max_items: int, now_ms: int, lease_ms: int) -> list[HookEntry]:
        """Up to ``max_items`` entries that are due, oldest first, without waiting ([] when none); each is
        leased to ``consumer`` for ``lease_ms``: no one else takes it meanwhile, anyone may after. Every
        process passes the same ``lease_ms`` (Redis judges a lease by the taker's, the Store by the holder's)."""

    async def hook_release(self, consumer: str) -> None:
        """Entries ``consumer`` had taken become takeable now (called at start: a restarted process gets
        back what its previous incarnation was sending when it died, without waiting for the lease)."""

    async def hook_counts(self) -> HookCounts: ...

    async def hook_dead_letters(self, *, limit: int) -> list[HookEntry]:
        """Dead letters, oldest first, with their attempts and last error."""

    async def hook_redrive(self, entry_ids: Sequence[str] | None, *, now_ms: int) -> int:
        """Queue dead letters again (all of them, or the listed ones), with their attempts reset; the
        number requeued."""

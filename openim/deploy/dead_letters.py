"""`openim webhooks dead-letters` and `openim webhooks redrive`: the after-callbacks whose attempts ran out,
read and queued again from the command line, on the queue the config names (the store's table with the
in-process bus, the Redis stream in a cluster), while the server runs or not.

A re-driven callback is taken by a running server within its poll period (a few seconds), or at its next
start; its attempts start from zero again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import trio

from openim.clock import now_ms
from openim.config import Config
from openim.hook_queue import HookEntry, HookQueue

T = TypeVar("T")

CLI_NODE_ID = "webhooks-cli"  # names the CLI's Redis connections (CLIENT LIST)


async def _on_queue(config: Config, work: Callable[[HookQueue], Awaitable[T]]) -> T:
    if config.bus.backend == "redis":
        from openim.bus.redis import RedisBus

        bus = RedisBus(config.bus.redis_url, node_id=CLI_NODE_ID, key_prefix=config.bus.key_prefix)
        await bus.open()
        try:
            return await work(bus.hook_queue())
        finally:
            await bus.aclose()
    from openim.storage import make_store

    store = make_store(config)
    await store.open()
    try:
        return await work(store)
    finally:
        await store.aclose()


def dead_letters(config: Config, limit: int) -> list[HookEntry]:
    """The oldest ``limit`` dead letters."""

    async def read(queue: HookQueue) -> list[HookEntry]:
        return await queue.hook_dead_letters(limit=limit)

    return trio.run(_on_queue, config, read)


def redrive(config: Config, entry_ids: Sequence[str] | None) -> int:
    """Queue the listed dead letters (all when None) again; how many were requeued."""

    async def requeue(queue: HookQueue) -> int:
        return await queue.hook_redrive(entry_ids, now_ms=now_ms())

    return trio.run(_on_queue, config, requeue)

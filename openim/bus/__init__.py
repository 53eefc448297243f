"""The bus: how modules and processes reach each other (presence, node-addressed push, queues, leases).

The domain codes against :class:`openim.bus.port.Bus`; :func:`make_bus` picks the adapter the config names:
``memory`` (one process, the embedded default) or ``redis`` (a cluster). The Redis adapter is imported only
when asked for, so the embedded mode never loads a Redis client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openim.bus.port import Bus, BusUnavailable, NodeInfo, PresenceEntry, QueueItem

if TYPE_CHECKING:
    from openim.config import Config

__all__ = ["Bus", "BusUnavailable", "NodeInfo", "PresenceEntry", "QueueItem", "make_bus"]


def make_bus(config: Config, node_id: str) -> Bus:
    """The adapter for ``config.bus.backend``, not yet opened (call ``await bus.open()``).

    ``node_id`` names this process's Redis connections (``CLIENT LIST`` shows ``openim-<node_id>-...``), so
    an operator can tell whose connections they are looking at.
    """
    if config.bus.backend == "redis":
        from openim.bus.redis import RedisBus

        return RedisBus(
            config.bus.redis_url, node_id=node_id, key_prefix=config.bus.key_prefix,
            redeliver_after_s=config.cluster.redeliver_after,
        )
    from openim.bus.memory import MemoryBus

    return MemoryBus()

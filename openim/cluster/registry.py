"""The node registry heartbeat: keeps a process listed (with its modules and addresses) while it runs.

Every process runs one, whatever its modules; ``openim cluster status`` and the push stage's presence
lookups read the registry it writes. An entry lives ``cluster.node_ttl`` seconds, renewed three times
per TTL, and is removed at drain (a process killed hard drops out when its TTL passes).
"""

from __future__ import annotations

import trio

from openim.bus.port import BusUnavailable, NodeInfo
from openim.clock import now_ms
from openim.node import Node
from openim.ops.logging import get_log

log = get_log("registry")


class RegistryHeartbeat:
    """Keeps this process listed in the node registry (``openim cluster status`` reads it)."""

    name = "registry"

    def __init__(self, node: Node) -> None:
        self._node = node
        self._ttl = float(node.config.cluster.node_ttl)
        self._stopped = False

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        started = now_ms()
        first = True
        while not self._stopped:
            info = NodeInfo(
                node_id=self._node.node_id,
                modules=self._node.modules,
                addresses=dict(self._node.addresses),
                started_at=started,
                connections=self._node.connections,
            )
            try:
                await self._node.bus.register_node(info, self._ttl)
            except BusUnavailable as exc:
                log.warning("registry.unavailable", error=str(exc.__cause__ or exc))
            if first:
                task_status.started()
                first = False
            await trio.sleep(self._ttl / 3)
        # Drained (unregistered): stay until the runtime cancels us; a module that returns is a crash.
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._stopped = True
        try:
            with trio.move_on_after(1):
                await self._node.bus.unregister_node(self._node.node_id)
        except Exception:  # leaving the registry early is a courtesy; the TTL removes us anyway
            pass

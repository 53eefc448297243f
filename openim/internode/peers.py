"""The other live processes of the cluster, for what goes to every one of them: a kick, an online-status
change (to every other gateway), cache invalidations (to every other process).

The list comes from the Bus's node registry and is reused for ``PEERS_TTL_S``: one registry read per couple
of seconds, not one per message. Delivery is best effort like every node-addressed message: a peer the Bus
cannot reach now is logged (on the caller's logger) and skipped, and a failed registry read keeps the last
list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import trio

from openim.bus.port import Bus, BusUnavailable
from openim.ops.logging import Log

__all__ = ["PEERS_TTL_S", "Peers", "module_nodes"]

PEERS_TTL_S: Final = 2.0  # how long the list of peers is reused


async def module_nodes(bus: Bus, module: str | None = None) -> list[str]:
    """The processes the registry lists now that run ``module`` (every process for None); raises BusUnavailable."""
    return [n.node_id for n in await bus.list_nodes() if module is None or module in n.modules]


class Peers:
    """The node ids of the other live processes (those running ``module``, or all) and a publish to each."""

    def __init__(self, bus: Bus, node_id: str, log: Log, *, module: str | None = None) -> None:
        self._bus = bus
        self._node_id = node_id
        self._log = log
        self._module = module
        self._ids: list[str] = []
        self._expire = -1.0

    async def node_ids(self) -> list[str]:
        now = trio.current_time()
        if now >= self._expire:
            try:
                nodes = await module_nodes(self._bus, self._module)
            except BusUnavailable as exc:
                self._log.warning("peers.lookup_failed", error=str(exc.__cause__ or exc))
                return self._ids
            self._ids = [node_id for node_id in nodes if node_id != self._node_id]
            self._expire = now + PEERS_TTL_S
        return self._ids

    async def publish(self, payloads: Sequence[bytes]) -> None:
        """The payloads to every peer, in one publish each."""
        if not payloads:
            return
        for node_id in await self.node_ids():
            try:
                await self._bus.publish(node_id, payloads)
            except BusUnavailable as exc:
                self._log.warning("peers.publish_failed", node=node_id, error=str(exc.__cause__ or exc))

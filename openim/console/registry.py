"""The node registry as the console shows it (``GET /admin/api/nodes`` and the dashboard): every process
of the deployment with its modules, addresses, connections and a health verdict from its heartbeat."""

from __future__ import annotations

from typing import Any

from openim.clock import now_ms
from openim.node import Node

# The registry heartbeat runs every NODE_TTL_S / 3 (5 s); a node silent for longer than two beats is late,
# and one silent for NODE_TTL_S has left the registry.
HEALTHY_HEARTBEAT_AGE_MS = 11_000


async def list_nodes(node: Node) -> list[dict[str, Any]]:
    """The registry's nodes, this process's own entry marked ``self`` (added, as "unregistered", when the
    registry does not hold it)."""
    now = now_ms()
    found: list[dict[str, Any]] = []
    for info in await node.bus.list_nodes():
        age = max(0, now - info.heartbeat_at) if info.heartbeat_at else None
        own = info.node_id == node.node_id
        found.append(
            {
                "nodeID": info.node_id,
                "modules": list(info.modules),
                "addresses": dict(info.addresses),
                "startedAt": info.started_at,
                "heartbeatAt": info.heartbeat_at,
                "heartbeatAgeMs": age,
                # This process's own count is live; the others' come with their last heartbeat.
                "connections": node.connections if own else info.connections,
                "health": "up" if age is not None and age <= HEALTHY_HEARTBEAT_AGE_MS else "late",
                "self": own,
            }
        )
    if not any(n["self"] for n in found):
        found.append(
            {
                "nodeID": node.node_id,
                "modules": list(node.modules),
                "addresses": dict(node.addresses),
                "startedAt": 0,
                "heartbeatAt": 0,
                "heartbeatAgeMs": None,
                "connections": node.connections,
                "health": "unregistered",
                "self": True,
            }
        )
    return found

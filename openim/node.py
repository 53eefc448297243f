"""What one process holds: its config, identity, ports (Store, Bus), metrics and domain services.

Modules receive the Node and take what they need; nothing reaches for globals.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from openim.bus.port import Bus
from openim.config import Config
from openim.ops.metrics import Metrics
from openim.security.guards import Guards
from openim.storage.port import Store


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Node:
    config: Config
    node_id: str
    modules: tuple[str, ...]
    store: Store
    bus: Bus
    metrics: Metrics
    addresses: dict[str, str] = field(default_factory=dict)
    connections: int = 0  # live gateway connections in this process (kept by the gateway)
    # What the config review warned of at start (openim.config.review_config), shown in /admin.
    config_warnings: tuple[str, ...] = ()
    guards: Guards = field(init=False)  # the abuse limits (rates, throttles) of this process

    def __post_init__(self) -> None:
        self.guards = Guards(self.config, self.metrics)
